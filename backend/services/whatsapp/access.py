"""Who may send WhatsApp messages, and to whom: the row rules of the entities a message touches.

Sending writes a MarketingLog per message, so it takes MarketingLog's `create` rule (the office's default:
managers); a recipient named by record (`lead_id`, `contact_id`, or an audience query) must be a record the
sender may read — one they may not is as unknown as a missing one. Batches are MarketingLog data: reading
one takes MarketingLog's `read` rule, cancelling or resuming its `update` rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from backend.errors import Forbidden
from backend.services.auth import AuthUser
from backend.services.entities import Actor, check_created, readable, rule
from backend.services.registry import get_spec

RECORD_KEYS = (("lead_id", "MarketingLead"), ("contact_id", "Contact"))


def may_send(user: AuthUser) -> Actor:
    actor = Actor.of(user)
    if rule(get_spec("MarketingLog"), "create", actor) is False:
        raise Forbidden("Your role may not send WhatsApp messages (MarketingLog's rule for create)")
    return actor


def may_manage_batches(user: AuthUser, op: str) -> None:
    if rule(get_spec("MarketingLog"), op, Actor.of(user)) is False:
        raise Forbidden(f"Your role may not {'see' if op == 'read' else 'change'} WhatsApp batches")


def hidden_records(session: Session, actor: Actor, recipients: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """The recipients' record ids the sender may not read."""
    hidden: set[str] = set()
    for key, entity in RECORD_KEYS:
        ids = [r[key] for r in recipients if r.get(key)]
        hidden |= set(ids) - readable(session, get_spec(entity), actor, ids)
    return frozenset(hidden)


def check_logs(session: Session, actor: Actor, log_ids: list[str]) -> None:
    """The MarketingLog rows just written must satisfy its `create` rule for the sender (else 403, rolled back)."""
    check_created(session, get_spec("MarketingLog"), actor, log_ids)
