"""The annual report's pack: the same numbers as JSON, as one XLSX workbook and as HTML."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from iro_kit.testing import assert_problem, skip_unless_available

from .conftest import PERFORMANCE, SUPPORT, V1, Producer, dispute_state
from .test_scorecard_api import IRO_X, LATER, A, load_cohort

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _with_a_dispute(producer: Producer) -> None:
    load_cohort(producer)
    state = dispute_state(
        uuid.uuid4(),
        A,
        IRO_X,
        "2016-12-15",
        "2017-01-17",
        [
            ("raise", "2016-12-15", 1, "open", "2016-12-22"),
            ("resolve", "2017-01-10", 1, "resolved", None),
        ],
        ["contact", "placement"],
    )
    producer.send("dispute.changed", state["id"], state)


def test_the_pack_holds_the_scorecard_beside_last_year_and_every_table(
    scorecard: TestClient, producer: Producer
) -> None:
    _with_a_dispute(producer)
    pack = scorecard.get(f"{V1}/annual-report", params={"year": 2016}, headers=PERFORMANCE)
    assert pack.status_code == 200, pack.text
    body = pack.json()
    assert (body["from"], body["to"]) == ("2016-04-01", "2017-03-31")
    columns = body["scorecard"]["columns"]
    assert [(c["from"], c["as_at"]) for c in columns] == [
        ("2015-04-01", "2016-03-31"),
        ("2016-04-01", "2017-03-31"),
    ]
    same_card = scorecard.get(
        f"{V1}/scorecard", params={"as_at": ["2016-03-31", LATER]}, headers=PERFORMANCE
    ).json()
    assert body["scorecard"] == same_card
    for name, path in (
        ("caseload", "caseload"),
        ("late_reviews", "late-reviews"),
        ("escalations", "escalations"),
        ("tools", "tools"),
    ):
        table = scorecard.get(f"{V1}/tables/{path}", params={"as_at": LATER}, headers=PERFORMANCE)
        assert body[name] == table.json(), name
    assert [p["as_at"] for p in body["trend"]][::11] == ["2016-04-30", "2017-03-31"]
    chart = scorecard.get(body["charts"]["disputes_by_theme"], headers=PERFORMANCE)
    assert chart.headers["content-type"].startswith("image/svg+xml")


def test_the_workbook_has_a_sheet_per_table_the_charts_and_the_same_numbers(
    scorecard: TestClient, producer: Producer
) -> None:
    _with_a_dispute(producer)
    body = scorecard.get(f"{V1}/annual-report", params={"year": 2016}, headers=PERFORMANCE).json()
    xlsx = scorecard.get(
        f"{V1}/annual-report", params={"year": 2016}, headers={**PERFORMANCE, "Accept": XLSX}
    )
    assert xlsx.status_code == 200, xlsx.text
    assert 'filename="iro-annual-report-2016-17.xlsx"' in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == [
        "Scorecard",
        "Caseload",
        "Late reviews",
        "Escalations",
        "Use of tools",
        "Chart - Disputes by theme",
        "Chart - Reviews in timescale",
    ]
    assert all(len(book[name]._images) == 1 for name in book.sheetnames[-2:])
    rows = {r[1]: r for r in book["Scorecard"].iter_rows(min_row=2, values_only=True)}
    for column, kpis in zip((0, 1), (c["kpis"] for c in body["scorecard"]["columns"]), strict=True):
        for kpi in kpis:
            numerator, denominator, value = rows[kpi["code"]][2 + 6 * column : 5 + 6 * column]
            assert (numerator, denominator, value) == (
                kpi["numerator"],
                kpi["denominator"],
                kpi["value"],
            ), kpi["code"]
    escalations = {
        (r[0], r[1]): r[2] for r in book["Escalations"].iter_rows(min_row=2, values_only=True)
    }
    assert escalations["By theme", "contact"] == body["escalations"]["by_theme"]["contact"]
    assert escalations["Raised in the window", None] == body["escalations"]["raised"]


def test_the_pack_needs_a_reading_role_and_a_year_the_calendar_covers(
    scorecard: TestClient,
) -> None:
    assert_problem(
        scorecard.get(f"{V1}/annual-report", params={"year": 2016}, headers=SUPPORT),
        403,
        "forbidden",
    )
    assert_problem(
        scorecard.get(f"{V1}/annual-report", params={"year": 9999}, headers=PERFORMANCE),
        422,
        "validation-error",
        "/year",
    )


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        skip_unless_available("chromium", "needs Debian's chromium (apt-get install chromium)")
    return found  # type: ignore[return-value]


def _headless(chromium: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "HOME": os.environ.get("TMPDIR", "/tmp")},
    )


def test_the_printable_page_renders_in_chromium_with_every_table_and_chart(
    scorecard: TestClient, producer: Producer, tmp_path: Path
) -> None:
    chromium = _chromium()
    _with_a_dispute(producer)
    page = scorecard.get(
        f"{V1}/annual-report", params={"year": 2016, "format": "html"}, headers=PERFORMANCE
    )
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    path = tmp_path / "report.html"
    path.write_bytes(page.content)
    dom = _headless(chromium, "--dump-dom", path.as_uri()).stdout
    for heading in (
        "Scorecard",
        "Caseload",
        "Late reviews",
        "Escalations",
        "Use of tools",
        "Disputes by theme",
        "Reviews in timescale",
    ):
        assert f"<h2>{heading}</h2>" in dom, heading
    assert dom.count("<table>") == 5
    assert dom.count("<svg") == 2
    assert "% CLA at end of period with an up to date Care Plan" in dom
    shot = tmp_path / "report.png"
    _headless(chromium, f"--screenshot={shot}", "--window-size=1200,2400", path.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
