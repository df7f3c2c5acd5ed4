import re
from typing import Self

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import SettingsConfigDict

from drp_api.disputes.lifecycle import ProcessRules, Stage
from iro_kit.calendar import WorkingDayCalendar
from iro_kit.settings import ServiceSettings


class StageSetting(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    working_days: int | None = Field(
        default=None, ge=1, le=260, description="The stage's deadline; none for no deadline."
    )


# DOMAIN.md, DRP: the defaults every setting below falls back to.
DEFAULT_STAGES = [
    StageSetting(name="Informal resolution (social worker and team manager)", working_days=5),
    StageSetting(name="Service manager", working_days=5),
    StageSetting(name="Head of service", working_days=5),
    StageSetting(name="Director of children's services", working_days=5),
    StageSetting(name="Referral to Cafcass", working_days=None),
]

DEFAULT_THEMES = {
    "care_planning": "Care planning",
    "drift_and_delay": "Drift and delay",
    "permanency": "Permanency",
    "legal_status": "Legal status",
    "contact": "Contact",
    "placement": "Placement",
    "education_pep": "Education/PEP",
    "health": "Health",
    "pathway_planning": "Pathway planning",
    "quality_of_reports_assessments": "Quality of reports/assessments",
    "timeliness_of_meetings": "Timeliness of meetings",
    "other": "Other",
}

_THEME_CODE = r"^[a-z][a-z0-9_]{0,59}$"


class Settings(ServiceSettings):
    """IRO dispute resolution API settings, from `DRP_*` environment variables.

    Lists and maps are JSON: `DRP_STAGES='[{"name": "Team manager", "working_days": 5}, ...]'`,
    `DRP_THEMES='{"care_planning": "Care planning", ...}'`.
    """

    model_config = SettingsConfigDict(env_prefix="DRP_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/drp.db"

    # The process (DOMAIN.md, DRP). The last stage is the referral to Cafcass.
    stages: list[StageSetting] = Field(default_factory=lambda: list(DEFAULT_STAGES))
    overall_working_days: int = Field(default=20, ge=1, le=260)
    reopen_window_working_days: int = Field(default=20, ge=0, le=260)
    # Theme code (stored, in JSON) -> label (in the tracker's files).
    themes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_THEMES))
    # The stage worklist's default look-ahead.
    due_soon_working_days: int = Field(default=2, ge=0, le=60)

    @model_validator(mode="after")
    def _check_process(self) -> Self:
        if len(self.stages) < 2:
            raise ValueError("stages: at least one stage inside the authority, then Cafcass")
        if not self.themes:
            raise ValueError("themes: at least one theme")
        bad = [code for code in self.themes if not re.match(_THEME_CODE, code)]
        if bad:
            raise ValueError(f"themes: codes must be lower-case snake_case, not {bad}")
        return self

    def process_rules(self, calendar: WorkingDayCalendar) -> ProcessRules:
        return ProcessRules(
            calendar=calendar,
            stages=tuple(
                Stage(number, stage.name, stage.working_days)
                for number, stage in enumerate(self.stages, start=1)
            ),
            overall_working_days=self.overall_working_days,
            reopen_window_working_days=self.reopen_window_working_days,
        )
