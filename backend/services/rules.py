"""Row rules in Base44's own format (an entity schema's `rls` block), checked on load and compiled to SQL.

A block has a rule per operation — `create`, `read`, `update`, `delete`, and `write` as the shorthand for
the three writes (the specific key wins). A rule is open (`true`, missing, `null`, `""`, `{}`), closed
(`false`), or a condition, whose keys are all ANDed:
- `user_condition: {attr: value}` tests the signed-in user: `email`, `id`, `role`, `full_name`,
  `app_role`, or a custom field as `data.<name>` (app_role too is `data.app_role`, as in Base44). A user
  with no app_role is an `agent`, as in the office's app.
- `$or` / `$and` / `$nor`: lists of conditions.
- any other key is a record field (`data.` prefix optional: `data.status` is `status`), compared like
  `q`: a value (`{"created_by": "{{user.email}}"}`) or an operator object (`{"status": {"$in": [...]}}`).
  `{{user.email}}`, `{{user.id}}`, `{{user.role}}`, `{{user.data.x}}` are filled in from the user.
The server's `admin` role passes every rule. For one user a rule folds into a plain `q` query (the user
parts decided in Python, the templates filled in) that the one query compiler turns into SQL, so a rule
is a WHERE clause and a page is still one query.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select

from backend.errors import DomainError
from backend.services.query.filters import FIELD_OPERATORS, QueryCompiler
from backend.services.query.targets import Cond, FieldTarget

OPERATIONS = ("create", "read", "update", "delete")
RULE_KEYS = (*OPERATIONS, "write")
LOGICAL = ("$or", "$and", "$nor")
TEMPLATE = re.compile(r"\{\{user\.([A-Za-z_][A-Za-z0-9_.]*)\}\}")
USER_ATTRIBUTES = ("email", "id", "role", "full_name", "app_role")
MAX_DEPTH = 6


class RuleError(ValueError):
    """A rule that cannot be used; the message names the entity, the operation and the problem."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as rules see it."""

    id: str
    email: str
    role: str  # the server's role: admin | user
    app_role: str | None = None
    full_name: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # custom user fields

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def attribute(self, name: str) -> Any:
        """`email`, `app_role`, `data.app_role`, `data.team`, ... (unknown → None)."""
        key = name.removeprefix("data.")
        if key == "app_role":
            return self.app_role or "agent"  # the office's app: no app_role means agent
        if key in USER_ATTRIBUTES:
            return getattr(self, key)
        return self.data.get(key)


def rule_for(rls: dict[str, Any] | None, op: str) -> Any:
    """The rule of `op`: its own key, else `write` for the three writes; missing is open (None)."""
    if not rls:
        return None
    if op in rls:
        return rls[op]
    return rls.get("write") if op != "read" else None


def is_open(rule: Any) -> bool:
    return rule is None or rule is True or rule == "" or rule == {}


# --- checking a block (at load, on the admin API) ----------------------------------------------------


CompileField = Callable[[str, Any], object]  # compiles `{field: condition}` as a `q` query, or raises
# Who a rule's templates stand for while it is checked: any user's built-in attributes have these types.
SAMPLE_VIEWER = Viewer(id="0" * 24, email="user@example.com", role="user", app_role="agent", full_name="User")


def check_block(entity: str, rls: Any, known: Callable[[str], bool], compile_field: CompileField | None = None) -> None:
    """Refuses a malformed block, naming entity and operation: an unknown operation or operator, a bad
    shape, a field the entity does not have (`known(name)` says which names exist) — never a silent allow.
    With `compile_field`, each condition on a record field is also compiled as `q` would be (a bad regex,
    `$exists: "x"`, a date compared with an email...), so a rule that would refuse every request is
    refused when it is stored instead; a condition filled from a custom user field is left to run time."""
    if rls is None:
        return
    if not isinstance(rls, dict):
        raise RuleError(f"{entity}: rls must be an object of rules per operation ({', '.join(RULE_KEYS)})")
    for op, rule in rls.items():
        if op not in RULE_KEYS:
            raise RuleError(f"{entity}: rls.{str(op)[:40]} is not an operation ({', '.join(RULE_KEYS)})")
        _check_rule(f"{entity}: rls.{op}", rule, known, 1, compile_field)


def _custom_template(value: Any) -> bool:
    """Whether a condition is filled in from a custom user field (its type is the user's to choose)."""
    if isinstance(value, str):
        return any(m.removeprefix("data.") not in USER_ATTRIBUTES for m in TEMPLATE.findall(value))
    if isinstance(value, list):
        return any(_custom_template(v) for v in value)
    if isinstance(value, dict):
        return any(_custom_template(v) for v in value.values())
    return False


def _check_compiles(where: str, key: str, value: Any, compile_field: CompileField) -> None:
    if _custom_template(value):
        return
    try:
        compile_field(key.removeprefix("data."), fill(value, SAMPLE_VIEWER))
    except DomainError as exc:
        raise RuleError(f"{where}: {key[:60]}: {exc.message}") from None


def _check_rule(
    where: str, rule: Any, known: Callable[[str], bool], depth: int, compile_field: CompileField | None = None
) -> None:
    if rule is None or isinstance(rule, bool) or rule == "":
        return
    if not isinstance(rule, dict):
        raise RuleError(f"{where}: a rule is true, false or a condition object, not {type(rule).__name__}")
    if depth > MAX_DEPTH:
        raise RuleError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    for key, value in rule.items():
        if key == "user_condition":
            _check_user_condition(where, value)
        elif key in LOGICAL:
            if not isinstance(value, list) or not value:
                raise RuleError(f"{where}: {key} takes a non-empty list of conditions")
            for item in value:
                if not isinstance(item, dict):
                    raise RuleError(f"{where}: {key} takes a list of condition objects")
                _check_rule(where, item, known, depth + 1, compile_field)
        elif key.startswith("$"):
            raise RuleError(f"{where}: unknown operator {key[:40]!r} (use $or, $and, $nor, user_condition)")
        else:
            name = key.removeprefix("data.")
            if not known(name):
                raise RuleError(f"{where}: names the field {key[:60]!r}, which the entity does not have")
            if isinstance(value, dict):
                bad = [op for op in value if op not in FIELD_OPERATORS]
                if bad or not value:
                    shown = bad[0][:40] if bad else "{}"
                    raise RuleError(f"{where}: {key}: unknown operator {shown!r}")
            if compile_field is not None:
                _check_compiles(where, key, value, compile_field)


def _check_user_condition(where: str, value: Any) -> None:
    if not isinstance(value, dict) or not value:
        raise RuleError(f'{where}: user_condition takes an object such as {{"role": "admin"}}')
    for attr, expected in value.items():
        name = attr.removeprefix("data.")
        if attr.startswith("$") or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise RuleError(f"{where}: user_condition: {attr[:40]!r} is not a user attribute")
        if isinstance(expected, dict | list):
            raise RuleError(f"{where}: user_condition compares {attr} with a single value (equality only)")


# --- compiling a rule for one user --------------------------------------------------------------------


def fill(value: Any, viewer: Viewer) -> Any:
    """`{{user.*}}` templates filled in (a string that is exactly one template keeps the value's type)."""
    if isinstance(value, str):
        whole = TEMPLATE.fullmatch(value)
        if whole:
            return viewer.attribute(whole[1])
        return TEMPLATE.sub(lambda m: "" if viewer.attribute(m[1]) is None else str(viewer.attribute(m[1])), value)
    if isinstance(value, list):
        return [fill(v, viewer) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, viewer) for k, v in value.items()}
    return value


Folded = bool | dict[str, Any]  # what a rule means for one user: all, nothing, or a `q` query on the records


def fold(rule: Any, viewer: Viewer) -> Folded:
    """The rule for this user: the user parts decided, the templates filled in, and what is left — the
    conditions on the record — as a plain `q` query object (or True / False when nothing is left)."""
    if viewer.is_admin or is_open(rule):
        return True
    if not isinstance(rule, dict):
        return False  # `false`, or a malformed rule (check_block refuses those at load): never a silent allow
    parts: list[Folded] = []
    for key, value in rule.items():
        if key == "user_condition":
            parts.append(all(viewer.attribute(a) == fill(e, viewer) for a, e in value.items()))
        elif key in LOGICAL:
            parts.append(_combine(key, [fold(item, viewer) for item in value]))
        else:
            parts.append({key.removeprefix("data."): fill(value, viewer)})
    return _combine("$and", parts)


def _combine(op: str, parts: list[Folded]) -> Folded:
    queries = [p for p in parts if not isinstance(p, bool)]
    if op == "$and":
        if any(p is False for p in parts):
            return False
        return True if not queries else queries[0] if len(queries) == 1 else {"$and": queries}
    if op == "$or":
        if any(p is True for p in parts):
            return True
        return False if not queries else queries[0] if len(queries) == 1 else {"$or": queries}
    if any(p is True for p in parts):  # $nor: none may hold
        return False
    return True if not queries else {"$nor": queries}


def compile_folded(folded: Folded, resolve: Callable[[str], FieldTarget]) -> bool | Cond:
    """A folded rule as True, False, or the SQL condition the one query compiler makes of its `q` query."""
    if isinstance(folded, bool):
        return folded
    return QueryCompiler(resolve).compile(folded)


def satisfying(spec: Any, ids: list[str], folded: dict[str, Any], resolve: Callable[[str], FieldTarget]) -> Select[Any]:
    """The ids among `ids` of the entity's records (live or trashed) that a folded, conditional rule lets
    through: the WHERE a list would use, asked of the database by writes (services/entities.py) and realtime."""
    return select(spec.model.id).where(spec.model.id.in_(ids), spec.scope(), QueryCompiler(resolve).compile(folded))


def condition(rule: Any, viewer: Viewer, resolve: Callable[[str], FieldTarget]) -> bool | Cond:
    """The rule as True (open for this user), False (closed) or a SQL condition on the record's fields."""
    return compile_folded(fold(rule, viewer), resolve)


def user_fields(rls: dict[str, Any] | None) -> set[str]:
    """The user attributes a block decides by (`user_condition` keys, `{{user.*}}` templates), without the
    `data.` prefix: a user must not be able to set these on themselves."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "user_condition" and isinstance(inner, dict):
                    found.update(str(attr).removeprefix("data.") for attr in inner)
                walk(inner)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            found.update(m.removeprefix("data.") for m in TEMPLATE.findall(value))

    walk(rls)
    return found


def known_fields(spec: Any) -> Callable[[str], bool]:
    """The names a rule of `spec` may use: declared, schema-typed and built-in fields."""
    from backend.services.registry import BUILTIN_KINDS  # the registry imports nothing of this module

    return lambda name: name in BUILTIN_KINDS or spec.field(name) is not None


def check_declared() -> None:
    """Every declared entity's rules, at start-up: a malformed one stops the app with the entity named."""
    from backend.services.registry import MODELLED

    for spec in MODELLED.values():
        check_block(spec.name, spec.rls, known_fields(spec))
