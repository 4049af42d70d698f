"""Declared date and datetime fields take one spelling each, on every write path and the imports.

The issue: declared date fields accepted `45658` (a spreadsheet's day number), `05/03/2025` (which day?) and
`not a date` on import. They are stored as the text sent and compared as text, so anything but ISO-8601
sorts and filters wrongly for ever after.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import assert_error

B44 = "/api/apps/a1/entities"
BAD_DATES = ["45658", "05/03/2025", "not a date", "2025-02-30", "2025-3-5", "2025-03-05T10:00", " 2025-03-05"]
GOOD_DATES = ["2025-03-05", "2024-02-29"]
BAD_DATETIMES = ["05/03/2025 10:00", "2025-03-05 10:00", "yesterday", "2025-03-05T25:00", "2025-03-05T10", "45658.5"]
GOOD_DATETIMES = ["2025-03-05", "2025-03-05T14:30", "2025-03-05T14:30:59", "2025-03-06T14:00:00.000Z",
                  "2025-12-28T06:45:11.486000", "2025-03-05T14:30+02:00"]  # fmt: skip


def _refused(response: Any, field: str) -> None:
    body = assert_error(response, 422, "validation_error")
    assert [e["loc"][-1] for e in body["detail"]] == [field], body
    assert "YYYY-MM-DD" in body["detail"][0]["msg"]


@pytest.mark.parametrize("value", BAD_DATES)
def test_a_date_field_refuses_anything_but_a_calendar_day(client: Any, agent: dict[str, Any], value: str) -> None:
    h = agent["headers"]
    task = client.post("/api/tasks", headers=h, json={"title": "t", "due_date": "2025-01-01"}).json()
    _refused(client.post("/api/tasks", headers=h, json={"title": "t", "due_date": value}), "due_date")
    _refused(client.patch(f"/api/tasks/{task['id']}", headers=h, json={"due_date": value}), "due_date")
    _refused(client.post(f"{B44}/Task", headers=h, json={"title": "t", "due_date": value}), "due_date")
    _refused(client.post(f"{B44}/Task/bulk", headers=h, json=[{"title": "t", "due_date": value}]), "due_date")
    _refused(client.put(f"{B44}/Task/bulk", headers=h, json=[{"id": task["id"], "due_date": value}]), "due_date")
    many = client.patch(f"{B44}/Task/update-many", headers=h, json={"query": {}, "data": {"$set": {"due_date": value}}})
    assert many.status_code == 422
    assert [t["due_date"] for t in client.get("/api/tasks", headers=h).json()] == ["2025-01-01"]


@pytest.mark.parametrize("value", BAD_DATETIMES)
def test_a_datetime_field_refuses_anything_but_iso_8601(client: Any, agent: dict[str, Any], value: str) -> None:
    body = assert_error(client.post("/api/meetings", headers=agent["headers"], json={"start_date": value}), 422,
                        "validation_error")  # fmt: skip
    assert [e["loc"][-1] for e in body["detail"]] == ["start_date"] and "YYYY-MM-DDTHH:MM" in body["detail"][0]["msg"]


def test_good_values_and_empty_ones_pass(client: Any, agent: dict[str, Any]) -> None:
    h = agent["headers"]
    for value in GOOD_DATES:
        assert client.post("/api/tasks", headers=h, json={"title": "t", "due_date": value}).status_code == 201, value
    for value in GOOD_DATETIMES:
        assert client.post("/api/meetings", headers=h, json={"start_date": value}).status_code == 201, value
    assert client.post("/api/tasks", headers=h, json={"title": "t", "due_date": ""}).json()["due_date"] is None
    done = client.patch(
        f"{B44}/Task/update-many", headers=h, json={"query": {}, "data": {"$currentDate": {"due_date": True}}}
    )
    assert done.status_code == 200
    assert all(len(t["due_date"]) == 10 for t in client.get("/api/tasks", headers=h).json())


def test_imports_reject_the_row_and_say_why(client: Any, admin: dict[str, Any], agent: dict[str, Any]) -> None:
    csv = "title,due_date,id\nok,2025-03-05,t1\nserial,45658,t2\nslashes,05/03/2025,t3\nwords,not a date,t4\n"
    report = client.post("/api/admin/import/Task", headers=admin["headers"],
                         files={"file": ("Task_export.csv", csv.encode())}).json()  # fmt: skip
    assert report["created"] == 1 and report["rejected"] == 3, report
    for rejection in report["rejections"]:
        assert rejection["reason"].startswith("due_date: expected a date as YYYY-MM-DD"), rejection
    rows = json.dumps([{"start_date": "05/03/2025 10:00"}]).encode()
    answer = client.post(f"{B44}/Meeting/import", headers=agent["headers"], files={"file": ("Meeting.json", rows)})
    assert answer.json()["status"] == "error" and "start_date" in answer.json()["details"], answer.json()
