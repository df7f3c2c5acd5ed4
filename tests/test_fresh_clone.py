"""`make run` from a fresh clone serves the three services (README's first command), with the
demo authority in them within a minute.

It clones what is committed, so it checks what a newcomer gets; uv's cache keeps it quick.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from iro_kit.testing import bearer, skip_unless_available

from .conftest import SERVICES, free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]


def _bare_path() -> str:
    """A PATH as on a fresh machine: the system's Python and pip, no uv, no project venv.

    Debian's /usr/bin/python3 is the truest stand-in (it also refuses plain pip installs,
    PEP 668); elsewhere, the current PATH without this checkout's folders.
    """
    system = Path("/usr/bin/python3")
    if system.exists():
        version = subprocess.run(
            [str(system), "-c", "import sys; print(sys.version_info >= (3, 11))"],
            capture_output=True,
            text=True,
        )
        if version.stdout.strip() == "True":
            return "/usr/bin:/bin"
    return os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )


def _demo_within_a_minute(base: str, log: Path) -> None:
    """The demo authority (iro_local.demo) fills today's worklists and scorecard within a
    minute of the server answering; its IROs are the generator's, every one."""
    from iro_local import demo
    from iro_synthetic.model import generate

    served = time.monotonic()
    today = date.today().isoformat()
    authority = generate(demo.SEED, demo.CHILDREN, demo.YEARS, date.today())
    with httpx.Client(base_url=base, timeout=30) as client:
        while True:
            due = client.get(
                "/reviews/v1/worklists/reviews-due",
                params={"as_at": today, "count": "true"},
                headers=bearer("iro_manager"),
            )
            card = client.get(
                "/scorecard/v1/scorecard", params={"as_at": today}, headers=bearer("performance")
            )
            assert due.status_code == 200 and card.status_code == 200, (due.text, card.text)
            kpis = {k["code"]: k for k in card.json()["columns"][0]["kpis"]}
            if due.json()["total"] >= 20 and kpis["care_plan_up_to_date"]["denominator"] >= 100:
                break
            assert time.monotonic() - served < 60, (
                due.json()["total"],
                kpis,
                log.read_text()[-2000:],
            )
            time.sleep(1)
        iros = client.get("/reviews/v1/iros", params={"limit": 200}, headers=bearer("iro_manager"))
        assert sorted(i["email"] for i in iros.json()["items"]) == sorted(
            i.email for i in authority.iros
        )
        children = client.get(
            "/reviews/v1/children", params={"limit": 200}, headers=bearer("iro_manager")
        ).json()["items"]
        made = {c.external_id: c for c in authority.children}
        for child in children:  # loaded as generated
            assert child["date_of_birth"] == made[child["external_id"]].date_of_birth.isoformat()
    text = log.read_text()
    assert "demo: loading a DEMO authority" in text and "Nothing in it is real." in text
    assert "IRO_DEMO=off make run" in text


def test_make_run_from_a_fresh_clone_serves_health_and_docs(tmp_path: Path) -> None:
    for tool in ("git", "make"):
        if shutil.which(tool) is None:
            skip_unless_available(tool, f"needs {tool}")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout with commits")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    env["PATH"] = _bare_path()
    for info in SERVICES:  # the clone's own var/, not a test's settings
        env.pop(f"{info.env_prefix}DATABASE_URL", None)
    port = free_port()
    log = tmp_path / "make-run.log"
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=clone,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(f"{base}/reviews/health/live", timeout=240)
        except TimeoutError:
            pytest.fail("make run did not serve:\n" + log.read_text()[-3000:])
        for info in SERVICES:
            assert httpx.get(f"{base}{info.prefix}/health/live").status_code == 200
            assert httpx.get(f"{base}{info.prefix}/health/ready").status_code == 200
            assert httpx.get(f"{base}{info.prefix}/docs").status_code == 200
        assert sorted(p.name for p in (clone / "var").glob("*.db")) == [
            "drp.db",
            "reviews.db",
            "scorecard.db",
        ]
        _demo_within_a_minute(base, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
