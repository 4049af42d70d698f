"""Who may run matching: the office's row rules, read off the pairing's entities.

A run reads the seekers and the offers and writes the results, so the signed-in user must be allowed to
read both sides and to create and change the result entity (for the office's defaults: agents and
managers on the brokerage pages, not a project manager). The alerts it sends go to whoever the pairing
names, through settings only the server's administrator sets (MATCH_ALERT_*), not through this call.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.errors import Forbidden
from backend.services.entities import Actor, rule
from backend.services.matching.pairings import Pairing, get_pairing, pairings


def check_may_run(actor: Actor, chosen: Iterable[Pairing]) -> None:
    for pairing in chosen:
        needs = [(pairing.seek.spec, "read"), (pairing.offer.spec, "read"),
                 (pairing.result.spec, "create"), (pairing.result.spec, "update")]  # fmt: skip
        for spec, op in needs:
            if rule(spec, op, actor) is False:
                raise Forbidden(f"Your role may not run {pairing.name!r} matching: it needs to {op} {spec.name}")


def check_may_generate(actor: Actor, pairing: str) -> None:
    check_may_run(actor, [get_pairing(pairing)])


def check_may_alert(actor: Actor) -> None:
    check_may_run(actor, [p for p in pairings() if p.alerts])
