"""The problem types drp-api's own code answers, beyond the kit's (iro_kit.problem_types)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from iro_kit.problem_types import ProblemType, register


class TransitionProblem(BaseModel):
    """What a refused transition says about the dispute, so a client need not read it again."""

    current_state: str = Field(
        description="The dispute's status now: `open`, `resolved`, `withdrawn` or "
        "`referred_to_cafcass`."
    )
    current_stage: int = Field(description="The stage the dispute is at (or closed at).")
    allowed_transitions: list[str] = Field(
        description="The transitions the dispute allows today (`respond`, `escalate`, "
        "`refer_to_cafcass`, `resolve`, `withdraw`, `reopen`); empty when none."
    )


PROBLEMS = register(
    ProblemType(
        "transition-not-allowed",
        409,
        "Transition not allowed",
        "The dispute's state does not "
        "allow this transition (escalating from the last internal stage, say).",
        TransitionProblem,
    ),
    ProblemType(
        "dispute-closed",
        409,
        "Dispute is closed",
        "The dispute was resolved, withdrawn or "
        "referred to Cafcass: only `reopen` (inside its window) may follow.",
        TransitionProblem,
    ),
    ProblemType(
        "outcome-required",
        409,
        "Outcome required",
        "Resolving a dispute needs at least one outcome; `errors` names `/outcomes`.",
        TransitionProblem,
    ),
    ProblemType(
        "reopen-window-closed",
        409,
        "Reopen window has closed",
        "The dispute closed more than the reopen window (`DRP_REOPEN_WINDOW_WORKING_DAYS`) ago.",
        TransitionProblem,
    ),
)
