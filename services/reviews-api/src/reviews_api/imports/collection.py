"""SSDA903 collection years, 2015/16 to 2026/27, as data: what each year's return may hold.

A collection year runs from 1 April to 31 March and is named by the year it ends in (2025 is
2024/25). Each year is the one before it with that year's changes applied, so a change the DfE
makes is one line in `_CHANGES`, not a branch in the checks. Only fields this service reads are
described; the DfE's own rules for a year are applied by `reviews_api.imports.dfe`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from types import MappingProxyType
from typing import Any

FIRST = 2016  # 2015/16
LAST = 2027  # 2026/27


@dataclass(frozen=True, slots=True)
class CollectionYear:
    ends: int  # the year the collection ends in: 2025 for 2024/25
    sex_codes: Mapping[str, str]  # SEX as written -> the service's sex
    place_codes: frozenset[str]  # PLACE codes of the year (DfE rule 146)

    @property
    def label(self) -> str:
        return f"{self.ends - 1}/{self.ends % 100:02d}"

    @property
    def start(self) -> date:
        return date(self.ends - 1, 4, 1)

    @property
    def end(self) -> date:
        return date(self.ends, 3, 31)

    def sex_code_list(self) -> str:
        """`1 or 2`; `M, F or U`."""
        codes = list(self.sex_codes)
        return f"{', '.join(codes[:-1])} or {codes[-1]}"


_PLACE_2023 = frozenset(
    {"A3", "A4", "A5", "A6", "H5", "K1", "K2", "P1", "P2", "P3", "R1", "R2", "R3", "R5"}
    | {"S1", "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1"}
)

# (the first year a change applies to, the fields it changes). The first entry is 2015/16 and
# gives every field; a later code set is given as {"+": codes added, "-": codes removed}.
_CHANGES: tuple[tuple[int, dict[str, Any]], ...] = (
    (
        2016,
        {
            "sex_codes": {"1": "male", "2": "female"},
            # The DfE validator's rule 146 of 2022/23 (its oldest year): it describes no year
            # before, so 2015/16 to 2021/22 use the 2022/23 list (not a history of the codes).
            "place_codes": _PLACE_2023,
        },
    ),
    # 2024/25: K3 (supported accommodation) added. The validator's rule 146 of 2024/25 lists it
    # as "k3" and upper-cases the file, so it refuses K3 in 2024/25; its rule 371 of 2024/25
    # and its 2025/26 list name K3, so K3 is taken as the code meant.
    # SEX is recorded as M, F or U (DfE rule 101; U is reported by rule 232).
    (
        2025,
        {"sex_codes": {"M": "male", "F": "female", "U": "unknown"}, "place_codes": {"+": {"K3"}}},
    ),
    # 2025/26: H5, P2 and Z1 withdrawn; Z1 split into Z11, Z12, Z13 and Z14 (rule 146).
    (2026, {"place_codes": {"-": {"H5", "P2", "Z1"}, "+": {"Z11", "Z12", "Z13", "Z14"}}}),
)


def _years() -> dict[int, CollectionYear]:
    changes = dict(_CHANGES)
    first = changes.pop(FIRST)
    year = CollectionYear(
        FIRST, MappingProxyType(dict(first["sex_codes"])), frozenset(first["place_codes"])
    )
    years = {FIRST: year}
    for ends in range(FIRST + 1, LAST + 1):
        change = changes.get(ends, {})
        if "sex_codes" in change:
            change = {**change, "sex_codes": MappingProxyType(dict(change["sex_codes"]))}
        if "place_codes" in change:
            edit = change["place_codes"]
            codes = (year.place_codes - edit.get("-", set())) | edit.get("+", set())
            change = {**change, "place_codes": frozenset(codes)}
        year = replace(year, ends=ends, **change)
        years[ends] = year
    return years


YEARS: Mapping[int, CollectionYear] = MappingProxyType(_years())


def year_containing(day: date) -> int:
    """The collection year (named by the year it ends in) that `day` falls in."""
    return day.year if day.month <= 3 else day.year + 1


def collection_year(ends: int) -> CollectionYear:
    """The year ending in `ends`; the nearest year described for one outside 2016-2027."""
    return YEARS[min(max(ends, FIRST), LAST)]
