from pydantic_settings import SettingsConfigDict

from iro_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """IRO dispute resolution API settings, from `DRP_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="DRP_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/drp.db"
