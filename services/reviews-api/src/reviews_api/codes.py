"""Code lists from DOMAIN.md and the SSDA903 return."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

LegalStatus = Literal["C1", "C2", "D1", "E1", "V2", "V3", "V4", "L1", "L2", "L3", "J1", "J2", "J3"]
ReasonNewEpisode = Literal["S", "P", "L", "T", "U", "B"]
ParticipationCode = Literal["PN0", "PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7"]


class Sex(StrEnum):
    male = "male"  # SSDA903 SEX 1 (to 2023/24), M (2024/25 on)
    female = "female"  # SSDA903 SEX 2, F
    unknown = "unknown"  # SSDA903 SEX U (2024/25 on)


class LateReason(StrEnum):
    late_notification = "late_notification"
    calculation_error = "calculation_error"
    missing_report = "missing_report"
    non_attendance_significant_person = "non_attendance_significant_person"
    non_attendance_social_worker = "non_attendance_social_worker"
    series_of_meetings = "series_of_meetings"
    other = "other"


class ViewsMethod(StrEnum):
    """How the child's views reached the review (the service counts MOMO and Viewpoint)."""

    in_person = "in_person"
    advocate = "advocate"
    momo = "momo"
    viewpoint = "viewpoint"
    written = "written"
    non_verbal = "non_verbal"
    other = "other"
    not_conveyed = "not_conveyed"


class VisitKind(StrEnum):
    pre_review = "pre_review"
    midway = "midway"
