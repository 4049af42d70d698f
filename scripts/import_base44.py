"""Import a Base44 app's data with nothing lost (API.md §8). Try `--dry-run` first; README: "Moving from Base44".

    python scripts/import_base44.py ./export                  # a folder of <Entity>_export.csv / <Entity>.json
    python scripts/import_base44.py --from-api https://base44.app --app-id ID --api-key KEY --frontend ./app
    options: --dry-run  --entities Contact,Property  --frontend APP_FOLDER  --schemas FOLDER  --users users.json
             --rehost-files  --force  --report FILE

Which entities: the folder's files, its schema files (entities/<Name>.json[c]), the names the exported app's
src/api/entities.js uses (--frontend) and --entities; never a built-in list. Every entity asked for but not
found, and every file not understood, is named at the end.

Ids, dates and creators are kept; running it again changes nothing. Exit code 0 when everything was
imported, 1 when anything needs a look (a rejected row, a refused file, a file that could not be re-hosted),
2 for wrong arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from backend.config import get_settings, script_command, settings_or_exit
from backend.database import get_engine, get_sessionmaker
from backend.services.importer import console, rehost
from backend.services.importer.plan import Plan, PlanError, api_plan, folder_plan
from backend.services.importer.remote import ApiClient
from backend.services.importer.report import EntityReport
from backend.services.importer.run import ImportRun
from backend.services.importer.users import import_users, read_users
from backend.services.importer.writer import ImportOptions
from backend.services.schemas import load_into_registry


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", type=Path, help="folder of <Entity>_export.csv / <Entity>.json files")
    parser.add_argument("--from-api", metavar="URL", help="read from the Base44 API at URL (e.g. https://base44.app)")
    parser.add_argument("--app-id", help="the Base44 app id (with --from-api)")
    parser.add_argument("--api-key", help="the Base44 API key (with --from-api)")
    parser.add_argument("--entities", help="comma list of entity names (default: every entity the sources name)")
    parser.add_argument(
        "--frontend", type=Path, metavar="APP", help="the exported app: import what its entities.js uses"
    )
    parser.add_argument("--schemas", type=Path, metavar="FOLDER", help="entity schema files (default: SOURCE/entities)")
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
        return f"the database is not up to date: run `{script_command('migrate.py')}` first"
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


def import_sources(plan: Plan, options: ImportOptions, bar: console.ProgressBar) -> ImportRun:
    run = ImportRun(get_sessionmaker(), options, {name: decl for name, (decl, _) in plan.schemas.items()})
    run.store_schemas({name: source for name, (_, source) in plan.schemas.items()})
    for source in plan.sources:
        bar.start(source.entity)

        def progress(done: int, fraction: Callable[[], float | None] = source.fraction) -> None:
            bar.update(done, fraction())

        report = run.add(source.entity, source.label, source.rows, progress)
        bar.finish(f"{report.read:,} read" + (" — NOT IMPORTED" if report.error else ""))
    return run


def make_plan(args: argparse.Namespace) -> tuple[Plan, ApiClient | None]:
    only = [e.strip() for e in args.entities.split(",") if e.strip()] if args.entities else None
    if args.source is not None:
        return folder_plan(args.source, args.frontend, only, schema_dir=args.schemas), None
    if args.from_api:
        client = ApiClient(args.from_api, args.app_id, args.api_key)
        return api_plan(client, args.schemas, args.frontend, only), client
    return Plan(), None


def summary(reports: list[EntityReport], plan: Plan, dry_run: bool) -> str:
    """The last line: never "everything" when something was not imported."""
    done = sum(1 for r in reports if r.error is None)
    missing = len(plan.not_found)
    problems = sum(1 for r in reports if not r.ok)
    if dry_run:
        total = {name: sum(getattr(r, name) for r in reports) for name in ("read", "created", "updated", "rejected")}
        return (
            f"Dry run: nothing was written. {done} entities checked, {total['read']:,} rows read: "
            f"{total['created']:,} would be created, {total['updated']:,} updated, {total['rejected']:,} rejected; "
            f"{missing} not found, {problems} with problems."
        )
    text = f"{done} entities imported, {missing} not found"
    if problems:
        text += f", {problems} with rejected rows or refused files"
    return text + ("." if not missing and not problems else " — see above; exit code 1.")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings_or_exit()
    report_file = report_target(args.report) if args.report else None
    problem = check_database()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    try:
        plan, client = make_plan(args)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    full: dict[str, Any] = {"dry_run": args.dry_run}
    ok = True
    if args.users:
        full["users"], ok = run_users(args.users, args.dry_run)
    with get_sessionmaker()() as session:
        load_into_registry(session)
        options = ImportOptions(dry_run=args.dry_run, force=args.force, rewrite=rehost.rewriter(session))
    bar = console.ProgressBar()
    run = import_sources(plan, options, bar)
    if client is not None:
        client.close()
    reports = [r for r in run.finish() if r.entity not in plan.not_found]
    if plan.schemas:
        verb = "checked (dry run)" if args.dry_run else "stored"
        print(f"\nSchema files {verb}: " + ", ".join(f"{n} ({src})" for n, (_, src) in sorted(plan.schemas.items())))
    if reports:
        print(("\nDRY RUN — nothing was written.\n" if args.dry_run else "\n") + console.table(reports))
        print(console.details(reports, args.show))
    for entity, why in plan.not_found.items():
        print(f"NOT FOUND {entity}: {why}")
    for note in plan.notes:
        print(f"note: {note}")
    ok = ok and all(r.ok for r in reports) and not plan.not_found
    if args.rehost_files:
        full["files"], files_ok = run_rehost(args.dry_run, bar)
        ok = ok and files_ok
    full["entities"], full["notes"] = [r.as_dict() for r in reports], plan.notes
    full["not_found"], full["schemas"] = plan.not_found, {n: src for n, (_, src) in plan.schemas.items()}
    if report_file is not None:
        report_file.write_text(json.dumps(full, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        print(f"\nFull report: {report_file}")
    if plan.sources or plan.not_found or args.source is not None or args.from_api:
        print("\n" + summary(reports, plan, args.dry_run))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nInterrupted: the entity in progress was rolled back; entities finished before stay imported.")
        sys.exit(130)
