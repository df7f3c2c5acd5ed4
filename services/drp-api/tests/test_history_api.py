"""A dispute's history: complete (who, when, what), unchangeable, and printable."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError

from drp_api.models import DisputeAction, HistoryIsAppendOnly
from iro_kit.db import Database, create_engine

from .conftest import CHILD, IRO, MANAGER, PERFORMANCE, V1, Disputes
from .problems import assert_problem


@pytest.fixture
def lived(disputes: Disputes) -> dict:
    dispute = disputes.raise_(raised_on="2017-04-03", asked={"name": "Jo Bloggs"})
    disputes.act(
        dispute["id"],
        "respond",
        "2017-04-05",
        responder={"name": "Jo Bloggs", "role": "Team manager"},
        response="<b>Meeting</b> booked & agreed.",
    )
    disputes.act(dispute["id"], "escalate", "2017-04-07", asked={"name": "Pat Singh"})
    disputes.act(dispute["id"], "resolve", "2017-04-20", summary='=HYPERLINK("x") plan agreed')
    return dispute


def test_the_history_holds_every_action_with_who_when_and_what(
    disputes: Disputes, lived: dict
) -> None:
    history = disputes.history(lived["id"])

    assert [(e["version"], e["action"], e["happened_on"]) for e in history] == [
        (1, "raise", "2017-04-03"),
        (2, "respond", "2017-04-05"),
        (3, "escalate", "2017-04-07"),
        (4, "resolve", "2017-04-20"),
    ]
    assert [(e["recorded_by"], e["recorded_by_name"]) for e in history] == [
        ("iro-1", "Alex Morgan"),
        ("manager-1", "Pat Singh"),
        ("manager-1", "Pat Singh"),
        ("manager-1", "Pat Singh"),
    ]
    assert all(e["recorded_at"].endswith("Z") for e in history)
    assert [(e["stage"], e["status"], e["stage_due_by"]) for e in history] == [
        (1, "open", "2017-04-10"),
        (1, "open", "2017-04-10"),
        (2, "open", "2017-04-18"),
        (2, "resolved", "2017-04-18"),
    ]
    assert history[0]["details"]["themes"] == ["drift_and_delay", "permanency"]
    assert history[0]["details"]["child_id"] == CHILD["id"]
    assert history[1]["details"] == {
        "responder": {"name": "Jo Bloggs", "role": "Team manager"},
        "response": "<b>Meeting</b> booked & agreed.",
    }
    assert history[1]["description"] == (
        "Response from Jo Bloggs (Team manager): <b>Meeting</b> booked & agreed."
    )
    assert history[2]["description"] == "Escalated to stage 2, Service manager. Asked: Pat Singh."
    assert history[3]["details"]["outcomes"] == ["care_plan_improved"]


def test_earlier_entries_never_change_as_the_dispute_moves_on(
    disputes: Disputes, lived: dict
) -> None:
    before = disputes.history(lived["id"])
    disputes.act(lived["id"], "reopen", "2017-04-21", reason="Plan not delivered.")
    disputes.post(lived["id"], "escalate", "2017-04-01")  # refused: before the previous action
    after = disputes.history(lived["id"])
    assert after[: len(before)] == before
    assert [e["action"] for e in after[len(before) :]] == ["reopen"]


def test_no_route_changes_or_removes_history(api: TestClient, lived: dict) -> None:
    path = f"{V1}/disputes/{lived['id']}"
    for method in ("PUT", "PATCH", "DELETE"):
        assert_problem(
            api.request(method, f"{path}/history", headers=MANAGER), 405, "method-not-allowed"
        )
        assert_problem(api.request(method, path, headers=MANAGER), 405, "method-not-allowed")


async def _change_through_the_mapper(database_url: str, dispute_id: str, remove: bool) -> None:
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            action = await session.scalar(
                select(DisputeAction).where(DisputeAction.dispute_id == uuid.UUID(dispute_id))
            )
            assert action is not None
            if remove:
                await session.delete(action)
            else:
                action.happened_on = date(2016, 1, 1)
            await session.flush()
    finally:
        await database.dispose()


@pytest.mark.parametrize("remove", [False, True], ids=["update", "delete"])
def test_the_mapper_refuses_to_change_or_delete_an_action(
    database_url: str, disputes: Disputes, lived: dict, remove: bool
) -> None:
    with pytest.raises(HistoryIsAppendOnly):
        asyncio.run(_change_through_the_mapper(database_url, lived["id"], remove))
    assert len(disputes.history(lived["id"])) == 4


async def _execute(database_url: str, statement: object) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(statement)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        update(DisputeAction).values(happened_on=date(2016, 1, 1)),
        delete(DisputeAction),
        text("UPDATE dispute_action SET action = 'withdraw'"),
        text("DELETE FROM dispute_action"),
    ],
    ids=["orm-update", "orm-delete", "sql-update", "sql-delete"],
)
def test_the_database_refuses_any_sql_that_changes_or_deletes_history(
    database_url: str, disputes: Disputes, lived: dict, statement: object
) -> None:
    with pytest.raises(IntegrityError, match="append-only"):
        asyncio.run(_execute(database_url, statement))
    assert [e["version"] for e in disputes.history(lived["id"])] == [1, 2, 3, 4]


def _today() -> str:
    return datetime.now(ZoneInfo("Europe/London")).date().isoformat()


def test_the_history_prints_as_an_html_timeline(api: TestClient, lived: dict) -> None:
    response = api.get(
        f"{V1}/disputes/{lived['id']}/history",
        headers={**PERFORMANCE, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    filename = f"DRP-2017-0001-history-{_today()}.html"
    assert response.headers["content-disposition"] == f'inline; filename="{filename}"'
    page = response.text
    assert "<h1>DRP-2017-0001: Sam Taylor (LCS-100234)</h1>" in page
    assert "&lt;b&gt;Meeting&lt;/b&gt; booked &amp; agreed." in page
    assert "<b>Meeting" not in page
    assert page.count("<tr>") == 5  # the header and four actions


def test_the_history_as_csv_and_xlsx_has_one_row_per_action(api: TestClient, lived: dict) -> None:
    path = f"{V1}/disputes/{lived['id']}/history"
    csv_response = api.get(path, params={"format": "csv"}, headers=IRO)
    assert csv_response.headers["content-type"] == "text/csv; charset=utf-8"
    assert f"DRP-2017-0001-history-{_today()}.csv" in csv_response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(csv_response.text)))
    assert rows[0][:3] == ["Date", "Action", "Stage"]
    assert [row[0] for row in rows[1:]] == ["2017-04-03", "2017-04-05", "2017-04-07", "2017-04-20"]
    assert rows[4][6].startswith("Resolved (care plan improved): =HYPERLINK")

    xlsx = api.get(path, params={"format": "xlsx"}, headers=IRO)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 5
    assert sheet["A2"].is_date and sheet["A2"].value.date() == date(2017, 4, 3)
