"""The import script's last words and its report file, as an office manager running it in the container meets them.

The issue: a dry run ended "Everything was imported." (nothing was), and `--report report.json` failed in the
container, whose working directory (/app) the app user cannot write — after the whole import had run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backend.config import get_settings
from tests.import_support import run_script, stored

CSV = "full_name,id\nדנה,c1\nשרה,c2\n"
UNWRITABLE = Path("/sys")  # not writable even by root (the tests may run as root, which os.access would wave through)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir(parents=True)
    (folder / "Contact_export.csv").write_text(CSV, encoding="utf-8")
    return folder


def _last_line(out: str) -> str:
    return [line for line in out.splitlines() if line.strip()][-1]


def test_a_dry_run_ends_saying_nothing_was_written(tmp_path: Path, capsys: Any) -> None:
    code, out = run_script(str(_folder(tmp_path)), "--dry-run", capsys=capsys)
    assert code == 0
    assert "Everything was imported" not in out
    assert _last_line(out).startswith(
        "Dry run: nothing was written. 1 entities checked, 2 rows read: 2 would be created"
    )
    assert stored("Contact") == {}
    code, out = run_script(str(_folder(tmp_path / "real")), capsys=capsys)
    assert code == 0 and _last_line(out) == "1 entities imported, 0 not found." and len(stored("Contact")) == 2


def test_a_relative_report_in_a_read_only_folder_goes_to_the_data_folder(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    monkeypatch.chdir(UNWRITABLE)
    code, out = run_script(str(folder), "--report", "report.json", capsys=capsys)
    target = Path(get_settings().upload_dir).parent / "report.json"
    assert code == 0, out
    assert f"Full report: {target}" in out
    assert json.loads(target.read_text(encoding="utf-8"))["entities"][0]["created"] == 2
    target.unlink()


def test_a_report_that_cannot_be_written_is_refused_before_importing(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    monkeypatch.setattr(get_settings(), "upload_dir", str(UNWRITABLE / "nowhere" / "uploads"))
    monkeypatch.chdir(UNWRITABLE)
    with pytest.raises(SystemExit) as refused:
        run_script(str(folder), "--report", "report.json", capsys=capsys)
    assert "cannot write the report" in str(refused.value) and "--report" in str(refused.value)
    assert stored("Contact") == {}  # refused before the import, not after it
