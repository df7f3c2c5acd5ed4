"""If-Match on the transitions: documented as the required header it is, answered with 428."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from .conftest import TRANSITION_BODIES, V1

VERBS = list(TRANSITION_BODIES)


@pytest.mark.parametrize("verb", VERBS)
def test_every_transition_documents_if_match_as_a_required_header(
    api: TestClient, verb: str
) -> None:
    operation = api.get("/drp/openapi.json").json()["paths"][
        f"{V1}/disputes/{{dispute_id}}/{verb}"
    ]["post"]

    [if_match] = [p for p in operation["parameters"] if p["name"].lower() == "if-match"]
    assert (if_match["in"], if_match["required"]) == ("header", True)
    assert "428" in operation["responses"] and "412" in operation["responses"]
    # What the pattern documents, the route takes as a version; what it refuses, it refuses.
    pattern = re.compile(if_match["schema"]["pattern"])
    assert pattern.match('"3"') and pattern.match('"7", "1"')
    assert not any(pattern.match(tag) for tag in ("", "*", 'W/"3"', "3"))
