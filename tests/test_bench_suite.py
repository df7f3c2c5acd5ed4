"""The pure parts of bench/suite.py: the regression check, ratios, metadata, the growth table
and the commands it records. No PostgreSQL, no benches run."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import suite  # noqa: E402
from suite import Figure, regressions, worse_by  # noqa: E402


def _recorded(name: str, value: float, unit: str, better: str) -> dict[str, object]:
    return {"name": name, "value": value, "unit": unit, "better": better}


def test_worse_by_knows_the_direction() -> None:
    assert worse_by(10.0, 13.0, "lower") == 0.3  # seconds up 30%: worse
    assert worse_by(10.0, 7.0, "lower") == -0.3  # seconds down: better
    assert worse_by(1000.0, 700.0, "higher") == 0.3  # events/s down 30%: worse
    assert worse_by(1000.0, 1300.0, "higher") == -0.3
    assert worse_by(0.0, 5.0, "lower") == 0.0


def test_a_drop_of_more_than_20_percent_is_reported_and_not_less() -> None:
    previous = [
        _recorded("import", 10.0, "s", "lower"),
        _recorded("relay", 1000.0, "events/s", "higher"),
        _recorded("worklist", 20.0, "ms", "lower"),
        _recorded("gone", 1.0, "s", "lower"),
    ]
    current = [
        Figure("import", 12.5, "s", "lower"),  # 25% slower: reported
        Figure("relay", 790.0, "events/s", "higher"),  # 21% fewer: reported
        Figure("worklist", 24.0, "ms", "lower"),  # exactly 20%: not reported
        Figure("new", 99.0, "s", "lower"),  # nothing to compare with
    ]
    found = regressions(previous, current)
    assert found == [
        {
            "name": "import",
            "previous": 10.0,
            "current": 12.5,
            "unit": "s",
            "better": "lower",
            "worse_by_percent": 25.0,
        },
        {
            "name": "relay",
            "previous": 1000.0,
            "current": 790.0,
            "unit": "events/s",
            "better": "higher",
            "worse_by_percent": 21.0,
        },
    ]


def test_a_figure_whose_unit_or_direction_changed_is_not_compared() -> None:
    previous = [_recorded("x", 1.0, "s", "lower"), _recorded("y", 100.0, "rps", "higher")]
    current = [Figure("x", 5000.0, "ms", "lower"), Figure("y", 10.0, "rps", "lower")]
    assert regressions(previous, current) == []


def test_the_ratio_is_the_cost_relative_to_the_baseline() -> None:
    assert Figure("t", 3.0, "s", "lower", baseline=1.5).ratio == 2.0
    assert Figure("r", 250.0, "rps", "higher", baseline=1000.0).ratio == 4.0
    assert Figure("n", 3.0, "s", "lower").ratio is None


def test_metadata_names_the_machine_time_commit_and_sizes() -> None:
    now = datetime(2026, 12, 5, 9, 30, 1, tzinfo=UTC)
    found = suite.metadata("reduced", {"growth_children": [1000, 10000]}, now)
    assert found["size"] == "reduced"
    assert found["sizes"] == {"growth_children": [1000, 10000]}
    assert found["date"] == "2026-12-05T09:30:01Z"
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?|unknown", found["git_commit"])
    assert set(found["machine"]) == {"platform", "machine", "cores", "python"}
    assert found["machine"]["cores"] >= 1


def test_git_commit_says_dirty_when_the_tree_has_changes(tmp_path: Path) -> None:
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a").write_text("1")
    git("add", "a")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "a")
    clean = suite.git_commit(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{40}", clean)
    (tmp_path / "a").write_text("2")
    assert suite.git_commit(tmp_path) == clean + "-dirty"


def test_growth_gives_each_step_ratio() -> None:
    table = suite.growth({"import (s)": {10_000: 12.0, 1_000: 1.5, 100_000: 150.0}})
    assert table == [
        {
            "figure": "import (s)",
            "values": {"1000": 1.5, "10000": 12.0, "100000": 150.0},
            "steps": [8.0, 12.5],
        }
    ]


def test_the_recorded_command_hides_the_url_and_the_output_path() -> None:
    url = "postgresql://postgres@127.0.0.1:5999/postgres"
    argv = [sys.executable, str(BENCH / "import_903_bench.py"), "--postgres-url", url]
    argv += ["--children", "1000", "--json-out", "/tmp/x.json"]
    assert suite._display(argv, url) == (
        "uv run --frozen python bench/import_903_bench.py "
        "--postgres-url $IRO_BENCH_POSTGRES_URL --children 1000"
    )


def test_each_level_plans_every_bench_at_its_sizes(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:5999/postgres"
    reduced = suite.plan("reduced", url, tmp_path, wrk=True)
    assert list(reduced) == ["schedule", "import_903", "worklist", "relay", "scorecard"]
    assert [r.size for r in reduced["import_903"][0]] == [1_000, 10_000]
    wrk = [r.argv[r.argv.index("--wrk-seconds") + 1] for r in reduced["worklist"][0]]
    assert wrk == ["0", "5"]  # the concurrent mode at the largest size only
    full = suite.plan("full", url, tmp_path, wrk=False)
    assert [r.size for r in full["scorecard"][0]] == [1_000, 10_000, 100_000]
    assert "100000" in full["schedule"][0][0].argv
    assert [r.argv[r.argv.index("--wrk-seconds") + 1] for r in full["worklist"][0]] == ["0"] * 3
