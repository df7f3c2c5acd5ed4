from pydantic_settings import SettingsConfigDict

from iro_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """IRO scorecard API settings, from `SCORECARD_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="SCORECARD_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/scorecard.db"
