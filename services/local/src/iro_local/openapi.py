"""What is written from the code for readers of the API: each service's OpenAPI snapshot
(`services/<service>/openapi.json`) and the README's Roles section (from the role tables).

`iro openapi` writes them; `iro openapi --check` says which differ and exits 1.
tests/test_openapi_contract.py and tests/test_role_table.py hold the same comparisons, and
the breaking-change check over the snapshots' history (iro_kit.contract).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from iro_kit import access
from iro_kit.contract import canonical_json

ROOT = Path(__file__).resolve().parents[4]
README = ROOT / "README.md"
ROLES_BEGIN = "<!-- roles:begin (written by `make openapi` from each service's access.py) -->\n"
ROLES_END = "<!-- roles:end -->\n"
# The service directory of each snapshot, by the service's name in its path prefix.
SNAPSHOTS = {
    "reviews": ROOT / "services" / "reviews-api" / "openapi.json",
    "drp": ROOT / "services" / "drp-api" / "openapi.json",
    "scorecard": ROOT / "services" / "scorecard-api" / "openapi.json",
}


def service_apps() -> dict[str, FastAPI]:
    """The three apps as the snapshots describe them: development settings, in-memory SQLite
    (building an app opens no connection)."""
    from drp_api.app import create_app as create_drp
    from drp_api.settings import Settings as DrpSettings
    from reviews_api.app import create_app as create_reviews
    from reviews_api.settings import Settings as ReviewsSettings
    from scorecard_api.app import create_app as create_scorecard
    from scorecard_api.settings import Settings as ScorecardSettings

    common: dict[str, Any] = {
        "database_url": "sqlite+aiosqlite:///:memory:",
        "environment": "development",
    }
    return {
        "reviews": create_reviews(ReviewsSettings(**common)),
        "drp": create_drp(DrpSettings(**common)),
        "scorecard": create_scorecard(ScorecardSettings(**common)),
    }


def roles_section(apps: dict[str, FastAPI]) -> str:
    """The README's Roles section between its markers: each service's role table."""
    parts = [ROLES_BEGIN]
    for name, app in apps.items():
        parts.append(f"\n**{name}** (`/{name}`)\n\n")
        parts.append(access.markdown(f"/{name}", app.state.role_table))
    parts.append("\n" + ROLES_END)
    return "".join(parts)


def _with_roles(readme: str, section: str) -> str:
    begin, end = readme.find(ROLES_BEGIN), readme.find(ROLES_END)
    if begin < 0 or end < begin:
        raise RuntimeError(f"README.md has no Roles markers ({ROLES_BEGIN.strip()} ... )")
    return readme[:begin] + section + readme[end + len(ROLES_END) :]


def generated() -> dict[Path, str]:
    """The text each file should hold: the three snapshots, and the README with its Roles
    section rendered."""
    apps = service_apps()
    files = {SNAPSHOTS[name]: canonical_json(app.openapi()) for name, app in apps.items()}
    files[README] = _with_roles(README.read_text(encoding="utf-8"), roles_section(apps))
    return files


def stale() -> list[Path]:
    """The files whose committed text is not what the code generates."""
    return [
        path
        for path, text in generated().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def write() -> list[Path]:
    """Write the files that differ; those written."""
    written = []
    for path, text in generated().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
