"""scorecard-api boots on its own settings; its domain tests arrive with its issue."""

import pytest

from scorecard_api.app import PREFIX, SPEC, create_app
from scorecard_api.settings import Settings


def test_settings_default_to_a_sqlite_file_under_var() -> None:
    assert Settings().database_url == "sqlite+aiosqlite:///var/scorecard.db"


def test_production_without_keys_is_refused_naming_the_services_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCORECARD_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="SCORECARD_JWT_JWKS_URL"):
        create_app()


def test_spec_serves_under_its_prefix() -> None:
    assert SPEC.prefix == PREFIX == "/scorecard"
    assert SPEC.script_location.joinpath("env.py").exists()
