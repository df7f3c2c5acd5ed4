"""The contract a front end builds on: the three committed OpenAPI snapshots.

- each snapshot is what its service serves (`make openapi` rewrites them);
- no change to a snapshot, committed or about to be, breaks a client built from the one
  before it unless the route's version changes (iro_kit.contract.breaking_changes);
- operation ids are unique across the three services, and a component that two services both
  define (Problem, the Page envelopes) has one shape, so one client serves all three.
"""

from __future__ import annotations

import collections
import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from iro_kit.contract import breaking_changes
from iro_local import openapi

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def specs() -> dict[str, dict[str, Any]]:
    return {name: app.openapi() for name, app in openapi.service_apps().items()}


def test_each_snapshot_is_what_the_service_serves() -> None:
    stale = [str(path.relative_to(ROOT)) for path in openapi.stale()]
    assert stale == [], (
        f"{stale} differ from the code: run `make openapi` and commit them with the change"
    )


def test_operation_ids_are_unique_across_the_three_services(specs) -> None:
    ids = collections.Counter(
        operation["operationId"]
        for spec in specs.values()
        for item in spec["paths"].values()
        for operation in item.values()
    )
    assert [op for op, count in ids.items() if count > 1] == []
    for name, spec in specs.items():
        for item in spec["paths"].values():
            for operation in item.values():
                assert operation["operationId"].startswith(f"{name}-"), operation["operationId"]


def test_a_component_two_services_define_has_one_shape(specs) -> None:
    shapes: dict[str, dict[str, str]] = collections.defaultdict(dict)
    for name, spec in specs.items():
        for component, schema in spec["components"]["schemas"].items():
            shapes[component][name] = json.dumps(schema, sort_keys=True)
    differing = {c: sorted(s) for c, s in shapes.items() if len(set(s.values())) > 1}
    assert differing == {}
    # The kit's own are in every service, under one name.
    for component in ("Problem", "AuditRecordReadPage", "DeadLetterPage"):
        assert set(shapes[component]) == set(specs), component


def test_component_names_need_no_escaping_in_a_client(specs) -> None:
    for spec in specs.values():
        for component in spec["components"]["schemas"]:
            assert component.isidentifier() and "__" not in component, component


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def _history(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """Each committed version of a snapshot, oldest first, ending with the working tree's."""
    relative = path.relative_to(ROOT).as_posix()
    # Main's own line of commits: a merged branch's commits are not one contract after another.
    commits = _git("log", "--first-parent", "--format=%H", "--reverse", "--", relative).split()
    versions = [
        (commit[:10], json.loads(_git("show", f"{commit}:{relative}"))) for commit in commits
    ]
    versions.append(("working tree", json.loads(path.read_text(encoding="utf-8"))))
    return versions


def _initial_development(spec: dict[str, Any]) -> bool:
    """A 0.x API is still being settled (semver's "major version zero"): anything may change
    until it is 1.0.0, the version a front end can build on."""
    return str(spec.get("info", {}).get("version", "0")).startswith("0.")


def test_the_contract_is_settled_at_1_0(specs) -> None:
    """From 1.0.0 the history check holds every service to its contract."""
    versions = {name: spec["info"]["version"] for name, spec in specs.items()}
    assert not any(_initial_development(spec) for spec in specs.values()), versions


# Breaking changes made on purpose, each with its reason; every other one fails the check.
ACKNOWLEDGED = {
    # Issue 13: from 2024/25 the DfE records SEX as M, F or U. A child recorded U must load and
    # be readable, so `sex` gains "unknown". A client that switches on sex handles a third value.
    **{
        f'{route} {status}.sex: response values widened (may now be "unknown")': "DfE SEX U"
        for route, status in (
            ("GET /reviews/v1/children", "200.items[]"),
            ("POST /reviews/v1/children", "201"),
            ("GET /reviews/v1/children/{child_id}", "200"),
            ("PATCH /reviews/v1/children/{child_id}", "200"),
        )
    }
}


@pytest.mark.parametrize("service", sorted(openapi.SNAPSHOTS))
def test_no_snapshot_breaks_the_one_before_it(service: str) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("the snapshots' history needs git and a clone (not an unpacked archive)")
    if _git("rev-parse", "--is-shallow-repository").strip() == "true":
        pytest.skip("a shallow clone holds only part of the snapshots' history")
    history = _history(openapi.SNAPSHOTS[service])
    broken = {}
    for (_, before), (label, after) in itertools.pairwise(history):
        if _initial_development(before):
            continue
        changes = [c for c in breaking_changes(before, after) if c not in ACKNOWLEDGED]
        if changes:
            broken[label] = changes
    assert broken == {}, (
        "a breaking change to a route needs a new version of that route (/v2/...): "
        f"{json.dumps(broken, indent=2)}"
    )


def test_descriptions_join_their_sentences_with_a_space(specs) -> None:
    """Descriptions are built from pieces ("..." + rules + roles): none runs two sentences
    together ("reg 15).The panel")."""
    joined = [
        f"{method.upper()} {path}: ...{found.group(0)}..."
        for spec in specs.values()
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        for found in re.finditer(r"\w{2}[a-z)`]\.[A-Z`]\w*", operation.get("description", ""))
    ]
    assert joined == []
