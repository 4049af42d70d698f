"""The office's real frontend in a real browser: the Base44 export, connected with scripts/connect_frontend.py
and built with Vite (tests/frontend_build.py: built once, cached), in Debian's headless Chromium driven by
tests/frontend/drive.mjs (playwright-core), against the real app under uvicorn with the demo office loaded
as `make run` loads it (seeds/load_demo.py).

The driver signs in through the server's login page (SDK 0.1.x sends the browser to {serverUrl}/login), then
opens every route of the export's src/pages/index.jsx. A page fails when a request to the server answers
>= 400, when it throws (pageerror, or a console error: the pages catch their failures and log them) or shows
React's error, or when a listed entity's records are not on it: PAGES says, for each route, which entities it
lists and which rendered text of a record proves it is shown. Then it creates, edits and deletes through the
forms of Contacts, PropertyBrokerage and BuyersBrokerage, checking the database after each step (values
through the API, the trash through SQL: _Oracle below), and uses what scripts/connect_frontend.py added (the
WhatsApp sender, GenerateAndAlertMatches) through the pages' own buttons. Screenshots of every page,
phone-sized and desktop, go to test-artifacts/frontend/ (paths printed).

The driver runs once for the module; the tests below each judge one part of its results.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from backend.database import get_sessionmaker
from backend.services.registry import get_spec
from tests.conftest import make_user
from tests.frontend_build import EXPORT, BuildError, built_frontend, static_server
from tests.node_support import sdk_node_modules
from tests.uvicorn_process import uvicorn_process

ROOT = Path(__file__).resolve().parent.parent
SDK_DIR = ROOT / "tests" / "sdk"
DRIVER = ROOT / "tests" / "frontend" / "drive.mjs"
SCREENSHOT_DIR = ROOT / "test-artifacts" / "frontend"
NODE = shutil.which("node")
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
APP_ID = "6888779dd9179a0ecd1d0d73"  # the export's own app id (src/api/base44Client.js)
PASSWORD = "frontend-pass-word-1"
DRIVER_LIMIT = 900  # seconds: ~25 pages, two screenshots each, three forms

pytestmark = [
    pytest.mark.skipif(
        NODE is None, reason="node is not installed: the frontend test builds and drives it with Node 20+"
    ),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"),
]

RESIDENTIAL = {"$in": ["דירה", "בית פרטי"]}
HAS_CONTACT = {"contact_id": {"$exists": True}}
# MatchesList.jsx: the matched property's address line.
MATCHED_PROPERTY = (
    "{property_id>PropertyBrokerage.street} {property_id>PropertyBrokerage.building_number}, "
    "{property_id>PropertyBrokerage.city}"
)

# route -> entity -> what proves the page shows that entity's records. The driver fetches records through the
# API (`q`, `sort`, `limit`: the records the page shows by default, first ones first) and passes when one of
# the `show` texts, filled from one of them, is in the page's text (whitespace collapsed). In a text:
# "{field}", "{field|number}" (printed as the page's locale prints numbers), "{ref_id>Entity.field}" (a field
# of the record the reference points at), "{count}" (how many records match `q`, at most `cap`), "{some}" (any
# number from 1 to that count). `from`: fetch this entity's records instead (for an entity a page shows through
# another's reference). Read from the JSX of each page and its list component (src/pages/*.jsx,
# src/components/**/*List.jsx) and checked against /work/research/entities/REPORT.md §1.
PAGES: dict[str, dict[str, dict[str, Any]]] = {
    # Recent activity: the 3 newest properties, buyers, meetings (by start_date) and service calls, merged by
    # created_date, first 8; the alerts panel: buyers still "קונה חדש" after 4 hours, urgent service calls.
    "/Dashboard": {
        "PropertyBrokerage": {"limit": 3, "show": ["נכס חדש: {property_type} ב{city}"]},
        "BuyersBrokerage": {
            "limit": 3,
            "show": ["{desired_property_type} • תקציב: {budget|number} ₪", "{contact_id>Contact.full_name}"],
        },
        "Meeting": {"sort": "-start_date", "limit": 3, "show": ["פגישה: {meeting_type}"]},
        "ServiceCall": {"limit": 3, "show": ["קריאת שירות #{call_number}", "קריאה #{call_number}"]},
    },
    "/Properties": {
        "PropertyInventory": {"show": ["{street} {building_number}, {city}"]},
        "Contact": {"from": "PropertyInventory", "q": HAS_CONTACT, "show": ["{contact_id>Contact.full_name}"]},
    },
    # BuyersBrokerage records of every category, each titled with its contact's name.
    "/Clients": {
        "BuyersBrokerage": {"q": HAS_CONTACT, "show": ["{contact_id>Contact.full_name}", "{budget|number} ₪"]},
    },
    # A service call's property_id points at a PropertyOwner record (the page loads PropertyOwner as properties).
    "/ServiceCalls": {
        "ServiceCall": {"show": ["קריאה #{call_number}", "{description}"]},
        "Contact": {"from": "ServiceCall", "q": HAS_CONTACT, "show": ["{contact_id>Contact.full_name}"]},
        "PropertyOwner": {
            "from": "ServiceCall",
            "q": {"property_id": {"$exists": True}},
            "show": ["{property_id>PropertyOwner.property_type} ב{property_id>PropertyOwner.city}"],
        },
        "Supplier": {
            "from": "ServiceCall",
            "q": {"supplier_id": {"$exists": True}},
            "show": ["{supplier_id>Supplier.name}"],
        },
    },
    "/Suppliers": {"Supplier": {"show": ["{name}", "{phone}"]}},
    # Meetings point at PropertyBrokerage (property_id) and BuyersBrokerage (client_id) records.
    "/Meetings": {
        "Meeting": {"sort": "-start_date", "show": ["{location}", "נציג: {handler}"]},
        "Contact": {
            "from": "Meeting",
            "sort": "-start_date",
            "q": HAS_CONTACT,
            "show": ["{contact_id>Contact.full_name}"],
        },
        "PropertyBrokerage": {
            "from": "Meeting",
            "sort": "-start_date",
            "q": {"property_id": {"$exists": True}},
            "show": ["{property_id>PropertyBrokerage.property_type} ב{property_id>PropertyBrokerage.city}"],
        },
    },
    # The tasks page still reads the old Property and Client entities.
    "/Tasks": {
        "Task": {"show": ["{title}"]},
        "Contact": {"from": "Task", "q": HAS_CONTACT, "show": ["{contact_id>Contact.full_name}"]},
        "Property": {
            "from": "Task",
            "q": {"property_id": {"$exists": True}},
            "show": ["{property_id>Property.property_type} ב{property_id>Property.city}"],
        },
    },
    "/Contacts": {"Contact": {"show": ["{full_name}", "{phone}"]}},
    # Default view: category מגורים = PropertyBrokerage.category "פרטי", and the "מכירה" (sale) tab.
    "/PropertyBrokerage": {
        "PropertyBrokerage": {
            "q": {"category": "פרטי", "listing_type": "מכירה"},
            "show": ["{street} {building_number}, {city}"],
        },
        "Contact": {
            "from": "PropertyBrokerage",
            "q": {"category": "פרטי", "listing_type": "מכירה", **HAS_CONTACT},
            "show": ["{contact_id>Contact.full_name}"],
        },
    },
    "/PropertyBrokerage?category=משרדים": {
        "PropertyBrokerage": {
            "q": {"category": "מסחרי", "listing_type": "מכירה"},
            "show": ["{street} {building_number}, {city}"],
        },
    },
    "/BuyersRenters": {
        "BuyersRenters": {"q": HAS_CONTACT, "show": ["{contact_id>Contact.full_name}", "עד {budget|number} ₪"]},
    },
    # Matches.property_id -> PropertyBrokerage, buyer_id -> BuyersRenters; a match missing either is not shown.
    "/Matches": {
        "Matches": {
            "limit": 20,
            "show": [MATCHED_PROPERTY],
        },
    },
    "/BuyerLeadForm": {},  # a public sign-up form: it lists nothing
    # Only a match of a residential property (category פרטי, דירה / בית פרטי) to a residential buyer whose
    # request_category equals the property's listing_type shows. listing_type is מכירה/השכרה and request_category
    # קנייה/השכרה, so in practice only rentals (השכרה) ever show: the export's own filter.
    "/MatchesBrokerage": {
        "MatchesBrokerage": {
            "limit": 50,
            "show": [MATCHED_PROPERTY],
        },
    },
    # Default view: category מגורים = desired_property_type דירה / בית פרטי, and the "קנייה" (purchase) tab.
    "/BuyersBrokerage": {
        "BuyersBrokerage": {
            "q": {"desired_property_type": RESIDENTIAL, "request_category": "קנייה", **HAS_CONTACT},
            "show": ["{contact_id>Contact.full_name}", "{budget|number} ₪"],
        },
    },
    "/BuyersBrokerage?category=משרדים": {
        "BuyersBrokerage": {
            "q": {"desired_property_type": "משרד", "request_category": "קנייה"},
            "show": ["{contact_id>Contact.full_name}", "{budget|number} ₪"],
        },
    },
    "/PropertyInventory": {
        "PropertyInventory": {"show": ["{street} {building_number}, {city}"]},
        "Contact": {"from": "PropertyInventory", "q": HAS_CONTACT, "show": ["{contact_id>Contact.full_name}"]},
    },
    "/PropertyOwners": {
        "PropertyOwner": {"show": ["{street} {building_number}, {city}", "{property_type} ב{city}"]},
        "Contact": {"from": "PropertyOwner", "q": HAS_CONTACT, "show": ["{contact_id>Contact.full_name}"]},
    },
    # A tenant's current_property_id points at a PropertyOwner record.
    "/Tenants": {
        "Tenant": {"show": ["{contact_id>Contact.full_name}", "{monthly_rent|number} ₪/חודש", "מטפל: {handler}"]},
        "PropertyOwner": {
            "from": "Tenant",
            "q": {"current_property_id": {"$exists": True}},
            "show": ["{current_property_id>PropertyOwner.property_type} ב{current_property_id>PropertyOwner.city}"],
        },
    },
    "/Projects": {"Project": {"show": ["{name}"]}},
    "/ProjectLeads": {
        "ProjectLead": {"q": HAS_CONTACT, "show": ["{contact_id>Contact.full_name}"]},
        "Project": {
            "from": "ProjectLead",
            "q": {"interested_project_id": {"$exists": True}},
            "show": ["מתעניין בפרויקט: {interested_project_id>Project.name}"],
        },
    },
    "/MarketingLeads": {"MarketingLead": {"show": ["{phone_number}"]}},
    # Counts only, residential tab: properties (category פרטי, דירה/בית פרטי), buyers (דירה/בית פרטי), and
    # matches whose property and buyer both exist and are residential: at least one of them is counted.
    "/BrokerageDashboard": {
        "PropertyBrokerage": {"q": {"category": "פרטי", "property_type": RESIDENTIAL}, "show": ["נכסים {count}"]},
        "BuyersBrokerage": {"q": {"desired_property_type": RESIDENTIAL}, "show": ["לקוחות {count}"]},
        "MatchesBrokerage": {"limit": 1, "show": ["התאמות {some}"]},
    },
    "/PropertyManagementDashboard": {
        "PropertyOwner": {"cap": 100, "show": ["בעלי נכסים {count}"]},
        "Tenant": {"cap": 100, "show": ["דיירים {count}"]},
        "Supplier": {"show": ["ספקים {count}"]},
        "ServiceCall": {"limit": 4, "show": ["קריאת שירות #{call_number}"]},
    },
    "/ProjectsDashboard": {
        "Project": {"cap": 100, "show": ["פרויקטים {count}"]},
        "ProjectLead": {"cap": 50, "show": ["לידים לפרויקט {count}"]},
        "MarketingLead": {"cap": 50, "show": ["לידים לדיוור {count}"]},
    },
    # Owners grouped by their contact.
    "/PropertyOwnerManagement": {
        "PropertyOwner": {"show": ["{count} נכסים בניהול"]},
        "Contact": {"from": "PropertyOwner", "q": HAS_CONTACT, "show": ["{contact_id>Contact.full_name}"]},
    },
}
PAGES["/"] = PAGES["/Dashboard"]  # the index route renders the dashboard

# Create, edit and delete through the list pages' own forms. `fill`: label -> value (a select takes the option's
# text); "$contact.<field>" is a live contact the driver picks (one with a unique name, so the option is unique).
# `expect`: the stored record's fields; `listed`: the text that finds the record's card in the list.
FORMS: list[dict[str, Any]] = [
    {
        "entity": "Contact",
        "route": "/Contacts",
        "newButton": "איש קשר חדש",
        "create": {
            "fill": {
                "שם מלא *": "דנה בדיקת-טופס",
                "טלפון ראשי": "+972 52-731-4406",
                "דואר אלקטרוני": "dana.form@example.com",
                "עיר": "חולון",
            },
            "expect": {
                "full_name": "דנה בדיקת-טופס",
                "phone": "+972 52-731-4406",
                "email": "dana.form@example.com",
                "city": "חולון",
            },
            "listed": "דנה בדיקת-טופס",
        },
        "edit": {"fill": {"עיר": "בת ים"}, "expect": {"city": "בת ים"}, "listed": "דנה בדיקת-טופס", "shows": "בת ים"},
    },
    {
        "entity": "PropertyBrokerage",
        "route": "/PropertyBrokerage",
        "newButton": "נכס חדש",
        "create": {
            "fill": {
                "איש קשר": "$contact.full_name",
                "סטטוס": "פולואפ",
                "סוג נכס": "דירה",
                "מחיר מבוקש": "2476500",
                "עיר": "גבעתיים",
                "אזור": "צפון תל אביב",
                "רחוב": "כצנלסון-בדיקה",
                "מספר בית": "17",
                "מספר חדרים": "4",
                "קומה": "3",
            },
            "expect": {
                "contact_id": "$contact.id",
                "status": "פולואפ",
                "category": "פרטי",
                "listing_type": "מכירה",
                "property_type": "דירה",
                "price": 2476500,
                "city": "גבעתיים",
                "area": "צפון תל אביב",
                "street": "כצנלסון-בדיקה",
                "building_number": "17",
                "rooms": "4",
                "floor": "3",
            },
            "listed": "כצנלסון-בדיקה 17",
        },
        "edit": {
            "fill": {"מחיר מבוקש": "2391000"},
            "expect": {"price": 2391000},
            "listed": "כצנלסון-בדיקה 17",
            "shows": "2,391,000",
        },
    },
    {
        "entity": "BuyersBrokerage",
        "route": "/BuyersBrokerage",
        "newButton": "לקוח חדש",
        "create": {
            "fill": {
                "איש קשר *": "$contact.full_name",
                "סטטוס": "פולואפ",
                "קטגוריית ביקוש *": "קנייה",
                "סוג נכס מבוקש": "דירה",
                "אזור מבוקש": "צפון תל אביב",
                "תקציב מבוקש": "3176543",
                "מספר חדרים מבוקש": "4",
            },
            "expect": {
                "contact_id": "$contact.id",
                "status": "פולואפ",
                "request_category": "קנייה",
                "desired_property_type": "דירה",
                "desired_area": "צפון תל אביב",
                "budget": 3176543,
                "desired_rooms": "4",
            },
            "listed": "3,176,543",
        },
        "edit": {
            "fill": {"סטטוס": "נקבעה פגישה"},
            "expect": {"status": "נקבעה פגישה"},
            "listed": "3,176,543",
            "shows": "נקבעה פגישה",
        },
    },
]


def slug(route: str) -> str:
    """A route as a file name: /PropertyBrokerage?category=משרדים -> PropertyBrokerage-category-משרדים."""
    return re.sub(r"[^\w]+", "-", route).strip("-") or "root"


def export_routes() -> list[str]:
    """Every <Route path> of the export's src/pages/index.jsx."""
    text = (EXPORT / "src" / "pages" / "index.jsx").read_text(encoding="utf-8")
    return re.findall(r'<Route\s+path="([^"]+)"', text)


class _Oracle(BaseHTTPRequestHandler):
    """GET /state?entity=X&id=Y -> {"state": "live" | "trash" | "gone"}: the test's own look at the database,
    for what the Base44 surface does not show a user (where a deleted record went)."""

    def do_GET(self) -> None:
        params = parse_qs(urlsplit(self.path).query)
        spec = get_spec(params["entity"][0])
        model = spec.model
        with get_sessionmaker()() as session:
            row = session.execute(select(model.deleted_at).where(model.id == params["id"][0], spec.scope())).first()
        state = "gone" if row is None else ("live" if row[0] is None else "trash")
        body = json.dumps({"state": state}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def frontend_dist() -> Path:
    try:
        started = time.monotonic()
        dist = built_frontend(log=lambda line: print(line, flush=True))
        print(f"\nfrontend build: {dist.relative_to(ROOT)} ({time.monotonic() - started:.1f}s)")
        return dist
    except BuildError as exc:
        pytest.fail(f"building the frontend failed: {exc}")


@pytest.fixture(scope="module")
def playwright_core() -> Path:
    """tests/sdk/node_modules/playwright-core, installed from the committed lock file when missing."""
    return sdk_node_modules() / "playwright-core"


@pytest.fixture(scope="module")
def oracle() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Oracle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def driven(frontend_dist: Path, playwright_core: Path, oracle: str) -> Iterator[dict[str, Any]]:
    """The demo office loaded, the app and the frontend served, the driver run once: its results."""
    from seeds import load_demo

    print("\n" + load_demo.run())
    # A plain user (role "user") whose app_role is the frontend's "admin": the lists show their edit and delete
    # buttons only to app_role admin (PropertyBrokerageList.jsx, BuyersList.jsx).
    user = make_user("Office.Manager@example.com", password=PASSWORD, app_role="admin", full_name="מנהלת המשרד")
    for old in SCREENSHOT_DIR.glob("*.png"):
        old.unlink()  # a stale FAILED-*.png from an earlier run would mislead whoever looks
    with static_server(frontend_dist) as static, tempfile.TemporaryDirectory(prefix="crm-frontend-") as tmp:
        frontend = f"http://127.0.0.1:{static.server_address[1]}"
        extra = {"CORS_ORIGINS": f"{os.environ['CORS_ORIGINS']},{frontend}", "FRONTEND_URL": frontend}
        with uvicorn_process(extra) as server:
            static.RequestHandlerClass.server_origin = server  # type: ignore[attr-defined]
            plan = {
                "frontend": frontend,
                "server": server,
                "oracle": oracle,
                "appId": APP_ID,
                "email": user["email"],
                "password": PASSWORD,
                "chromium": CHROMIUM,
                "playwrightFrom": str(playwright_core),
                "screenshotDir": str(SCREENSHOT_DIR),
                "results": str(Path(tmp) / "results.json"),
                "pages": [{"route": route, "slug": slug(route), "shows": shows} for route, shows in PAGES.items()],
                "forms": FORMS,
            }
            (Path(tmp) / "plan.json").write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
            started = time.monotonic()
            try:
                result = subprocess.run(
                    [str(NODE), str(DRIVER)],
                    cwd=ROOT,
                    env={**os.environ, "PLAN": str(Path(tmp) / "plan.json")},
                    capture_output=True,
                    text=True,
                    timeout=DRIVER_LIMIT,
                )
            except subprocess.TimeoutExpired as exc:
                pytest.fail(f"the browser driver still ran after {DRIVER_LIMIT}s:\n{exc.stdout!r}\n{exc.stderr!r}")
            output = f"{result.stdout}\n{result.stderr}".strip()
            results_file = Path(tmp) / "results.json"
            if not results_file.is_file():
                pytest.fail(f"the browser driver wrote no results (exit {result.returncode}):\n{output}")
            answer = json.loads(results_file.read_text(encoding="utf-8"))
    answer.update(output=output, seconds=time.monotonic() - started)
    print(f"\nbrowser driver: {answer['seconds']:.0f}s, last line: {output.splitlines()[-1] if output else ''}")
    yield answer


def _failures(driven: dict[str, Any], kind: str) -> list[str]:
    return [f"{r['name']}: {r['why']}" for r in driven["results"] if r["kind"] == kind and not r["ok"]]


def _names(driven: dict[str, Any], kind: str) -> list[str]:
    return [r["name"] for r in driven["results"] if r["kind"] == kind]


def test_the_map_covers_every_route_of_the_export() -> None:
    """PAGES names exactly the export's routes (plus the category variants the menu links to)."""
    routes = set(export_routes())
    assert len(routes) == 25, sorted(routes)
    assert {route.split("?")[0] for route in PAGES} == routes


def test_signs_in_through_the_login_page(driven: dict[str, Any]) -> None:
    """The SDK sends the browser to {serverUrl}/login; signing in there lands back in the app with a token."""
    assert _names(driven, "login") == ["sign in through the server's login page"], driven["output"]
    assert _failures(driven, "login") == [], driven["output"]


def test_every_page_loads_without_errors(driven: dict[str, Any]) -> None:
    """No request to the server answers >= 400, no page error, no blank page, on every route."""
    assert len(_names(driven, "load")) == len(PAGES), driven["output"]
    failures = _failures(driven, "load")
    assert failures == [], "\n".join(failures)
    # The one request that leaves the two origins (stopped by the driver) is index.html's Base44 favicon.
    assert {urlsplit(url).netloc for url in driven["outside"]} <= {"base44.com"}, driven["outside"]


def test_every_page_shows_its_records(driven: dict[str, Any]) -> None:
    """Each entity a page lists has records in the database, and one of them is on the page."""
    assert len(_names(driven, "shows")) == sum(len(shows) for shows in PAGES.values()), driven["output"]
    failures = _failures(driven, "shows")
    assert failures == [], f"{len(failures)} page/entity pairs not shown:\n" + "\n".join(failures)


def test_forms_create_edit_delete(driven: dict[str, Any]) -> None:
    """Contacts, PropertyBrokerage, BuyersBrokerage: the record is stored as typed, edited in exactly one
    field, and deleted into the trash, each checked in the database."""
    assert len(_names(driven, "form")) == 3 * len(FORMS), driven["output"]
    failures = _failures(driven, "form")
    assert failures == [], "\n".join(failures)


def test_connected_features(driven: dict[str, Any]) -> None:
    """What scripts/connect_frontend.py added works in the real app: the WhatsApp sender queues on the server
    (and writes nothing itself), and the automatic matching's GenerateAndAlertMatches call answers."""
    assert len(_names(driven, "feature")) == 2, driven["output"]
    failures = _failures(driven, "feature")
    assert failures == [], "\n".join(failures)


def test_screenshots_of_every_page(driven: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """A phone-sized and a desktop screenshot of every page, kept for a person to look at."""
    shots = [Path(p) for p in driven["shots"]]
    with capsys.disabled():  # shown even when pytest captures output, so CI's log names the files
        print("\nfrontend screenshots:\n" + "\n".join(f"  {p.relative_to(ROOT)}" for p in shots))
    names = {p.name for p in shots}
    for route in PAGES:
        assert {f"{slug(route)}-phone.png", f"{slug(route)}-desktop.png"} <= names, route
    assert all(p.stat().st_size > 5000 for p in shots), "a screenshot is suspiciously small (blank page?)"
