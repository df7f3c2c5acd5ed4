"""The 428 and 412 of a transition name the dispute's current version (`current_version`),
so a client can tell what it missed; an unknown dispute is a 404 with or without If-Match."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from .conftest import MANAGER, TRANSITION_BODIES, V1, Disputes
from .problems import assert_problem

VERBS = list(TRANSITION_BODIES)


def _post(api: TestClient, dispute_id: str, verb: str, if_match: str | None):
    headers = dict(MANAGER) if if_match is None else {**MANAGER, "If-Match": if_match}
    url = f"{V1}/disputes/{dispute_id}/{verb}"
    return api.post(url, json=TRANSITION_BODIES[verb], headers=headers)


@pytest.mark.parametrize("verb", VERBS)
def test_the_428_names_the_current_version(api: TestClient, disputes: Disputes, verb: str) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    disputes.act(dispute["id"], "respond", "2017-04-04")

    for sent in (None, "*"):
        body = assert_problem(_post(api, dispute["id"], verb, sent), 428, "precondition-required")
        assert body["current_version"] == 2, sent
    assert disputes.get(dispute["id"])["version"] == 2


@pytest.mark.parametrize("verb", VERBS)
def test_the_412_names_the_current_version(api: TestClient, disputes: Disputes, verb: str) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    disputes.act(dispute["id"], "respond", "2017-04-04")

    body = assert_problem(_post(api, dispute["id"], verb, '"1"'), 412, "precondition-failed")

    assert body["current_version"] == 2
    assert disputes.get(dispute["id"])["version"] == 2


def test_an_unknown_dispute_is_404_before_any_if_match_check(api: TestClient) -> None:
    for sent in (None, '"1"'):
        assert_problem(_post(api, str(uuid.uuid4()), "respond", sent), 404, "not-found")
