"""What the import script prints: a progress bar on stderr and the final table on stdout. No dependencies."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from backend.services.importer.report import EntityReport

COLUMNS = ("Entity", "Source", "Read", "Created", "Updated", "Unchanged", "Rejected", "Dangling", "Status")


class ProgressBar:
    """`Contact   [#########-----------]  45%  12,000 rows` redrawn in place on a terminal; on a pipe (logs,
    `docker compose exec -T`) one line every few seconds instead, so logs stay readable."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 28, interval: float = 5.0) -> None:
        self.stream, self.width, self.interval = stream, width, interval
        self.tty = stream.isatty()
        self.label = ""
        self.last = 0.0

    def start(self, label: str) -> None:
        self.label, self.last = label, time.monotonic()
        if self.tty:
            self.update(0, 0.0)

    def update(self, done: int, fraction: float | None, unit: str = "rows") -> None:
        now = time.monotonic()
        if not self.tty and now - self.last < self.interval:
            return
        if self.tty and now - self.last < 0.1 and fraction not in (0.0, 1.0):
            return
        self.last = now
        if fraction is None:
            bar = f"{done:>12,} {unit}"
        else:
            filled = int(self.width * fraction)
            bar = f"[{'#' * filled}{'-' * (self.width - filled)}] {fraction * 100:3.0f}%  {done:,} {unit}"
        line = f"{self.label:<22} {bar}"
        self.stream.write(f"\r{line}\x1b[K" if self.tty else line + "\n")
        self.stream.flush()

    def finish(self, text: str) -> None:
        line = f"{self.label:<22} {text}"
        self.stream.write(f"\r{line}\x1b[K\n" if self.tty else line + "\n")
        self.stream.flush()


def table(reports: list[EntityReport]) -> str:
    rows = [list(COLUMNS)]
    for r in reports:
        status = "ERROR" if r.error else ("CHECK" if r.rejected or r.dangling else "ok")
        counts = (r.read, r.created, r.updated, r.unchanged, r.rejected, r.dangling)
        rows.append([r.entity, r.source, *(f"{n:,}" for n in counts), status])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            c.ljust(w) if i < 2 or i == 8 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def details(reports: list[EntityReport], limit: int) -> str:
    """Every problem an office manager must look at: refused files, rejected rows, dangling references."""
    out: list[str] = []
    for r in reports:
        if r.error:
            out.append(f"\n{r.entity} ({r.source}): NOT IMPORTED — {r.error}")
        if r.rejections:
            out.append(f"\n{r.entity} ({r.source}): {r.rejected:,} rejected row(s)")
            out += [f"  {x.where:<12} id={x.id or '-'}: {x.reason}" for x in r.rejections[:limit]]
            if r.rejected > limit:
                out.append(f"  ... and {r.rejected - limit:,} more (use --report FILE for all)")
        if r.dangling_refs:
            out.append(f"\n{r.entity}: {r.dangling:,} reference(s) to records that do not exist")
            for d in r.dangling_refs[:limit]:
                out.append(
                    f"  {d.field} = {d.value}: no {d.target} with this id ({d.rows:,} row(s), e.g. id={d.example})"
                )
            if len(r.dangling_refs) > limit:
                out.append(f"  ... and {len(r.dangling_refs) - limit:,} more values (use --report FILE for all)")
        out += [f"  note: {n}" for n in r.notes]
    return "\n".join(out)
