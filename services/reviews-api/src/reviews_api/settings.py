from pydantic import Field
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

    # What one SSDA903 upload may unpack to, counted as it is unpacked (reviews_api.imports.files).
    import_max_unpacked_bytes: int = Field(
        200 * 1024 * 1024, ge=1, description="What the zips of one upload unpack to, together."
    )
    import_max_compression_ratio: float = Field(
        100.0, ge=1, description="A zip member's unpacked size over its compressed size."
    )
    import_max_archive_members: int = Field(100, ge=1, description="Entries in one zip.")

    def schedule_rules(self, calendar: WorkingDayCalendar) -> ScheduleRules:
        return ScheduleRules(
            calendar=calendar,
            month_rule=self.month_rule,
            plan_by_working_days=self.plan_by_working_days,
            visit_working_days=self.visit_working_days,
            due_soon_working_days=self.due_soon_working_days,
        )
