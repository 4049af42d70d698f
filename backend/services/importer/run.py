"""Running imports: one entity inside a caller's unit of work (the API), or many, each in its own (the script).

Either way an entity is all-or-nothing against crashes and source-level errors: its rows are written in
one transaction that commits only when the whole source was read. Rejected rows are reported and the
rest written (a bad row never blocks the good ones). A dry run writes nothing at all. The importer never
commits or rolls back a session itself: an entity refused whole `discard`s its unit of work, and the
unit's owner — the request, or the script's `ImportRun` — rolls it back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from backend.database import discard, long_statements, unit_of_work
from backend.entity_schema import EntityDecl
from backend.errors import BadRequest, NotFound
from backend.services.importer.refs import RefTracker
from backend.services.importer.report import EntityReport
from backend.services.importer.sources import Row, SourceError
from backend.services.importer.writer import EntityImport, ImportOptions
from backend.services.registry import EntitySpec, get_spec, spec_with
from backend.services.schemas import load_into_registry, save

log = logging.getLogger(__name__)
Progress = Callable[[int], None]


def _analyze(session: Session, spec: EntitySpec) -> None:
    """Fresh statistics for the table just loaded: the office opens the app right after an import, and every
    plan beyond the list index (filters, sorts, counts) is chosen from them. PostgreSQL only."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f'ANALYZE "{spec.table.name}"'))  # a table name from the declarations, never input


def _database_reason(exc: SQLAlchemyError) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"the database refused the data ({text[0][:200] if text else type(exc).__name__})"


def _import(
    session: Session,
    entity: str,
    source: str,
    rows: Callable[[], Iterable[Row]],
    options: ImportOptions,
    progress: Progress | None,
    schema: EntityDecl | None = None,
) -> tuple[EntityReport, EntityImport | None]:
    """Reads and writes (unless dry) one entity; on failure discards the unit of work and says why in the report.

    `schema` (a schema file of this run) types the entity as its stored schema will, dry runs included."""
    report = EntityReport(entity=entity, source=source)
    try:
        spec = get_spec(entity) if schema is None else spec_with(entity, schema)
    except (NotFound, BadRequest):
        report.fail(f"{entity!r} is not an entity name (PascalCase letters and digits; User is imported with --users)")
        return report, None
    job = EntityImport(session, spec, report, options)
    try:
        long_statements(session)  # a large office's batches and reference checks may need more than 15 s
        job.run(rows(), progress)
        if not options.dry_run:
            session.flush()
    except SourceError as exc:
        discard(session)
        report.fail(str(exc))
        return report, None
    except SQLAlchemyError as exc:  # something the row checks did not foresee: the whole entity is refused
        discard(session)
        log.warning("import of %s refused by the database: %s", entity, exc)
        report.fail(_database_reason(exc))
        return report, None
    return report, job


def import_records(
    session: Session,
    entity: str,
    rows: Callable[[], Iterable[Row]],
    options: ImportOptions,
    *,
    source: str = "request",
) -> tuple[EntityReport, list[dict[str, Any]]]:
    """One entity in the caller's unit of work (which its owner commits, or rolls back when the entity was refused
    whole): the report and, if asked, the records."""
    report, job = _import(session, entity, source, rows, options, None)
    if job is None:
        return report, []
    job.refs.resolve(session, [report])
    return report, job.output


class ImportRun:
    """Many entities, each in its own transaction; dangling references are resolved across all of them at the end.

    `schemas` are the run's schema files: stored first (unless a dry run), and typing their entities either way.
    """

    def __init__(
        self, sessions: sessionmaker[Session], options: ImportOptions, schemas: dict[str, EntityDecl] | None = None
    ) -> None:
        self.sessions, self.options = sessions, options
        self.schemas = schemas or {}
        self.reports: list[EntityReport] = []
        self.refs = RefTracker()

    def store_schemas(self, sources: dict[str, str]) -> None:
        """Saves the run's schema files (`sources`: entity → file name) before any record is written."""
        if self.options.dry_run or not self.schemas:
            return
        with unit_of_work(self.sessions) as session:
            save(session, [(decl, sources.get(name, "import")) for name, decl in self.schemas.items()])
        with unit_of_work(self.sessions) as session:  # what was committed, not before
            load_into_registry(session)

    def add(
        self, entity: str, source: str, rows: Callable[[], Iterable[Row]], progress: Progress | None = None
    ) -> EntityReport:
        report = EntityReport(entity=entity, source=source)
        try:
            with unit_of_work(self.sessions) as session:
                report, job = _import(session, entity, source, rows, self.options, progress, self.schemas.get(entity))
                if self.options.dry_run:
                    discard(session)
        except SQLAlchemyError as exc:  # the commit itself was refused
            report.fail(_database_reason(exc))
            job = None
        if job is not None:
            self.refs.merge(job.refs)
            if not self.options.dry_run:
                self._analyze(job.spec)
        self.reports.append(report)
        return report

    def _analyze(self, spec: EntitySpec) -> None:
        try:
            with unit_of_work(self.sessions) as session:
                _analyze(session, spec)
        except SQLAlchemyError as exc:  # the rows are in; only the planner's statistics wait for autovacuum
            log.warning("ANALYZE of %s after its import failed: %s", spec.name, exc)

    def fail(self, entity: str, source: str, message: str) -> EntityReport:
        """A source that could not even be opened (a download that failed, an unreadable file)."""
        report = EntityReport(entity=entity, source=source)
        report.fail(message)
        self.reports.append(report)
        return report

    def finish(self) -> list[EntityReport]:
        with unit_of_work(self.sessions) as session:
            long_statements(session)
            self.refs.resolve(session, self.reports)
        return self.reports

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports)
