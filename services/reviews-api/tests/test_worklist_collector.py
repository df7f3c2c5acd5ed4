"""The worklists pause the cyclic garbage collector while they build (so a full collection
cannot hold the event loop); overlapping worklists must not keep it off for good."""

from __future__ import annotations

import gc

import pytest

from reviews_api.worklists import service


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(service.time, "monotonic", lambda: now[0])
    return now


def test_the_collector_is_off_while_a_worklist_builds_and_back_after(clock: list[float]) -> None:
    assert gc.isenabled()
    with service._collection_paused():
        assert not gc.isenabled()
        with service._collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_worklists_still_collect_once_the_pause_is_long(
    clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    collections: list[float] = []
    monkeypatch.setattr(service.gc, "collect", lambda *a: collections.append(clock[0]) or 0)
    with service._collection_paused():  # a reader that never lets go
        for _ in range(10):  # another worklist starts every 10 s, 100 s in all
            clock[0] += 10
            with service._collection_paused():
                pass
        assert not gc.isenabled()
    assert gc.isenabled()
    # At most one pause of more than 30 s without a collection.
    assert collections == [1040.0, 1080.0]
