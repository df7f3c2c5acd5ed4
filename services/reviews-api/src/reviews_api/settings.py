from pydantic_settings import SettingsConfigDict

from iro_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """IRO reviews API settings, from `REVIEWS_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="REVIEWS_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/reviews.db"
