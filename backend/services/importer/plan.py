"""What an import run reads: which entities, from which files (or API), typed by which schema files.

The entity list comes only from what the user gives: the export folder's data files
(`<Entity>_export.csv`, `<Entity>.json`), its schema files (`entities/<Name>.json[c]`), a frontend's
`src/api/entities.js` (the names its `base44.entities.X` uses) and `--entities`. Never from a built-in
guess: an entity asked for and not found, and a file not understood, are named in the report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.entity_schema import ENTITY_NAME, EntityDecl, SchemaError
from backend.services.importer.remote import ApiClient, EntityMissing
from backend.services.importer.sources import CsvSource, JsonSource, Row
from backend.services.registry import MODELLED, dependency_order
from backend.services.schemas import read_schema_folder, schema_folder

DATA_FILE = re.compile(r"^(?P<entity>[A-Za-z][A-Za-z0-9]*?)(?P<export>_export)?(\s*\(\d+\))?\.(?P<ext>csv|json)$", re.I)
FRONTEND_ENTITY = re.compile(r"\bbase44\.entities\.([A-Z][A-Za-z0-9]*)\b")
NOT_DATA = {"users.json", "package.json", "package-lock.json", "components.json", "jsconfig.json"}


class PlanError(Exception):
    """The run cannot start (a schema file that is not valid, a folder that is not there); nothing is written."""


@dataclass
class Source:
    entity: str
    label: str  # the file name, or "API"
    rows: Callable[[], Iterator[Row]]
    fraction: Callable[[], float | None] = lambda: None


@dataclass
class Plan:
    sources: list[Source] = field(default_factory=list)
    schemas: dict[str, tuple[EntityDecl, str]] = field(default_factory=dict)  # name → (schema, file)
    asked: set[str] = field(default_factory=set)  # named by schema files, entities.js or --entities
    not_found: dict[str, str] = field(default_factory=dict)  # asked for, no data: entity → why
    notes: list[str] = field(default_factory=list)  # files not understood, skipped duplicates


def frontend_entities(path: Path) -> list[str]:
    """The entity names an exported frontend uses (`base44.entities.X` in `src/api/entities.js`)."""
    file = path / "src" / "api" / "entities.js" if path.is_dir() else path
    if not file.is_file():
        raise PlanError(f"{path}: no src/api/entities.js here (is it the exported frontend's folder?)")
    names = list(dict.fromkeys(FRONTEND_ENTITY.findall(file.read_text("utf-8", errors="replace"))))
    if not names:
        raise PlanError(f"{file}: names no entity (expected lines like `base44.entities.Contact`)")
    return names


def _checked_names(names: list[str], where: str) -> set[str]:
    bad = [n for n in names if not ENTITY_NAME.match(n)]
    if bad:
        raise PlanError(f"{where}: {bad[0][:60]!r} is not an entity name (PascalCase letters and digits)")
    return set(names)


def base_plan(schema_dir: Path | None, frontend: Path | None, only: list[str] | None) -> Plan:
    """The schema files and the names asked for; a bad schema file stops the run before anything is written."""
    plan = Plan()
    if schema_dir is not None:
        try:
            plan.schemas = read_schema_folder(schema_dir)
        except SchemaError as exc:
            raise PlanError(f"schema file {exc} — nothing was imported") from None
        plan.asked |= set(plan.schemas)
    if frontend is not None:
        plan.asked |= _checked_names(frontend_entities(frontend), str(frontend))
    if only:
        plan.asked = _checked_names(only, "--entities")  # an explicit list is the list
    plan.asked.discard("User")
    return plan


def folder_plan(folder: Path, frontend: Path | None, only: list[str] | None, *, schema_dir: Path | None = None) -> Plan:
    """An export folder's data files; its schema files are `schema_dir` if given, else its `entities/`."""
    plan = base_plan(schema_dir or schema_folder(folder), frontend, only)
    found: dict[str, Path] = {}
    canonical = {name.lower(): name for name in [*MODELLED, *plan.asked, *plan.schemas]}
    for path in sorted(folder.iterdir()):
        if path.is_dir() or path.name.startswith("."):
            continue
        match = DATA_FILE.match(path.name)
        if match is None or path.name in NOT_DATA:
            if path.name != "users.json":
                plan.notes.append(
                    f"{path.name}: not understood — skipped (expected <Entity>_export.csv or <Entity>.json)"
                )
            continue
        entity = canonical.get(match["entity"].lower(), match["entity"])
        if entity == "User":
            plan.notes.append(f"{path.name}: skipped — users are imported with --users users.json")
            continue
        if only is not None and entity not in plan.asked:
            continue
        previous = found.get(entity)
        if previous is not None:
            keep, drop = sorted([previous, path], key=lambda p: (p.suffix.lower() != ".json", p.name))
            plan.notes.append(
                f"{drop.name}: skipped — {keep.name} holds {entity} too (JSON is preferred: it is lossless)"
            )
            path = keep
        found[entity] = path
    plan.sources = [_file_source(entity, found[entity]) for entity in dependency_order(list(found))]
    for entity in dependency_order(sorted(plan.asked - found.keys())):
        plan.not_found[entity] = f"no {entity}_export.csv or {entity}.json in {folder.name}/"
    return plan


def _file_source(entity: str, path: Path) -> Source:
    state: dict[str, Any] = {}

    def rows() -> Iterator[Row]:
        if path.suffix.lower() == ".json":
            yield from JsonSource(path.read_bytes()).rows()
            return
        with path.open("rb") as handle:
            state["csv"] = CsvSource(handle, path.stat().st_size)
            yield from state["csv"].rows()

    def fraction() -> float | None:
        return state["csv"].done if "csv" in state else None

    return Source(entity, path.name, rows, fraction)


def api_plan(client: ApiClient, schema_dir: Path | None, frontend: Path | None, only: list[str] | None) -> Plan:
    """From the Base44 API: the entities asked for, each fetched whole; one the server lacks is `not_found`."""
    plan = base_plan(schema_dir, frontend, only)
    if not plan.asked:
        raise PlanError(
            "say which entities to fetch: --frontend <exported app folder> (reads src/api/entities.js), "
            "--schemas <folder of entity schema files>, or --entities Contact,Property,..."
        )

    def make(entity: str) -> Source:
        def rows() -> Iterator[Row]:
            try:
                yield from client.rows(entity)
            except EntityMissing:
                plan.not_found[entity] = "the server has no such entity"

        return Source(entity, "API", rows)

    plan.sources = [make(entity) for entity in dependency_order(sorted(plan.asked))]
    return plan
