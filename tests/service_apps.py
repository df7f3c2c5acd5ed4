"""The three services' apps on in-memory SQLite, for tests that read their OpenAPI."""

from __future__ import annotations

from fastapi import FastAPI


def service_apps() -> list[tuple[str, FastAPI]]:
    from drp_api.app import create_app as create_drp
    from drp_api.settings import Settings as DrpSettings
    from reviews_api.app import create_app as create_reviews
    from reviews_api.settings import Settings as ReviewsSettings
    from scorecard_api.app import create_app as create_scorecard
    from scorecard_api.settings import Settings as ScorecardSettings

    url = "sqlite+aiosqlite:///:memory:"
    return [
        ("reviews", create_reviews(ReviewsSettings(database_url=url))),
        ("drp", create_drp(DrpSettings(database_url=url))),
        ("scorecard", create_scorecard(ScorecardSettings(database_url=url))),
    ]
