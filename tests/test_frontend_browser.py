"""The office's real frontend in a real browser: the Base44 export, connected with scripts/connect_frontend.py
and built with Vite (tests/frontend_build.py: built once, cached), in Debian's headless Chromium driven by
tests/frontend/drive.mjs (playwright-core), against the real app under uvicorn with the demo office loaded
as `make run` loads it (seeds/load_demo.py).

The driver signs in through the server's login page (SDK 0.1.x sends the browser to {serverUrl}/login), then
opens every route of the export's src/pages/index.jsx. A page fails when a request to the server answers
anything but 2xx, when it throws (pageerror, or a console error: the pages catch their failures and log them)
or shows React's error, or when a listed entity's records are not on it: PAGES says, for each route, which
entities it lists and which rendered text of a record proves it is shown. Then it creates, edits and deletes
through the forms of Contacts, PropertyBrokerage and BuyersBrokerage, checking the database after each step
(values through the API, the trash through SQL: _Oracle below), and uses what scripts/connect_frontend.py
added through the pages' own buttons: the WhatsApp sender (its messages then sent by the app's sender to the
fake WhatsApp provider of tests/fake_whatsapp.py, whose signed status webhooks come back to the app) and the
automatic matching (a sale match that only the server makes, shown on the page). Screenshots of every page,
phone-sized and desktop, go to test-artifacts/frontend/ (paths printed).

Then the same driver runs again signed in as an agent (app_role "agent"): the menu must be the one
Layout.jsx's own role filter gives an agent, it must offer no page of an entity the server does not let an
agent read, and each of its pages (and the landing dashboard) must load with every request answered 2xx and
show its records, read with the agent's own permissions. Phone-sized screenshots only.

The app runs as `make run` runs it except for what the test drives itself: auto-matching and the in-app
WhatsApp sender are off (tests/conftest.py), so a match exists only once the button asked for it, and the
test steps the sender (tests/whatsapp_support.drain) when the page has queued its messages.

Each driver run happens once for the module; the tests below each judge one part of its results.
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
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.models import MarketingLead, MarketingLog
from backend.models.whatsapp import WhatsAppBatch
from backend.services.registry import get_spec
from backend.services.whatsapp.sender import Sender
from tests.conftest import make_user
from tests.fake_whatsapp import FakeWhatsApp
from tests.frontend_build import EXPORT, BuildError, built_frontend, static_server
from tests.node_support import sdk_node_modules
from tests.uvicorn_process import uvicorn_process
from tests.whatsapp_support import FAST, drain, meta_settings, wait_for

ROOT = Path(__file__).resolve().parent.parent
SDK_DIR = ROOT / "tests" / "sdk"
DRIVER = ROOT / "tests" / "frontend" / "drive.mjs"
SCREENSHOT_DIR = ROOT / "test-artifacts" / "frontend"
NODE = shutil.which("node")
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
APP_ID = "6888779dd9179a0ecd1d0d73"  # the export's own app id (src/api/base44Client.js)
PASSWORD = "frontend-pass-word-1"
DRIVER_LIMIT = 900  # seconds: ~25 pages, two screenshots each, three forms
AGENT_DRIVER_LIMIT = 300  # seconds: the agent's 8 pages, a phone-sized screenshot each

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
    # Only a match of a residential property (category פרטי, דירה / בית פרטי) to a residential buyer of the same
    # deal shows. The export compared listing_type === request_category verbatim (מכירה never equals קנייה, so
    # only rentals showed); scripts/connect_frontend.py makes it pair deals as the server does, sales too.
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


LAYOUT = EXPORT / "src" / "pages" / "Layout.jsx"
UTILS = EXPORT / "src" / "utils" / "index.ts"


def create_page_url(page_name: str) -> str:
    """The export's createPageUrl (src/utils/index.ts), whose one line is checked here."""
    body = "return '/' + pageName.toLowerCase().replace(/ /g, '-');"
    assert body in UTILS.read_text(encoding="utf-8"), f"createPageUrl in {UTILS} changed: update create_page_url"
    return "/" + page_name.lower().replace(" ", "-")


def navigation_config() -> list[dict[str, Any]]:
    """Layout.jsx's `navigationConfig`, read from the file: each item's name, href (createPageUrl(...) plus its
    query), roles and children. The JavaScript literal is made JSON (comments and icons dropped, keys and
    strings double-quoted); a shape this does not know fails json.loads, loudly."""
    text = LAYOUT.read_text(encoding="utf-8")
    found = re.search(r"^const navigationConfig = (\[.*?^\]);", text, re.M | re.S)
    assert found, f"no navigationConfig in {LAYOUT}"
    js = re.sub(r"//[^\n]*", "", found.group(1))
    js = re.sub(
        r"createPageUrl\('([^']*)'\)(?:\s*\+\s*'([^']*)')?",
        lambda m: json.dumps(create_page_url(m[1]) + (m[2] or ""), ensure_ascii=False),
        js,
    )
    js = re.sub(r"\bicon:\s*\w+\s*,", "", js)
    js = re.sub(r"([{,]\s*)([A-Za-z_]\w*):", r'\1"\2":', js)
    js = re.sub(r"'([^'\n]*)'", lambda m: json.dumps(m[1], ensure_ascii=False), js)
    js = re.sub(r",(\s*[\]}])", r"\1", js)
    config: list[dict[str, Any]] = json.loads(js)
    return config


def menu_of(app_role: str | None) -> list[dict[str, str]]:
    """The sidebar links a user of `app_role` gets, in order: Layout.jsx's own filter, step by step. No app_role
    is an agent (`user.app_role || 'agent'`); an item shows when it has no roles or names the role; a parent's
    children are filtered the same way, and a parent left with none is dropped. A parent's own link comes
    before its children's."""
    role = app_role or "agent"
    links: list[dict[str, str]] = []
    for item in navigation_config():
        if item.get("roles") and role not in item["roles"]:
            continue
        children = [c for c in item.get("children") or [] if not c.get("roles") or role in c["roles"]]
        if item.get("children") and not children:
            continue
        links.append({"name": item["name"], "href": item["href"]})
        links.extend({"name": c["name"], "href": c["href"]} for c in children)
    return links


def route_of(href: str) -> str:
    """The PAGES route a menu link opens. React Router matches paths case-insensitively (createPageUrl lowers
    them), and the brokerage pages read a missing ?category as מגורים, the PAGES route without a query."""
    path, _, query = href.partition("?")
    for route in PAGES:
        route_path, _, route_query = route.partition("?")
        if route_path.lower() == path.lower() and (
            route_query == query or (not route_query and query == "category=מגורים")
        ):
            return route
    raise AssertionError(f"the menu links to {href}, which PAGES does not map")


def entities_of(route: str) -> set[str]:
    """The entities a page lists (PAGES: each checked entity, and the one it is fetched from)."""
    return {name for name, want in PAGES[route].items()} | {
        want["from"] for want in PAGES[route].values() if "from" in want
    }


class _Oracle(BaseHTTPRequestHandler):
    """The test's own look at the database, and its hand on the WhatsApp sender, for what the Base44 surface
    does not show a user:
    - GET /state?entity=X&id=Y -> {"state": "live" | "trash" | "gone"}: where a deleted record went;
    - GET /matches?property_id=P&buyer_id=B -> that pair's MatchesBrokerage rows (the trash included) with their
      creator, score and reasons: who made a match;
    - POST /whatsapp/send-queued: the app's sender (the Sender class that the app's lifespan and
      scripts/worker.py run) stepped until nothing is queued or sending (tests/whatsapp_support.drain, as
      tests/test_whatsapp_live.py sends), then the fake provider's status webhooks are waited for."""

    fake: FakeWhatsApp

    def _answer(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        params = {key: values[0] for key, values in parse_qs(url.query).items()}
        if url.path == "/state":
            spec = get_spec(params["entity"])
            model = spec.model
            with get_sessionmaker()() as session:
                row = session.execute(select(model.deleted_at).where(model.id == params["id"], spec.scope())).first()
            self._answer(200, {"state": "gone" if row is None else ("live" if row[0] is None else "trash")})
        elif url.path == "/matches":
            model = get_spec("MatchesBrokerage").model
            with get_sessionmaker()() as session:
                rows = session.scalars(
                    select(model).where(
                        model.property_id == params["property_id"], model.buyer_id == params["buyer_id"]
                    )
                ).all()
                found = [
                    {"id": r.id, "created_by": r.created_by, "match_score": r.match_score, "reasons": r.reasons,
                     "status": r.status, "deleted": r.deleted_at is not None}
                    for r in rows
                ]  # fmt: skip
            self._answer(200, found)
        else:
            self._answer(404, {"error": url.path})

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/whatsapp/send-queued":
            self._answer(404, {"error": self.path})
            return
        try:
            sender = Sender(timing=FAST, rate=500.0)
            try:
                drain(sender)
            finally:
                sender.stop(timeout=15)
            # Each accepted message gets a "sent" and a "delivered" webhook back to the app.
            wait_for(lambda: len(self.fake.webhooks) >= 2 * len(self.fake.accepted), what="the status webhooks")
            self.fake.wait_idle()
            self._answer(200, {"accepted": len(self.fake.accepted)})
        except Exception as exc:  # the driver shows it
            self._answer(500, {"error": f"{type(exc).__name__}: {exc}"})

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


@contextmanager
def serving_the_office(frontend_dist: Path, playwright_core: Path, fake: FakeWhatsApp) -> Iterator[dict[str, Any]]:
    """The demo office loaded, its users, the oracle, the app (its WhatsApp at the fake provider) and the
    frontend served: what each driver run needs."""
    from seeds import load_demo

    print("\n" + load_demo.run())
    # A plain user (role "user") whose app_role is the frontend's "admin": the lists show their edit and delete
    # buttons only to app_role admin (PropertyBrokerageList.jsx, BuyersList.jsx); marketing and WhatsApp are
    # theirs too (MarketingLog's rules: admin and office_manager send).
    manager = make_user("Office.Manager@example.com", password=PASSWORD, app_role="admin", full_name="מנהלת המשרד")
    agent = make_user("Agent.Dana@example.com", password=PASSWORD, app_role="agent", full_name="דנה הסוכנת")
    for old in SCREENSHOT_DIR.glob("*.png"):
        old.unlink()  # a stale FAILED-*.png from an earlier run would mislead whoever looks
    # The WhatsApp settings of the app (its environment) and of this process (the sender the oracle steps):
    # the Meta provider, at the fake's address, with its credentials (as tests/whatsapp_support.py's `meta`).
    whatsapp = {name: str(value) for name, value in meta_settings(fake, read_timeout=10, connect_timeout=5).items()}
    oracle_handler = type("Oracle", (_Oracle,), {"fake": fake})
    oracle = ThreadingHTTPServer(("127.0.0.1", 0), oracle_handler)
    oracle_thread = threading.Thread(target=oracle.serve_forever, daemon=True)
    oracle_thread.start()
    try:
        with (
            pytest.MonkeyPatch.context() as patch,
            static_server(frontend_dist) as static,
            tempfile.TemporaryDirectory(prefix="crm-frontend-") as tmp,
        ):
            settings = get_settings()
            for name, value in whatsapp.items():
                patch.setattr(settings, name, type(getattr(settings, name))(value))
            frontend = f"http://127.0.0.1:{static.server_address[1]}"
            extra = {
                "CORS_ORIGINS": f"{os.environ['CORS_ORIGINS']},{frontend}",
                "FRONTEND_URL": frontend,
                "WHATSAPP_INAPP_SENDER": "false",  # the oracle steps the sender once the page has queued
                **{name.upper(): value for name, value in whatsapp.items()},
            }
            with uvicorn_process(extra) as server:
                static.RequestHandlerClass.server_origin = server  # type: ignore[attr-defined]
                fake.webhook_url = f"{server}/api/whatsapp/webhook"
                yield {
                    "frontend": frontend,
                    "server": server,
                    "oracle": f"http://127.0.0.1:{oracle.server_address[1]}",
                    "fake": fake,
                    "tmp": Path(tmp),
                    "users": {"manager": manager, "agent": agent},
                    "playwright": playwright_core,
                }
    finally:
        oracle.shutdown()
        oracle.server_close()
        oracle_thread.join(timeout=10)


def run_driver(office: dict[str, Any], name: str, user: dict[str, Any], limit: int, **parts: Any) -> dict[str, Any]:
    """One run of tests/frontend/drive.mjs signed in as `user`; `parts` (pages, forms, features, screenshots)
    say what it does. Its results, with its output and how long it took."""
    tmp: Path = office["tmp"]
    plan = {
        "frontend": office["frontend"],
        "server": office["server"],
        "oracle": office["oracle"],
        "appId": APP_ID,
        "email": user["email"],
        "password": user["password"],
        "chromium": CHROMIUM,
        "playwrightFrom": str(office["playwright"]),
        "screenshotDir": str(SCREENSHOT_DIR),
        "results": str(tmp / f"results-{name}.json"),
        **parts,
    }
    (tmp / f"plan-{name}.json").write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    started = time.monotonic()
    try:
        result = subprocess.run(
            [str(NODE), str(DRIVER)],
            cwd=ROOT,
            env={**os.environ, "PLAN": str(tmp / f"plan-{name}.json")},
            capture_output=True,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the browser driver ({name}) still ran after {limit}s:\n{exc.stdout!r}\n{exc.stderr!r}")
    output = f"{result.stdout}\n{result.stderr}".strip()
    results_file = Path(plan["results"])
    if not results_file.is_file():
        pytest.fail(f"the browser driver ({name}) wrote no results (exit {result.returncode}):\n{output}")
    answer: dict[str, Any] = json.loads(results_file.read_text(encoding="utf-8"))
    answer.update(output=output, seconds=time.monotonic() - started)
    print(
        f"\nbrowser driver ({name}): {answer['seconds']:.0f}s, last line: {output.splitlines()[-1] if output else ''}"
    )
    return answer


AGENT_LANDING = "/Dashboard"  # where signing in lands everyone; not in any menu


def _database_facts(answer: dict[str, Any], fake: FakeWhatsApp) -> dict[str, Any]:
    """What the database and the fake provider hold right after the office's run, about what it sent and
    matched (the ids it reported): tests/conftest.py empties the database after every test, so the tests judge
    this copy."""
    facts: dict[str, Any] = {
        "accepted": list(fake.accepted),
        "requests": len(fake.requests),
        "webhooks": [hook["status"] for hook in fake.webhooks],
    }
    match_model = get_spec("MatchesBrokerage").model
    with get_sessionmaker()() as session:
        if pairs := answer.get("matches"):
            for name in ("sale", "rental"):
                where = (
                    match_model.property_id == pairs[name]["property_id"],
                    match_model.buyer_id == pairs[name]["buyer_id"],
                )
                facts[f"{name}_matches"] = [
                    {"id": m.id, "created_by": m.created_by, "created_by_id": m.created_by_id,
                     "match_score": m.match_score, "reasons": m.reasons, "status": m.status,
                     "deleted": m.deleted_at is not None}
                    for m in session.scalars(select(match_model).where(*where))
                ]  # fmt: skip
            listing = session.get(get_spec("PropertyBrokerage").model, pairs["sale"]["property_id"])
            buyer = session.get(get_spec("BuyersBrokerage").model, pairs["sale"]["buyer_id"])
            facts["sale_deals"] = [getattr(listing, "listing_type", None), getattr(buyer, "request_category", None)]
        if sent := answer.get("whatsapp"):
            facts["logs"] = [
                {"lead_id": log.lead_id, "phone_e164": log.phone_e164, "message_content": log.message_content,
                 "status": log.status, "provider_message_id": log.provider_message_id,
                 "error_code": log.error_code, "sent_date": log.sent_date, "delivered_date": log.delivered_date,
                 "failed_date": log.failed_date}
                for log in session.scalars(select(MarketingLog).where(MarketingLog.batch_id == sent["batch_id"]))
            ]  # fmt: skip
            ids = [*sent["leads"], sent["skipped"]]
            facts["leads"] = {
                lead.id: {"phone_number": lead.phone_number, "last_contacted": lead.last_contacted}
                for lead in session.scalars(select(MarketingLead).where(MarketingLead.id.in_(ids)))
            }
            batch = session.get(WhatsAppBatch, sent["batch_id"])
            facts["batch"] = batch and {"status": batch.status, "queued": batch.queued, "skipped": batch.skipped}
    return facts


@pytest.fixture(scope="module")
def runs(frontend_dist: Path, playwright_core: Path) -> dict[str, dict[str, Any]]:
    """Both driver runs against one app: the office manager's (every page, the forms, the connected features,
    screenshots of everything) and then an agent's (the landing dashboard and each page of the agent's menu as
    Layout.jsx gives it, opened by the menu's own links; no forms, no features, phone-sized screenshots)."""
    fake = FakeWhatsApp().start()
    try:
        with serving_the_office(frontend_dist, playwright_core, fake) as office:
            office_run = run_driver(
                office,
                "office",
                office["users"]["manager"],
                DRIVER_LIMIT,
                pages=[{"route": route, "slug": slug(route), "shows": shows} for route, shows in PAGES.items()],
                forms=FORMS,
                features=["whatsapp", "matches"],
            )
            office_run["facts"] = _database_facts(office_run, fake)
            links = [AGENT_LANDING] + [link["href"] for link in menu_of("agent")]
            agent_run = run_driver(
                office,
                "agent",
                office["users"]["agent"],
                AGENT_DRIVER_LIMIT,
                pages=[{"route": h, "slug": f"agent-{slug(h)}", "shows": PAGES[route_of(h)]} for h in links],
                screenshots="phone",
            )
    finally:
        fake.release()
        fake.wait_idle()
        fake.stop()
    return {"office": office_run, "agent": agent_run}


@pytest.fixture(scope="module")
def driven(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return runs["office"]


@pytest.fixture(scope="module")
def driven_agent(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return runs["agent"]


def _failures(driven: dict[str, Any], kind: str, name: str = "") -> list[str]:
    """The failed checks of a kind (and whose name starts with `name`), each with its reason."""
    return [
        f"{r['name']}: {r['why']}"
        for r in driven["results"]
        if r["kind"] == kind and r["name"].startswith(name) and not r["ok"]
    ]


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


def test_the_menu_is_the_one_layout_gives_the_role(driven: dict[str, Any]) -> None:
    """The office manager (app_role admin) gets every link of Layout.jsx's navigationConfig."""
    assert _failures(driven, "menu") == [], driven["output"]
    assert driven["menu"] == menu_of("admin")
    assert len(menu_of("admin")) == sum(1 + len(item.get("children") or []) for item in navigation_config())


def test_the_match_button_shows_a_sale_match_made_by_the_server(driven: dict[str, Any]) -> None:
    """On /MatchesBrokerage the button ends with a match of a buyer (קנייה) to a listing for sale (מכירה) on the
    page: the driver saw it there with its stored score, saw the page create only the rental match itself, and
    found no match for either pair before the click. Here, in the database: the match it showed is the only one
    of that pair, live, made by the server's matching (no creator, a score and the reasons), while the rental
    pair's match is the page's (its creator is the signed-in user)."""
    assert _failures(driven, "feature", "MatchesBrokerage:") == [], driven["output"]
    facts = driven["facts"]
    assert facts["sale_deals"] == ["מכירה", "קנייה"]
    [sale] = facts["sale_matches"]
    assert sale["id"] == driven["matches"]["sale_match"]["id"] and not sale["deleted"]
    assert (sale["created_by"], sale["created_by_id"]) == (None, None), "a person made it, not the server"
    assert isinstance(sale["match_score"], int) and 0 < sale["match_score"] <= 100
    assert sale["reasons"] and all(isinstance(reason, str) for reason in sale["reasons"])
    assert sale["status"] == "הותאם"  # the pairing's new status
    assert f"ציון התאמה: {sale['match_score']}%" in driven["matches"]["shown"]
    [rental] = facts["rental_matches"]
    assert (rental["created_by"] or "").lower() == "office.manager@example.com"


def _e164_digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return "972" + digits[1:] if digits.startswith("0") else digits


def test_sending_from_the_marketing_page_reaches_the_provider_once_per_lead(driven: dict[str, Any]) -> None:
    """The page queued one message per picked lead (the lead with no real phone skipped); the app's sender
    sent each once to the fake provider, to that lead's phone, with the text the log holds; the provider's
    webhooks made every log `delivered` with the provider's message id; the batch is finished; each picked lead
    (and only those) has last_contacted, which the list shows (checked by the driver)."""
    assert _failures(driven, "feature", "MarketingLeads:") == [], driven["output"]
    sent, facts = driven["whatsapp"], driven["facts"]
    logs, leads, accepted = facts["logs"], facts["leads"], facts["accepted"]
    assert len(sent["leads"]) == 3
    assert sorted(log["lead_id"] for log in logs) == sorted(sent["leads"])
    phones = sorted(_e164_digits(leads[lead]["phone_number"]) for lead in sent["leads"])
    assert sorted(message["to"] for message in accepted) == phones, "not one message per lead, to its phone"
    assert facts["requests"] == len(accepted), "a call the provider refused, or one made twice"
    by_recipient = {message["to"]: message for message in accepted}
    for log in logs:
        message = by_recipient[_e164_digits(leads[log["lead_id"]]["phone_number"])]
        assert message["body"]["type"] == "text" and message["body"]["text"]["body"] == log["message_content"]
        assert (log["status"], log["provider_message_id"], log["error_code"]) == ("delivered", message["id"], None)
        assert log["sent_date"] and log["delivered_date"] and not log["failed_date"]
    assert facts["webhooks"] and set(facts["webhooks"]) == {200}
    assert facts["batch"] == {"status": "finished", "queued": 3, "skipped": 1}
    assert all(leads[lead]["last_contacted"] for lead in sent["leads"])
    assert not leads[sent["skipped"]]["last_contacted"]


def test_the_agent_signs_in_and_reads_the_menu(driven_agent: dict[str, Any]) -> None:
    assert _failures(driven_agent, "login") == [], driven_agent["output"]
    assert _failures(driven_agent, "menu") == [], driven_agent["output"]


def test_the_agents_menu_is_the_one_layout_gives_an_agent(driven_agent: dict[str, Any]) -> None:
    """Layout.jsx's own role filter, not a hand list; it takes pages away (the agent's is not the admin's)."""
    assert driven_agent["menu"] == menu_of("agent")
    assert len(menu_of("agent")) < len(menu_of("admin"))


def test_the_agents_menu_offers_no_page_of_an_entity_agents_may_not_read(driven_agent: dict[str, Any]) -> None:
    """What the server says the agent may read (GET /api/auth/permissions, signed in as the agent) against the
    entities each page of the menu lists (PAGES). A list of an entity one may not read answers 200 with no
    records, so this, and the pages' records below, is what catches a page the agent is offered but not let
    read."""
    unreadable = {entity for entity, ops in driven_agent["permissions"].items() if ops["read"] is False}
    assert {"MarketingLead", "MarketingLog", "Project", "ProjectLead"} <= unreadable
    barred = {route for route in PAGES if entities_of(route) & unreadable}
    assert {"/MarketingLeads", "/Projects", "/ProjectLeads"} <= barred
    offered = {route_of(link["href"]) for link in driven_agent["menu"]}
    assert offered & barred == set(), {route: sorted(entities_of(route) & unreadable) for route in offered & barred}
    assert barred & {route_of(link["href"]) for link in menu_of("admin")}  # the admin's menu has such pages


def test_every_agent_page_loads_with_every_request_answered_2xx(driven_agent: dict[str, Any]) -> None:
    """The landing dashboard and each menu page: every request to the app and the frontend answered 2xx (no
    401, 403, 404 or 5xx), no page error, no console error."""
    assert len(_names(driven_agent, "load")) == 1 + len(menu_of("agent")), driven_agent["output"]
    failures = _failures(driven_agent, "load")
    assert failures == [], "\n".join(failures)


def test_every_agent_page_shows_its_records(driven_agent: dict[str, Any]) -> None:
    """Read with the agent's own token: each entity those pages list has records the agent may read, and one
    of them is on the page."""
    routes = [AGENT_LANDING] + [route_of(link["href"]) for link in menu_of("agent")]
    assert len(_names(driven_agent, "shows")) == sum(len(PAGES[route]) for route in routes), driven_agent["output"]
    failures = _failures(driven_agent, "shows")
    assert failures == [], f"{len(failures)} page/entity pairs not shown:\n" + "\n".join(failures)
