"""Connect an exported Base44 app (React + Vite, `@base44/sdk` 0.1.x) to this server. README: "Pointing the
Base44 frontend at this server".

    python scripts/connect_frontend.py ./my-export --server-url https://crm-api.example.com

It applies exactly the changes the export needs, and nothing else:
1. `src/api/base44Client.js`: `serverUrl: "<URL>"` in the `createClient({...})` call (added, or its value
   replaced); the rest of the file is kept byte for byte.
2. `src/api/integrations/CRMAutomation.js`: the module the export imports but does not contain. It exports
   `GenerateAndAlertMatches` (and `sendWhatsAppBulk`): each is one POST to `/api/apps/{appId}/functions/<name>`,
   because SDK 0.1.x has no `functions` module.
3. `src/components/marketing/WhatsAppSender.jsx`: the sender only pretended to send (and failed ~10 % at
   random); it now queues the messages on this server and shows what the server answered.
4. `src/pages/MatchesBrokerage.jsx`: the list showed a match only when `listing_type === request_category`,
   words that never agree for a sale (a listing's `מכירה`, a buyer's `קנייה`), so the server's sale matches
   were stored but hidden. Its display filter now pairs deals as the server does; the page's own button is
   left as it was (it still only pairs rentals itself, and asks the server for the rest).

Each change prints one line: what changed, "already connected", or a WARNING when the code to replace was
not recognised (that file is then left untouched). Running it twice changes nothing the second time. Files
are written atomically (a temporary file renamed over the old one).

Exit code 0 when every change is applied (or already was), 1 when a change was skipped with a warning, 2 for
bad input (not a Base44 export, or a server URL that is not http(s)://host[:port]): then nothing is changed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CLIENT = "src/api/base44Client.js"
AUTOMATION = "src/api/integrations/CRMAutomation.js"
SENDER = "src/components/marketing/WhatsAppSender.jsx"
MATCHES_PAGE = "src/pages/MatchesBrokerage.jsx"
# Written into every file this script writes or patches: how a second run knows a change is already there.
MARKER = "Connected by scripts/connect_frontend.py"
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){LABEL}(?:\.{LABEL})*$")


class Refused(Exception):
    """Bad input: the run stops before anything is written (exit code 2)."""


@dataclass
class Change:
    """One file's outcome: `text` is the new content, or None when the file stays as it is."""

    path: str
    text: str | None
    message: str
    warning: bool = False


# --- input checks -----------------------------------------------------------------------------------------


def check_server_url(url: str) -> str:
    """`http(s)://host[:port]` with nothing else (a trailing slash is dropped: the SDK appends `/api`)."""
    parts = urlsplit(url.strip())
    problem = None
    try:
        port = parts.port
    except ValueError:
        port, problem = None, "the port is not a number from 1 to 65535"
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https"):
        problem = "it must start with http:// or https://"
    elif parts.username is not None or parts.password is not None:
        problem = "it may not contain a user name or password"
    elif parts.path not in ("", "/") or parts.query or parts.fragment or url.strip().endswith(("?", "#")):
        problem = "it may not have a path, query or fragment (the SDK adds /api itself)"
    elif not (HOSTNAME.match(host) or _is_ipv6(host)):
        problem = f"{host!r} is not a host name"
    elif port == 0:
        problem = "the port is not a number from 1 to 65535"
    if problem:
        raise Refused(f"--server-url {url!r} is not http(s)://host[:port]: {problem}")
    return f"{parts.scheme}://{parts.netloc}"


def _is_ipv6(host: str) -> bool:
    return ":" in host and bool(re.fullmatch(r"[0-9A-Fa-f:.]+", host))


def check_export(folder: Path) -> str:
    """The text of base44Client.js, once the folder is known to be a Base44 export."""
    if not folder.is_dir():
        raise Refused(f"{folder} is not a folder")
    package = folder / "package.json"
    try:
        manifest = json.loads(package.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Refused(f"{folder} is not a Base44 export: there is no package.json") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise Refused(f"{package} cannot be read as JSON: {exc}") from None
    deps = {}
    if isinstance(manifest, dict):
        for key in ("dependencies", "devDependencies"):
            if isinstance(manifest.get(key), dict):
                deps.update(manifest[key])
    if "@base44/sdk" not in deps:
        raise Refused(f"{folder} is not a Base44 export: package.json does not depend on @base44/sdk")
    client = folder / CLIENT
    try:
        text = client.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise Refused(f"{folder} is not a Base44 export: {CLIENT} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Refused(f"{client} cannot be read: {exc}") from None
    if _client_object(text) is None:
        raise Refused(f"{client} has no createClient({{...}}) call: is this a Base44 export?")
    return text


# --- 1. base44Client.js -----------------------------------------------------------------------------------

CREATE_CLIENT = re.compile(r"\bcreateClient\s*\(\s*\{")
SERVER_URL_KEY = re.compile(r"""(?:serverUrl|"serverUrl"|'serverUrl')\s*:\s*""")


def _skip(text: str, i: int) -> int:
    """If a string or comment starts at i, the index just after it; else i."""
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    if text[i] in "\"'`":
        quote, j = text[i], i + 1
        while j < len(text) and text[j] != quote:
            j += 2 if text[j] == "\\" else 1
        return j + 1
    return i


def _client_object(text: str) -> tuple[int, int] | None:
    """(index of `{`, index of its matching `}`) of the first createClient({...}) call."""
    match = CREATE_CLIENT.search(text)
    if match is None:
        return None
    start = match.end() - 1
    depth, i = 0, start
    while i < len(text):
        after = _skip(text, i)
        if after != i:
            i = after
            continue
        if text[i] in "{([":
            depth += 1
        elif text[i] in "})]":
            depth -= 1
            if depth == 0:
                return start, i
        i += 1
    return None


def _server_url_value(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Where the value of the object's own `serverUrl` key starts and ends, if it has one."""
    depth, i = 0, start + 1
    while i < end:
        key = SERVER_URL_KEY.match(text, i) if depth == 0 and text[i - 1] in "{,\r\n\t " else None
        if key is not None:  # checked before strings are skipped: the key may be quoted
            quoted = text[key.end() : key.end() + 1] in ("'", '"', "`")
            return key.end(), _skip(text, key.end()) if quoted else key.end()
        after = _skip(text, i)
        if after != i:
            i = after
            continue
        if text[i] in "{([":
            depth += 1
        elif text[i] in "})]":
            depth -= 1
        i += 1
    return None


def connect_client(text: str, url: str) -> Change:
    span = _client_object(text)
    assert span is not None  # check_export made sure
    start, end = span
    literal = json.dumps(url)
    found = _server_url_value(text, start, end)
    if found is not None:
        value_start, value_end = found
        value = text[value_start:value_end]
        if value_end == value_start or value[0] not in "\"'`" or "${" in value:
            return Change(CLIENT, None, f"WARNING {CLIENT}: serverUrl is set by an expression; not changed", True)
        if value[1:-1] == url:
            return Change(CLIENT, None, f"already connected: {CLIENT} (serverUrl is {literal})")
        new = text[:value_start] + literal + text[value_end:]
        return Change(CLIENT, new, f"changed {CLIENT}: serverUrl {value} -> {literal}")
    body = text[start + 1 : end]
    if "\n" not in body:  # createClient({ appId: "x", requiresAuth: true })
        gap = len(body) - len(body.lstrip(" \t"))
        insert_at = start + 1 + gap
        return Change(CLIENT, text[:insert_at] + f"serverUrl: {literal}, " + text[insert_at:], _added(literal))
    # One property per line: a new line after `appId` when that line ends with a comma, else as the first.
    lines = body.split("\n")
    first = next((n for n, line in enumerate(lines[1:], 1) if line.strip()), 1)
    indent = re.match(r"[ \t]*", lines[first])
    at = first
    for n, line in enumerate(lines[1:], 1):
        code = re.sub(r"//.*$", "", line).rstrip()
        if re.match(r"\s*(?:appId|\"appId\"|'appId')\s*:", line) and code.endswith(","):
            at = n + 1
            break
    newline = "\r\n" if "\r\n" in text else "\n"
    pad = indent.group(0) if indent and indent.group(0) else "  "
    lines.insert(at, f"{pad}serverUrl: {literal},{newline[:-1]}")
    return Change(CLIENT, text[: start + 1] + "\n".join(lines) + text[end:], _added(literal))


def _added(literal: str) -> str:
    return f"changed {CLIENT}: serverUrl {literal} added to createClient"


# --- 2. CRMAutomation.js ----------------------------------------------------------------------------------

AUTOMATION_JS = f"""\
// {MARKER}: the export imports this module but Base44 did not export it.
// SDK 0.1.x has no `functions` module, so each server function is one POST to
// {{serverUrl}}/api/apps/{{appId}}/functions/<name>, signed in with the token the SDK keeps.
// serverUrl and appId come from the client in ../base44Client.js: the address is written in one place only.
import {{ base44 }} from "../base44Client";

async function invoke(name, args) {{
  const {{ serverUrl, appId }} = base44.getConfig();
  const token = window.localStorage.getItem("base44_access_token");
  const response = await fetch(`${{serverUrl}}/api/apps/${{appId}}/functions/${{name}}`, {{
    method: "POST",
    headers: {{ "Content-Type": "application/json", ...(token ? {{ Authorization: `Bearer ${{token}}` }} : {{}}) }},
    body: JSON.stringify(args ?? {{}}),
  }});
  const text = await response.text();
  let body = null;
  try {{
    body = text ? JSON.parse(text) : null;
  }} catch {{
    body = null;
  }}
  if (!response.ok) {{
    // The server's error body is {{detail, message, code}}; the pages show error.message.
    const error = new Error(body?.message || `${{name}}: the server answered ${{response.status}}`);
    Object.assign(error, {{ status: response.status, code: body?.code, data: body }});
    throw error;
  }}
  return body;
}}

// Server-side matching (the page awaits it and ignores the answer): {{created, updated, ..., matches}}.
export const GenerateAndAlertMatches = (args = {{}}) => invoke("GenerateAndAlertMatches", args);

// Queues WhatsApp messages: {{message, recipients: [{{lead_id, vars}}]}} -> {{batch_id, queued, skipped, total}}.
export const sendWhatsAppBulk = (args) => invoke("sendWhatsAppBulk", args);
"""


def connect_automation(folder: Path) -> Change:
    path = folder / AUTOMATION
    if path.is_file():
        old = path.read_bytes().decode("utf-8", errors="replace")
        if old == AUTOMATION_JS:
            return Change(AUTOMATION, None, f"already connected: {AUTOMATION}")
        if MARKER not in old:
            return Change(
                AUTOMATION, None, f"WARNING {AUTOMATION}: exists and was not written by this script; left as is", True
            )
        return Change(AUTOMATION, AUTOMATION_JS, f"changed {AUTOMATION}: rewritten (it was an older version)")
    return Change(AUTOMATION, AUTOMATION_JS, f"changed {AUTOMATION}: written (exports GenerateAndAlertMatches)")


# --- 3. WhatsAppSender.jsx --------------------------------------------------------------------------------

SENDER_IMPORT = 'import { sendWhatsAppBulk } from "@/api/integrations/CRMAutomation";\n'

SENDER_LOGIC = f"""\
  // {MARKER}: the messages go to the server's WhatsApp queue
  // (sendWhatsAppBulk), which sends them at the provider's pace, writes one MarketingLog per message and
  // sets each lead's last_contacted once its message is sent. Placeholders are filled as the preview shows.
  const SKIP_REASONS = {{
    not_found: "הליד לא נמצא",
    invalid_phone: "מספר טלפון לא תקין",
    duplicate: "מספר טלפון כפול",
    opted_out: "ביקש/ה לא לקבל הודעות",
  }};

  const leadVars = (lead) => ({{
    first_name: lead.first_name || 'שם',
    last_name: lead.last_name || '',
    neighborhood: lead.neighborhood || 'האזור',
    budget: String(lead.budget || 'התקציב'),
    client_type: lead.client_type === 'קונה' ? 'לקנייה' : 'להשכרה',
  }});

  const handleSend = async () => {{
    if (sendResults?.queued > 0) return; // queued once already: a second click must not send it twice
    setIsSending(true);
    const byId = new Map(selectedLeads.map((lead) => [lead.id, lead]));
    const results = {{ queued: 0, skipped: [], error: null }};
    try {{
      const answer = await sendWhatsAppBulk({{
        message,
        recipients: selectedLeads.map((lead) => ({{ lead_id: lead.id, vars: leadVars(lead) }})),
      }});
      results.queued = answer.queued;
      results.skipped = (answer.skipped || []).map(({{ recipient, reason }}) => {{
        const lead = byId.get(recipient?.lead_id);
        const fullName = lead && `${{lead.first_name || ''}} ${{lead.last_name || ''}}`.trim();
        const name = lead ? fullName || lead.phone_number : recipient?.lead_id;
        return `${{name}}: ${{SKIP_REASONS[reason] || reason}}`;
      }});
    }} catch (error) {{
      results.error = error.message;
    }}

    setSendResults(results);
    setIsSending(false);

    if (results.queued > 0) {{
      setTimeout(() => {{
        onSuccess();
      }}, 3000);
    }}
  }};

"""

SENDER_RESULTS = """\
            {sendResults && (
              <Alert className={sendResults.queued > 0 ? 'border-green-200 bg-green-50' : 'border-red-200 bg-red-50'}>
                <CheckCircle className="h-4 w-4" />
                <AlertDescription>
                  <div className="space-y-2" data-testid="whatsapp-send-results">
                    {sendResults.error ? (
                      <div>השליחה נכשלה: {sendResults.error}</div>
                    ) : (
                      <div>{sendResults.queued} הודעות נכנסו לתור השליחה, {sendResults.skipped.length} דולגו</div>
                    )}
                    {sendResults.skipped.length > 0 && (
                      <div>
                        <div className="font-medium mb-1">לא נשלחו:</div>
                        <ul className="text-xs space-y-1">
                          {sendResults.skipped.slice(0, 10).map((line, index) => (
                            <li key={index}>• {line}</li>
                          ))}
                          {sendResults.skipped.length > 10 && (
                            <li>ועוד {sendResults.skipped.length - 10}...</li>
                          )}
                        </ul>
                      </div>
                    )}
                  </div>
                </AlertDescription>
              </Alert>
            )}

"""

# (what it replaces, from this anchor, up to but not including this anchor, with what); each anchor must
# occur exactly once, or the file is left alone.
SENDER_EDITS: list[tuple[str, re.Pattern[str], re.Pattern[str] | None, str]] = [
    (
        "the MarketingLog/MarketingLead import",
        re.compile(
            r"^import\s*\{\s*MarketingLog\s*,\s*MarketingLead\s*\}\s*from\s*[\"']@/api/entities[\"'];?\s*?\n", re.M
        ),
        None,
        SENDER_IMPORT,
    ),
    (
        "the simulated send (sendWhatsAppMessage ... handleSend)",
        re.compile(r"^[ \t]*const sendWhatsAppMessage = async \(lead, personalizedMessage\) => \{", re.M),
        re.compile(r"^[ \t]*const previewMessage = ", re.M),
        SENDER_LOGIC,
    ),
    (
        "the results box ({sendResults && ...})",
        re.compile(r"^[ \t]*\{sendResults && \([ \t]*\r?$", re.M),
        re.compile(r"^[ \t]*<div className=\"flex justify-end gap-3 pt-6 border-t\">", re.M),
        SENDER_RESULTS,
    ),
]
# What must be inside the simulated-send region for it to be the code this patch was written for.
SENDER_EXPECTED = ("Math.random()", "MarketingLog.create(", "const handleSend = async")


def _source(folder: Path, relative: str, missing: str) -> str | Change:
    """A component's text to patch, or the Change that says why there is nothing to do (missing: a warning)."""
    path = folder / relative
    if not path.is_file():
        return Change(relative, None, f"WARNING {relative}: not found; {missing}", True)
    text = path.read_bytes().decode("utf-8", errors="replace")
    return Change(relative, None, f"already connected: {relative}") if MARKER in text else text


def patch_sender(folder: Path) -> Change:
    text = _source(folder, SENDER, "the WhatsApp sender was not connected")
    if isinstance(text, Change):
        return text
    problems = []
    spans = []
    for label, start_re, end_re, replacement in SENDER_EDITS:
        starts = list(start_re.finditer(text))
        ends = list(end_re.finditer(text)) if end_re is not None else []
        if len(starts) != 1 or (end_re is not None and len(ends) != 1):
            problems.append(label)
            continue
        start = starts[0].start()
        end = starts[0].end() if end_re is None else ends[0].start()
        if end < start:
            problems.append(label)
            continue
        spans.append((start, end, replacement))
    if not problems and not all(s in text[spans[1][0] : spans[1][1]] for s in SENDER_EXPECTED):
        problems.append("the simulated send (its code differs from the export this script knows)")
    if problems:
        return Change(SENDER, None, f"WARNING {SENDER}: not recognised ({'; '.join(problems)}); left untouched", True)
    newline = "\r\n" if "\r\n" in text else "\n"
    new = text
    for start, end, replacement in sorted(spans, reverse=True):
        new = new[:start] + replacement.replace("\n", newline) + new[end:]
    return Change(SENDER, new, f"changed {SENDER}: sends through the server's sendWhatsAppBulk (no simulation)")


# --- 4. MatchesBrokerage.jsx -------------------------------------------------------------------------------

# The server's deal words (backend/services/matching/values.py DEAL_WORDS; tests/test_connect_frontend.py
# keeps the two equal): a buyer's קנייה is a listing's מכירה; renters and rentals share השכרה.
DEAL_WORDS = {
    "קנייה": "sale",
    "קניה": "sale",
    "buy": "sale",
    "purchase": "sale",
    "מכירה": "sale",
    "sale": "sale",
    "sell": "sale",
    "השכרה": "rent",
    "שכירות": "rent",
    "rent": "rent",
    "rental": "rent",
}

MATCHES_HELPER = f"""\
// {MARKER}: the deal of a listing (listing_type) and of a buyer (request_category)
// as the server's matching reads them, so the matches it makes for sales are shown, not only rentals. A word
// it does not know constrains nothing, as on the server.
const DEAL_WORDS = {json.dumps(DEAL_WORDS, ensure_ascii=False)};
const dealOf = (value) => {{
  const word = typeof value === "string" ? value.trim().toLowerCase() : "";
  return Object.prototype.hasOwnProperty.call(DEAL_WORDS, word) ? DEAL_WORDS[word] : null;
}};
const sameDeal = (listingType, requestCategory) => {{
  const offered = dealOf(listingType);
  const wanted = dealOf(requestCategory);
  return !offered || !wanted || offered === wanted;
}};

"""

# The display filter's comparison (the button's identical line is not followed by this return).
MATCHES_FILTER = re.compile(
    r"(const transactionMatch = )property\.listing_type === buyer\.request_category;(\s*return propertyCategoryMatch "
    r"&& buyerCategoryMatch && transactionMatch;)"
)
MATCHES_COMPONENT = re.compile(r"^export default function MatchesBrokeragePage\(", re.M)


def patch_matches_page(folder: Path) -> Change:
    text = _source(folder, MATCHES_PAGE, "sale matches stay hidden")
    if isinstance(text, Change):
        return text
    filters = list(MATCHES_FILTER.finditer(text))
    components = list(MATCHES_COMPONENT.finditer(text))
    if len(filters) != 1 or len(components) != 1:
        return Change(
            MATCHES_PAGE, None, f"WARNING {MATCHES_PAGE}: not recognised (the display filter); left untouched", True
        )
    newline = "\r\n" if "\r\n" in text else "\n"
    found = filters[0]
    new = text[: found.start()] + found.group(1) + "sameDeal(property.listing_type, buyer.request_category);"
    new += found.group(2) + text[found.end() :]
    at = components[0].start()  # before the component: the helper is module-level
    new = new[:at] + MATCHES_HELPER.replace("\n", newline) + new[at:]
    return Change(
        MATCHES_PAGE,
        new,
        f"changed {MATCHES_PAGE}: shows the server's sale matches too (deals paired as the server pairs them)",
    )


# --- running ----------------------------------------------------------------------------------------------


def write_atomic(path: Path, text: str) -> None:
    """A temporary file in the same folder, renamed over the target: a reader sees the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def connect(folder: Path, server_url: str, out: Callable[[str], None] = print) -> int:
    """Applies the changes; the exit code (0 all applied, 1 a change skipped with a warning). Raises Refused."""
    url = check_server_url(server_url)
    client_text = check_export(folder)
    changes = [connect_client(client_text, url), connect_automation(folder)]
    automation_ok = not changes[1].warning
    sender = patch_sender(folder)
    if automation_ok or sender.text is None:
        changes.append(sender)
    else:  # the patched sender imports sendWhatsAppBulk from the module this script could not write
        changes.append(Change(SENDER, None, f"WARNING {SENDER}: not patched, since {AUTOMATION} was left as is", True))
    changes.append(patch_matches_page(folder))
    for change in changes:
        if change.text is not None:
            write_atomic(folder / change.path, change.text)
        out(change.message)
    return 1 if any(change.warning for change in changes) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export_dir", type=Path, help="the exported Base44 app (the folder with package.json)")
    parser.add_argument("--server-url", required=True, help="this server's public address, http(s)://host[:port]")
    args = parser.parse_args(argv)
    try:
        return connect(args.export_dir, args.server_url)
    except Refused as exc:
        print(f"error: {exc}. Nothing was changed.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
