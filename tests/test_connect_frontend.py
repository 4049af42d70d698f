"""scripts/connect_frontend.py on a copy of the office's real Base44 export (the fixture stays untouched):
exactly the four changes, nothing else, a second run changes nothing, bad input changes nothing at all.
tests/test_frontend_browser.py builds and runs the connected app; this file checks the edits themselves."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backend.services.matching.values import DEAL_WORDS
from tests.frontend_build import EXPORT

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "connect_frontend.py"
CLIENT = "src/api/base44Client.js"
AUTOMATION = "src/api/integrations/CRMAutomation.js"
SENDER = "src/components/marketing/WhatsAppSender.jsx"
MATCHES_PAGE = "src/pages/MatchesBrokerage.jsx"
URL = "https://crm-api.example.com:8443"


CONNECTED_CLIENT = """\
import { createClient } from '@base44/sdk';
// import { getAccessToken } from '@base44/sdk/utils/auth-utils';

// Create a client with authentication required
export const base44 = createClient({
  appId: "6888779dd9179a0ecd1d0d73", \n\
  serverUrl: "https://crm-api.example.com:8443",
  requiresAuth: true // Ensure authentication is required for all operations
});
"""


def _require_export() -> None:
    # The office's export, vendored in tests/fixtures/base44-export; a missing copy is an error, not a skip.
    if not (EXPORT / "package.json").is_file():
        pytest.fail(f"the Base44 export is not at {EXPORT}: set BASE44_FRONTEND_EXPORT to its folder")


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A copy of the export as Base44 hands it over (no node_modules, no build)."""
    _require_export()
    target = tmp_path / "export"
    shutil.copytree(EXPORT, target, ignore=shutil.ignore_patterns("node_modules", "dist", ".git"))
    return target


def connect(folder: Path, url: str = URL) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(folder), "--server-url", url], capture_output=True, text=True, timeout=60
    )


def tree(folder: Path) -> dict[str, str]:
    """Every file (hidden ones too, so a stray temporary file shows) and its hash."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_connects_the_export_with_exactly_four_changes(export: Path) -> None:
    before = tree(export)
    result = connect(export)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f'changed {CLIENT}: serverUrl "{URL}" added to createClient',
        f"changed {AUTOMATION}: written (exports GenerateAndAlertMatches)",
        f"changed {SENDER}: sends through the server's sendWhatsAppBulk (no simulation)",
        f"changed {MATCHES_PAGE}: shows the server's sale matches too (deals paired as the server pairs them)",
    ]
    after = tree(export)
    assert set(after) - set(before) == {AUTOMATION}
    assert {name for name in before if before[name] != after[name]} == {CLIENT, SENDER, MATCHES_PAGE}
    assert (export / CLIENT).read_bytes() == CONNECTED_CLIENT.encode()


def test_the_automation_module_exports_the_function_the_page_imports(export: Path) -> None:
    assert connect(export).returncode == 0
    module = (export / AUTOMATION).read_text(encoding="utf-8")
    page = (export / "src/pages/MatchesBrokerage.jsx").read_text(encoding="utf-8")
    assert 'import { GenerateAndAlertMatches } from "@/api/integrations/CRMAutomation";' in page
    assert "export const GenerateAndAlertMatches = " in module
    assert "export const sendWhatsAppBulk = " in module
    # One copy of the address: serverUrl and appId are read from the client module.
    assert 'import { base44 } from "../base44Client";' in module
    assert "base44.getConfig()" in module
    assert URL not in module and "6888779dd9179a0ecd1d0d73" not in module
    assert "/api/apps/${appId}/functions/${name}" in module
    assert 'localStorage.getItem("base44_access_token")' in module
    assert "Authorization: `Bearer ${token}`" in module
    node = shutil.which("node")
    if node:  # the module is an ES module in a "type": "module" package: Node parses it as one
        check = subprocess.run([node, "--check", str(export / AUTOMATION)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_the_sender_calls_the_server_and_simulates_nothing(export: Path) -> None:
    original = (export / SENDER).read_text(encoding="utf-8")
    assert connect(export).returncode == 0
    sender = (export / SENDER).read_text(encoding="utf-8")
    assert 'import { sendWhatsAppBulk } from "@/api/integrations/CRMAutomation";' in sender
    assert "await sendWhatsAppBulk({" in sender
    assert "recipients: selectedLeads.map((lead) => ({ lead_id: lead.id, vars: leadVars(lead) }))" in sender
    for gone in ("Math.random", "Simulat", "MarketingLog.create", "MarketingLead.update", "fake_", '@/api/entities"'):
        assert gone not in sender, gone
    assert "sendResults.queued" in sender and "SKIP_REASONS" in sender
    # Everything around the three replaced blocks is the export's own code, unchanged.
    for kept in (
        "const DEFAULT_MESSAGE = ",
        "const personalizeMessage = (template, lead) => {",
        "const previewMessage = selectedLeads[0] ? personalizeMessage(message, selectedLeads[0]) : message;",
        '<div className="flex justify-end gap-3 pt-6 border-t">',
    ):
        assert kept in original and kept in sender, kept
    assert sender.count("\n") - original.count("\n") < 10  # a replacement, not an addition


def test_the_matches_page_shows_deals_as_the_server_pairs_them(export: Path) -> None:
    """Only the list's display filter changes: it reads deals with the server's own words (a buyer's קנייה
    is a listing's מכירה), while the button's own pairing rule stays the export's."""
    original = (export / MATCHES_PAGE).read_text(encoding="utf-8")
    assert connect(export).returncode == 0
    page = (export / MATCHES_PAGE).read_text(encoding="utf-8")
    words = re.search(r"^const DEAL_WORDS = (\{.*\});$", page, re.M)
    assert words is not None
    assert json.loads(words.group(1)) == DEAL_WORDS  # the server's table, word for word
    verbatim = "const transactionMatch = property.listing_type === buyer.request_category;"
    assert original.count(verbatim) == 2 and page.count(verbatim) == 1  # the button's rule is kept
    assert "const transactionMatch = sameDeal(property.listing_type, buyer.request_category);" in page
    helper = page[page.index("// Connected by") : page.index("export default function")]
    undone = page.replace(helper, "").replace(
        "sameDeal(property.listing_type, buyer.request_category)", verbatim[25:-1]
    )
    assert undone == original  # nothing else is touched
    node = shutil.which("node")
    if node:  # the helper, run as written: sale with purchase, rent with rent, never sale with rent
        script = helper + (
            "console.log(JSON.stringify([['מכירה','קנייה'],['מכירה','קניה'],['השכרה','השכרה'],['השכרה','שכירות'],"
            "['מכירה','השכרה'],['השכרה','קנייה'],[' Sale ','BUY'],['מכירה',undefined],['constructor','השכרה'],"
            "['toString','valueOf']].map(([a, b]) => sameDeal(a, b))));"
        )
        ran = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60)
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout) == [True, True, True, True, False, False, True, True, True, True]


def test_an_unknown_matches_page_is_left_untouched_with_a_warning(export: Path) -> None:
    changed = (export / MATCHES_PAGE).read_text(encoding="utf-8").replace("return propertyCategoryMatch &&", "return (")
    (export / MATCHES_PAGE).write_text(changed, encoding="utf-8")
    result = connect(export)
    assert result.returncode == 1
    assert (
        result.stdout.splitlines()[3] == f"WARNING {MATCHES_PAGE}: not recognised (the display filter); left untouched"
    )
    assert (export / MATCHES_PAGE).read_text(encoding="utf-8") == changed
    assert (export / SENDER).read_text(encoding="utf-8") != (EXPORT / SENDER).read_text(encoding="utf-8")


def test_a_second_run_changes_nothing_and_says_so(export: Path) -> None:
    assert connect(export).returncode == 0
    connected = tree(export)
    again = connect(export)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        f'already connected: {CLIENT} (serverUrl is "{URL}")',
        f"already connected: {AUTOMATION}",
        f"already connected: {SENDER}",
        f"already connected: {MATCHES_PAGE}",
    ]
    assert tree(export) == connected


def test_a_new_address_replaces_the_old_one(export: Path) -> None:
    assert connect(export).returncode == 0
    moved = connect(export, "http://10.0.0.7:8000/")  # a trailing slash is dropped: the SDK appends /api
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.splitlines()[0] == f'changed {CLIENT}: serverUrl "{URL}" -> "http://10.0.0.7:8000"'
    assert (export / CLIENT).read_bytes() == CONNECTED_CLIENT.replace(URL, "http://10.0.0.7:8000").encode()


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        (
            "export const base44 = createClient({ appId: 'x', requiresAuth: true });\n",
            "export const base44 = createClient({ serverUrl: \"http://h:1\", appId: 'x', requiresAuth: true });\n",
        ),
        (
            "const b = createClient({\r\n    appId: 'x',\r\n    serverUrl: 'https://base44.app', // old\r\n});\r\n",
            "const b = createClient({\r\n    appId: 'x',\r\n    serverUrl: \"http://h:1\", // old\r\n});\r\n",
        ),
        (  # appId last, without a trailing comma: serverUrl goes first
            "createClient({\n  requiresAuth: true,\n  appId: 'x'\n})\n",
            "createClient({\n  serverUrl: \"http://h:1\",\n  requiresAuth: true,\n  appId: 'x'\n})\n",
        ),
        (  # a serverUrl in a comment or a nested object is not the client's own
            "createClient({\n  appId: 'x', // serverUrl: 'no'\n  headers: { serverUrl: 'no' },\n})\n",
            "createClient({\n  appId: 'x', // serverUrl: 'no'\n  serverUrl: \"http://h:1\",\n  headers: { serverUrl: 'no' },\n})\n",
        ),
    ],
)
def test_other_client_shapes(export: Path, client: str, expected: str) -> None:
    (export / CLIENT).write_bytes(client.encode())
    result = connect(export, "http://h:1")
    assert result.returncode == 0, result.stderr
    assert (export / CLIENT).read_bytes() == expected.encode()
    assert connect(export, "http://h:1").stdout.splitlines()[0].startswith("already connected")


def test_a_server_url_set_by_an_expression_is_left_alone(export: Path) -> None:
    client = "createClient({ appId: 'x', serverUrl: import.meta.env.VITE_API })\n"
    (export / CLIENT).write_text(client)
    result = connect(export)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == f"WARNING {CLIENT}: serverUrl is set by an expression; not changed"
    assert (export / CLIENT).read_text() == client
    assert (export / AUTOMATION).is_file()  # the other changes still apply


def test_an_unknown_sender_is_left_untouched_with_a_warning(export: Path) -> None:
    changed = (
        (export / SENDER).read_text(encoding="utf-8").replace("const sendWhatsAppMessage = async", "const send = async")
    )
    (export / SENDER).write_text(changed, encoding="utf-8")
    result = connect(export)
    assert result.returncode == 1
    warning = result.stdout.splitlines()[2]
    assert warning.startswith(f"WARNING {SENDER}: not recognised (the simulated send")
    assert warning.endswith("left untouched")
    assert (export / SENDER).read_text(encoding="utf-8") == changed
    assert (export / CLIENT).read_bytes() == CONNECTED_CLIENT.encode()


def test_a_missing_sender_is_a_warning(export: Path) -> None:
    (export / SENDER).unlink()
    result = connect(export)
    assert result.returncode == 1
    assert result.stdout.splitlines()[2] == f"WARNING {SENDER}: not found; the WhatsApp sender was not connected"


def test_a_crm_automation_module_of_its_own_is_kept(export: Path) -> None:
    own = "export const GenerateAndAlertMatches = async () => ({});\n"
    (export / AUTOMATION).parent.mkdir(parents=True)
    (export / AUTOMATION).write_text(own)
    sender = (export / SENDER).read_bytes()
    result = connect(export)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[1] == f"WARNING {AUTOMATION}: exists and was not written by this script; left as is"
    assert lines[2] == f"WARNING {SENDER}: not patched, since {AUTOMATION} was left as is"
    assert (export / AUTOMATION).read_text() == own
    assert (export / SENDER).read_bytes() == sender


def _break(folder: Path, how: str) -> None:
    if how == "no package.json":
        (folder / "package.json").unlink()
    elif how == "package.json without the SDK":
        text = (folder / "package.json").read_text().replace('"@base44/sdk": "^0.1.2",', "")
        (folder / "package.json").write_text(text)
    elif how == "package.json not JSON":
        (folder / "package.json").write_text("{ not json")
    elif how == "no base44Client.js":
        (folder / CLIENT).unlink()
    elif how == "no createClient":
        (folder / CLIENT).write_text("export const base44 = {};\n")


@pytest.mark.parametrize(
    "how",
    [
        "no package.json",
        "package.json without the SDK",
        "package.json not JSON",
        "no base44Client.js",
        "no createClient",
    ],
)
def test_not_a_base44_export_is_refused_and_nothing_changes(export: Path, how: str) -> None:
    _break(export, how)
    before = tree(export)
    result = connect(export)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.rstrip().endswith("Nothing was changed.")
    assert tree(export) == before


def test_a_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    result = connect(tmp_path / "nowhere")
    assert result.returncode == 2
    assert "is not a folder" in result.stderr
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://crm.example.com",
        "crm.example.com:8000",
        "http://",
        "http://crm.example.com/api",
        "http://crm.example.com?x=1",
        "http://crm.example.com#top",
        "http://user:secret@crm.example.com",
        "http://crm.example.com:0",
        "http://crm.example.com:99999",
        "http://crm.example.com:80a",
        'http://crm"example.com',
        "http://crm example.com",
        "javascript:alert(1)",
        "",
    ],
)
def test_a_bad_server_url_is_refused_and_nothing_changes(export: Path, url: str) -> None:
    before = tree(export)
    result = connect(export, url)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith("error: --server-url ") and "http(s)://host[:port]" in result.stderr
    assert tree(export) == before


def test_the_fixture_itself_is_never_touched() -> None:
    """The tests copy it; nothing here writes to it (an earlier run would have left CRMAutomation.js)."""
    _require_export()
    assert not (EXPORT / AUTOMATION).exists()
    assert "serverUrl" not in (EXPORT / CLIENT).read_text(encoding="utf-8")
