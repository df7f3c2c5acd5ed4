"""The Dispute Resolution Process as a state machine: pure functions over plain values.

No database and no web here. Each transition takes the dispute's state and the date it
happened and returns the new state, or refuses: `TransitionRefused` when the dispute's state
does not allow it (a 409 to the caller), `InvalidInput` when a value given is wrong (a 422).

The rules (DOMAIN.md, DRP): five stages, the last of which is the referral to Cafcass, outside
the local authority, with no internal deadline; every other stage has a deadline of N working
days from the day the dispute entered it. The IRO may raise a dispute at a higher stage than
the first and escalate past stages (a bypass), and may refer to Cafcass from any stage. A
dispute ends resolved (with outcomes), withdrawn, or referred to Cafcass; a resolved or
withdrawn one can be reopened within a window of working days. Every action is dated, never
in the future and never before the dispute's previous action, so that a backlog kept in
spreadsheets can be entered with its real dates and history stays in date order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from iro_kit.calendar import WorkingDayCalendar


class Status(StrEnum):
    open = "open"
    resolved = "resolved"
    withdrawn = "withdrawn"
    referred_to_cafcass = "referred_to_cafcass"


class Category(StrEnum):
    lac = "lac"  # a looked after child
    cp = "cp"  # a child protection case


class Transition(StrEnum):
    raise_dispute = "raise"
    respond = "respond"
    escalate = "escalate"
    refer_to_cafcass = "refer_to_cafcass"
    resolve = "resolve"
    withdraw = "withdraw"
    reopen = "reopen"


class Outcome(StrEnum):
    care_plan_improved = "care_plan_improved"
    contact_changed = "contact_changed"
    legal_status_changed = "legal_status_changed"
    placement_changed = "placement_changed"
    more_timely_decision = "more_timely_decision"
    other = "other"


REOPENABLE = frozenset({Status.resolved, Status.withdrawn})
"""A referral to Cafcass hands the dispute outside the authority: it is not reopened here."""


@dataclass(frozen=True, slots=True)
class Stage:
    number: int
    name: str
    working_days: int | None  # None: no internal deadline


@dataclass(frozen=True, slots=True)
class ProcessRules:
    calendar: WorkingDayCalendar
    stages: tuple[Stage, ...]
    overall_working_days: int = 20
    reopen_window_working_days: int = 20

    @property
    def cafcass_stage(self) -> int:
        return len(self.stages)

    @property
    def last_internal_stage(self) -> int:
        return len(self.stages) - 1

    def stage(self, number: int) -> Stage:
        if 1 <= number <= len(self.stages):
            return self.stages[number - 1]
        # A stage recorded under an earlier configuration with more stages.
        return Stage(number, f"Stage {number}", None)

    def stage_due_by(self, number: int, entered_on: date) -> date | None:
        working_days = self.stage(number).working_days
        if working_days is None:
            return None
        return self.calendar.add_working_days(entered_on, working_days)

    def overall_due_by(self, raised_on: date) -> date:
        return self.calendar.add_working_days(raised_on, self.overall_working_days)

    def reopen_by(self, closed_on: date) -> date:
        return self.calendar.add_working_days(closed_on, self.reopen_window_working_days)


@dataclass(frozen=True, slots=True)
class DisputeState:
    stage: int
    status: Status
    raised_on: date
    stage_entered_on: date
    stage_due_by: date | None
    overall_due_by: date
    highest_stage: int
    last_action_on: date
    closed_on: date | None = None
    outcomes: tuple[Outcome, ...] = ()


class TransitionRefused(Exception):
    """The dispute's state does not allow this transition."""

    def __init__(
        self,
        transition: Transition,
        state: DisputeState,
        allowed: Sequence[Transition],
        reason: str,
        *,
        slug: str = "transition-not-allowed",
    ) -> None:
        super().__init__(reason)
        self.transition, self.state, self.allowed = transition, state, list(allowed)
        self.reason, self.slug = reason, slug


class InvalidInput(Exception):
    """A value given for a transition is wrong. `field` is `date` (the action's date) or the
    name of the request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


# --- what each state allows -------------------------------------------------------------------


def allowed_transitions(
    state: DisputeState, rules: ProcessRules, on: date | None = None
) -> list[Transition]:
    """The transitions the dispute allows; `reopen` only inside its window when `on` is given."""
    if state.status is Status.open:
        allowed = [Transition.respond]
        if state.stage < rules.last_internal_stage:
            allowed.append(Transition.escalate)
        return [*allowed, Transition.refer_to_cafcass, Transition.resolve, Transition.withdraw]
    if state.status in REOPENABLE and state.closed_on is not None:
        window_open = on is None or on <= rules.reopen_by(state.closed_on)
        return [Transition.reopen] if window_open else []
    return []


def _require(transition: Transition, state: DisputeState, rules: ProcessRules, on: date) -> None:
    """Refuse a transition the state does not allow, listing what it allows on `on`.

    The reopen window is checked by `reopen` itself, after the date, with its own reason."""
    if transition not in allowed_transitions(state, rules):
        allowed = allowed_transitions(state, rules, on)
        reason = _refusal(transition, state)
        raise TransitionRefused(transition, state, allowed, reason, slug=_slug(state))


_PASSIVE = {
    Transition.respond: "have a response recorded",
    Transition.escalate: "be escalated",
    Transition.refer_to_cafcass: "be referred to Cafcass",
    Transition.resolve: "be resolved",
    Transition.withdraw: "be withdrawn",
    Transition.reopen: "be reopened",
}


def _refusal(transition: Transition, state: DisputeState) -> str:
    cannot = f"it cannot {_PASSIVE.get(transition, transition.value)}"
    if state.status is Status.open and transition is Transition.escalate:
        return (
            f"The dispute is at stage {state.stage}, the last stage inside the authority: it can "
            "be referred to Cafcass, resolved or withdrawn, not escalated."
        )
    if state.status is Status.open:
        return f"The dispute is open at stage {state.stage}, so {cannot}."
    if state.status is Status.referred_to_cafcass:
        return f"The dispute was referred to Cafcass on {state.closed_on}, so {cannot}."
    return f"The dispute was {state.status.value} on {state.closed_on}, so {cannot}."


def _slug(state: DisputeState) -> str:
    return "dispute-closed" if state.status is not Status.open else "transition-not-allowed"


def check_action_date(state: DisputeState, on: date, today: date) -> None:
    if on > today:
        raise InvalidInput("date", f"is in the future (today is {today})")
    if on < state.last_action_on:
        raise InvalidInput(
            "date", f"is before the dispute's previous action, on {state.last_action_on}"
        )


def _enter_stage(state: DisputeState, rules: ProcessRules, stage: int, on: date) -> DisputeState:
    return replace(
        state,
        stage=stage,
        stage_entered_on=on,
        stage_due_by=rules.stage_due_by(stage, on),
        highest_stage=max(state.highest_stage, stage),
        last_action_on=on,
    )


# --- the transitions --------------------------------------------------------------------------


def raise_dispute(
    rules: ProcessRules, *, raised_on: date, today: date, stage: int = 1
) -> DisputeState:
    """A new dispute, at stage 1 or, when the IRO bypasses earlier stages, a higher one."""
    if raised_on > today:
        raise InvalidInput("date", f"is in the future (today is {today})")
    if not 1 <= stage <= rules.last_internal_stage:
        raise InvalidInput("stage", _stage_range(rules))
    return DisputeState(
        stage=stage,
        status=Status.open,
        raised_on=raised_on,
        stage_entered_on=raised_on,
        stage_due_by=rules.stage_due_by(stage, raised_on),
        overall_due_by=rules.overall_due_by(raised_on),
        highest_stage=stage,
        last_action_on=raised_on,
    )


def _stage_range(rules: ProcessRules) -> str:
    return (
        f"must be a stage from 1 to {rules.last_internal_stage}; stage {rules.cafcass_stage} "
        "is the referral to Cafcass (refer-to-cafcass)"
    )


def respond(state: DisputeState, rules: ProcessRules, *, on: date, today: date) -> DisputeState:
    """A response at the current stage; the stage and its deadline stay as they are."""
    _require(Transition.respond, state, rules, on)
    check_action_date(state, on, today)
    return replace(state, last_action_on=on)


def escalate(
    state: DisputeState,
    rules: ProcessRules,
    *,
    on: date,
    today: date,
    to_stage: int | None = None,
) -> DisputeState:
    """To the next stage, or any higher stage inside the authority (a bypass)."""
    _require(Transition.escalate, state, rules, on)
    check_action_date(state, on, today)
    target = state.stage + 1 if to_stage is None else to_stage
    if target <= state.stage:
        raise InvalidInput("to_stage", f"must be above the current stage, {state.stage}")
    if target > rules.last_internal_stage:
        raise InvalidInput("to_stage", _stage_range(rules))
    return _enter_stage(state, rules, target, on)


def refer_to_cafcass(
    state: DisputeState, rules: ProcessRules, *, on: date, today: date
) -> DisputeState:
    """From any stage: the dispute leaves the authority, at the last stage, with no deadline."""
    _require(Transition.refer_to_cafcass, state, rules, on)
    check_action_date(state, on, today)
    entered = _enter_stage(state, rules, rules.cafcass_stage, on)
    return replace(entered, status=Status.referred_to_cafcass, closed_on=on)


def resolve(
    state: DisputeState,
    rules: ProcessRules,
    *,
    outcomes: Iterable[Outcome],
    on: date,
    today: date,
) -> DisputeState:
    """Resolved at the current stage, with one or more outcomes."""
    _require(Transition.resolve, state, rules, on)
    check_action_date(state, on, today)
    chosen = tuple(dict.fromkeys(outcomes))
    if not chosen:
        raise TransitionRefused(
            Transition.resolve,
            state,
            allowed_transitions(state, rules),
            "A dispute is resolved with at least one outcome.",
            slug="outcome-required",
        )
    return replace(state, status=Status.resolved, closed_on=on, outcomes=chosen, last_action_on=on)


def withdraw(state: DisputeState, rules: ProcessRules, *, on: date, today: date) -> DisputeState:
    _require(Transition.withdraw, state, rules, on)
    check_action_date(state, on, today)
    return replace(state, status=Status.withdrawn, closed_on=on, last_action_on=on)


def reopen(state: DisputeState, rules: ProcessRules, *, on: date, today: date) -> DisputeState:
    """Open again at the stage it closed at, whose deadline restarts from the reopening.

    The overall deadline still runs from the day the dispute was raised."""
    _require(Transition.reopen, state, rules, on)
    check_action_date(state, on, today)
    assert state.closed_on is not None
    reopen_by = rules.reopen_by(state.closed_on)
    if on > reopen_by:
        raise TransitionRefused(
            Transition.reopen,
            state,
            [],
            f"The dispute closed on {state.closed_on} and could be reopened until {reopen_by} "
            f"({rules.reopen_window_working_days} working days).",
            slug="reopen-window-closed",
        )
    entered = _enter_stage(state, rules, state.stage, on)
    return replace(entered, status=Status.open, closed_on=None, outcomes=())


# --- reading a state on a day -----------------------------------------------------------------


def stage_overdue(stage_due_by: date | None, as_at: date) -> bool:
    """Overdue from the day after the stage's due date; a stage without a deadline never is."""
    return stage_due_by is not None and as_at > stage_due_by
