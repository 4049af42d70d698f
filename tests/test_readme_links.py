"""The README's links lead to files in this repository (it is read in a clone that has nothing beside it).

The issue: it linked `../shared/DESIGN.md` and named `../shared/API.md`, which exist only next to the
developers' checkout.
"""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_no_path_leaves_the_repository() -> None:
    assert re.findall(r"\.\./[\w./-]+", README) == []


def test_every_relative_link_resolves() -> None:
    targets = [t for t in re.findall(r"\]\(([^)\s]+)\)", README) if not re.match(r"[a-z]+:|#", t)]
    missing = [t for t in targets if not (ROOT / t.split("#")[0]).resolve().is_relative_to(ROOT.resolve())
               or not (ROOT / t.split("#")[0]).exists()]  # fmt: skip
    assert missing == []
