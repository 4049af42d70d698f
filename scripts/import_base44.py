"""Import a Base44 app's data with nothing lost (API.md §8). Try `--dry-run` first; README: "Moving from Base44".

    python scripts/import_base44.py ./export                  # a folder of <Entity>_export.csv / <Entity>.json
    python scripts/import_base44.py --from-api https://base44.app --app-id ID --api-key KEY
    options: --dry-run  --entities Contact,Property  --users users.json  --rehost-files  --force  --report FILE

Ids, dates and creators are kept; running it again changes nothing. Exit code 0 when everything was
imported, 1 when anything needs a look (a rejected row, a refused file, a file that could not be re-hosted),
2 for wrong arguments.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from backend.config import get_settings, settings_or_exit
from backend.database import get_engine, get_sessionmaker
from backend.services.importer import console, rehost
from backend.services.importer.remote import ApiClient, EntityMissing
from backend.services.importer.report import EntityReport
from backend.services.importer.run import ImportRun
from backend.services.importer.sources import CsvSource, JsonSource, Row
from backend.services.importer.users import import_users, read_users
from backend.services.importer.writer import ImportOptions
from backend.services.registry import MODELLED

# The exported CRM uses 24 entities; these are the 13 ENTITIES.md does not model (they go to the document store).
UNMODELLED = [
    *("PropertyBrokerage", "BuyersBrokerage", "MatchesBrokerage", "Tenant", "DoNotCallList", "Lead", "Deal"),
    *("Commission", "Document", "CalendarEvent", "Expense", "Invoice", "Notification"),
]
FILE_NAME = re.compile(r"^(?P<entity>[A-Za-z][A-Za-z0-9]*?)(?P<export>_export)?(\s*\(\d+\))?\.(?P<ext>csv|json)$", re.I)
Source = tuple[str, str, Callable[[], Iterator[Row]], Callable[[], float | None]]  # entity, label, rows, fraction


def _order(name: str) -> tuple[int, int, str]:
    names = list(MODELLED)
    return (0, names.index(name), "") if name in MODELLED else (1, 0, name)


def folder_sources(folder: Path, only: set[str] | None, notes: list[str]) -> list[Source]:
    found: dict[str, Path] = {}
    canonical = {name.lower(): name for name in [*MODELLED, *UNMODELLED]}
    for path in sorted(folder.iterdir()):
        match = FILE_NAME.match(path.name) if path.is_file() else None
        if match is None:
            if path.is_file() and path.name != "users.json":
                notes.append(f"{path.name}: skipped (not <Entity>_export.csv or <Entity>.json)")
            continue
        entity = canonical.get(match["entity"].lower(), match["entity"])
        if entity == "User":
            notes.append(f"{path.name}: skipped — users are imported with --users users.json")
            continue
        if only is not None and entity not in only:
            continue
        previous = found.get(entity)
        if previous is not None:
            keep, drop = sorted([previous, path], key=lambda p: (p.suffix.lower() != ".json", p.name))
            notes.append(f"{drop.name}: skipped — {keep.name} holds {entity} too (JSON is preferred: it is lossless)")
            path = keep
        found[entity] = path
    return [_file_source(entity, found[entity]) for entity in sorted(found, key=_order)]


def _file_source(entity: str, path: Path) -> Source:
    state: dict[str, Any] = {}

    def rows() -> Iterator[Row]:
        if path.suffix.lower() == ".json":
            source = JsonSource(path.read_bytes())
            state["total"] = len(source.records)
            yield from source.rows()
            return
        with path.open("rb") as handle:
            state["csv"] = CsvSource(handle, path.stat().st_size)
            yield from state["csv"].rows()

    def fraction() -> float | None:
        return state["csv"].done if "csv" in state else None

    return entity, path.name, rows, fraction


def api_sources(client: ApiClient, entities: list[str], notes: list[str]) -> list[Source]:
    def make(entity: str) -> Source:
        def rows() -> Iterator[Row]:
            try:
                yield from client.rows(entity)
            except EntityMissing:
                notes.append(f"{entity}: the server has no such entity; skipped")

        return entity, "API", rows, lambda: None

    return [make(e) for e in entities]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", type=Path, help="folder of <Entity>_export.csv / <Entity>.json files")
    parser.add_argument("--from-api", metavar="URL", help="read from the Base44 API at URL (e.g. https://base44.app)")
    parser.add_argument("--app-id", help="the Base44 app id (with --from-api)")
    parser.add_argument("--api-key", help="the Base44 API key (with --from-api)")
    parser.add_argument("--entities", help="comma list of entity names (default: all found / all 24 known)")
    parser.add_argument("--dry-run", action="store_true", help="read and check everything, write nothing")
    parser.add_argument("--users", type=Path, metavar="users.json", help="create these users, print reset links")
    parser.add_argument("--rehost-files", action="store_true", help="copy linked files off Base44 into our storage")
    parser.add_argument("--force", action="store_true", help="also overwrite records changed here after the export")
    parser.add_argument("--report", type=Path, metavar="FILE", help="write the full report as JSON")
    parser.add_argument("--show", type=int, default=30, metavar="N", help="rows listed per problem (default 30)")
    args = parser.parse_args(argv)
    if args.source is not None and args.from_api:
        parser.error("give a SOURCE folder or --from-api URL, not both")
    if args.source is None and not args.from_api and not args.users and not args.rehost_files:
        parser.error("give a SOURCE folder or --from-api URL (or --users / --rehost-files on their own)")
    if args.from_api and not (args.app_id and args.api_key):
        parser.error("--from-api needs --app-id and --api-key")
    if args.source is not None and not args.source.is_dir():
        parser.error(f"{args.source} is not a folder")
    return args


def check_database() -> str | None:
    try:
        tables = set(inspect(get_engine()).get_table_names())
    except SQLAlchemyError as exc:
        return f"cannot reach the database: {str(exc).splitlines()[0][:200]}"
    if "rehosted_files" not in tables or "contacts" not in tables:
        return "the database is not up to date: run `python scripts/migrate.py` first"
    return None


def run_users(path: Path, dry_run: bool) -> tuple[list[dict[str, Any]], bool]:
    results = import_users(get_sessionmaker(), read_users(path), dry_run=dry_run)
    print(f"\nUsers ({path.name}){' — dry run, nothing created' if dry_run else ''}:")
    for r in results:
        print(f"  {r.status:<9} {r.email:<40} {r.detail}")
        if r.reset_url:
            print(f"            set-password link (valid 24 h): {r.reset_url}")
    return [vars(r) for r in results], all(r.status != "rejected" for r in results)


def run_rehost(dry_run: bool, bar: console.ProgressBar) -> tuple[dict[str, Any], bool]:
    sessions = get_sessionmaker()
    with sessions() as session:
        specs = rehost.entities_with_records(session)
    if dry_run:
        count = rehost.count_links(sessions, specs)
        print(f"\nFiles: {count:,} link(s) would be re-hosted (dry run: nothing downloaded)")
        return {"links": count}, True
    bar.start("Re-hosting files")
    result = rehost.rehost_files(sessions, specs, lambda done, total: bar.update(done, done / total, "files"))
    bar.finish(f"{result.downloaded:,} downloaded, {result.reused:,} already done, {len(result.failed):,} failed")
    print(f"\nFiles: {result.found:,} link(s) to move; {result.downloaded:,} downloaded, {result.reused:,} reused")
    for entity, count in result.records.items():
        print(f"  {entity}: {count:,} record(s) now point at this server")
    for url, reason in sorted(result.failed.items()):
        print(f"  FAILED {url}: {reason}")
    if result.conflicts:
        print(f"  {result.conflicts} record(s) changed while re-hosting ran: run again to finish them")
    return vars(result), result.ok


def _writable(folder: Path) -> bool:
    try:
        tempfile.NamedTemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def report_target(path: Path) -> Path:
    """Where `--report` is written: as given when absolute or when the current folder is writable; a relative
    path in a read-only folder — the container's /app — goes under the data folder (/app/data) instead.
    Checked before anything is imported, so a long import never ends in a report it cannot write."""
    data = Path(get_settings().upload_dir).parent
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, data / path]
    for candidate in candidates:
        if _writable(candidate.parent):
            return candidate
    raise SystemExit(
        f"error: cannot write the report to {candidates[-1]} (the folder is missing or not writable). "
        f"Give a file in a writable folder, e.g. --report {data / 'report.json'}; in Docker, copy it out "
        f"afterwards with: docker compose cp backend:{data / 'report.json'} ."
    )


def dry_run_summary(reports: list[EntityReport]) -> str:
    """The last line of a dry run: what it checked, and that it wrote nothing."""
    total = {name: sum(getattr(r, name) for r in reports) for name in ("read", "created", "updated", "rejected")}
    return (
        f"Dry run: nothing was written. {len(reports)} entities checked, {total['read']:,} rows read: "
        f"{total['created']:,} would be created, {total['updated']:,} updated, {total['rejected']:,} rejected."
    )


def import_sources(sources: list[Source], options: ImportOptions, bar: console.ProgressBar) -> ImportRun:
    run = ImportRun(get_sessionmaker(), options)
    for entity, label, rows, fraction in sources:
        bar.start(entity)

        def progress(done: int, fraction: Callable[[], float | None] = fraction) -> None:
            bar.update(done, fraction())

        report = run.add(entity, label, rows, progress)
        bar.finish(f"{report.read:,} read" + (" — NOT IMPORTED" if report.error else ""))
    return run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings_or_exit()
    report_file = report_target(args.report) if args.report else None
    problem = check_database()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    only = {e.strip() for e in args.entities.split(",") if e.strip()} if args.entities else None
    notes: list[str] = []
    full: dict[str, Any] = {"dry_run": args.dry_run}
    ok = True
    if args.users:
        full["users"], ok = run_users(args.users, args.dry_run)
    client: ApiClient | None = None
    if args.source is not None:
        sources = folder_sources(args.source, only, notes)
    elif args.from_api:
        client = ApiClient(args.from_api, args.app_id, args.api_key)
        sources = api_sources(client, sorted(only, key=_order) if only else [*MODELLED, *UNMODELLED], notes)
    else:
        sources = []
    with get_sessionmaker()() as session:
        options = ImportOptions(dry_run=args.dry_run, force=args.force, rewrite=rehost.rewriter(session))
    bar = console.ProgressBar()
    run = import_sources(sources, options, bar)
    if client is not None:
        client.close()
    reports = [r for r in run.finish() if not (r.source == "API" and r.read == 0 and r.error is None)]
    if sources:
        print(("\nDRY RUN — nothing was written.\n" if args.dry_run else "\n") + console.table(reports))
        print(console.details(reports, args.show))
    for note in notes:
        print(f"note: {note}")
    ok = ok and all(r.ok for r in reports)
    if args.rehost_files:
        full["files"], files_ok = run_rehost(args.dry_run, bar)
        ok = ok and files_ok
    full["entities"], full["notes"] = [r.as_dict() for r in reports], notes
    if report_file is not None:
        report_file.write_text(json.dumps(full, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        print(f"\nFull report: {report_file}")
    if args.dry_run:
        print("\n" + dry_run_summary(reports) + ("" if ok else " Some things need a look (see above); exit code 1."))
        return 0 if ok else 1
    print("\nEverything was imported." if ok else "\nSome things need a look (see above); exit code 1.")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nInterrupted: the entity in progress was rolled back; entities finished before stay imported.")
        sys.exit(130)
