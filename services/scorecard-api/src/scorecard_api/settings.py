from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.schedule import MonthRule, ScheduleRules
from iro_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """IRO scorecard API settings, from `SCORECARD_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="SCORECARD_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/scorecard.db"
    # The review chain is worked out with the same rules as reviews-api: keep this equal to
    # REVIEWS_MONTH_RULE.
    month_rule: MonthRule = MonthRule.days
    # Rebuild: where each producer serves (its prefix included), to ask it to republish.
    producer_urls: dict[str, str] = Field(
        default_factory=lambda: {
            "reviews-api": "http://127.0.0.1:8001/reviews",
            "drp-api": "http://127.0.0.1:8002/drp",
        }
    )
    # Outside development: an admin token from the identity provider for the republish calls.
    rebuild_token: SecretStr | None = None

    def schedule_rules(self, calendar: WorkingDayCalendar) -> ScheduleRules:
        return ScheduleRules(calendar=calendar, month_rule=self.month_rule)
