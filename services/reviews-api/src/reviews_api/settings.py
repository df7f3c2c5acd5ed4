from pydantic_settings import SettingsConfigDict

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.schedule import MonthRule, ScheduleRules
from iro_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """IRO reviews API settings, from `REVIEWS_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="REVIEWS_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/reviews.db"

    # The schedule (DOMAIN.md): how months are counted and the lead times around a review.
    month_rule: MonthRule = MonthRule.days
    plan_by_working_days: int = 20
    visit_working_days: int = 5
    due_soon_working_days: int = 10

    # Import jobs hold a lease renewed by a heartbeat; an expired lease is reclaimed.
    import_lease_seconds: float = 60.0
    import_heartbeat_seconds: float = 10.0

    def schedule_rules(self, calendar: WorkingDayCalendar) -> ScheduleRules:
        return ScheduleRules(
            calendar=calendar,
            month_rule=self.month_rule,
            plan_by_working_days=self.plan_by_working_days,
            visit_working_days=self.visit_working_days,
            due_soon_working_days=self.due_soon_working_days,
        )
