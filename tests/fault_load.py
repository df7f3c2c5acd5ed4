"""A mixed load of reads and writes through the gateway, and a check of what it left behind.

Writes: children, their episode, up to four held reviews each, disputes. Reads: a child, its
schedule and reviews, children and disputes by the case system's id, the scorecard. One write
per child at a time, so what is tested is faults, not races (test_integrity covers races).

Every write carries a unique external id (or date, for a child's review), so afterwards each
acknowledged write can be read back, and each failed one looked for: it must be absent, or, if
its commit reached the database and only the answer was lost, present exactly once and whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from iro_kit.testing import bearer

V1 = "/reviews/v1"
DRP = "/drp/v1"
INTEGRATION = bearer("integration", subject="lcs")
IRO = bearer("iro", subject="iro-fault", name="Alex Morgan")
MANAGER = bearer("iro_manager", subject="manager-fault")
REVIEWS_RELAY = bearer("integration", subject="reviews-api")  # delivers to drp-api's inbox
EPISODE_START = "2017-04-03"
# In timescale for a period from 3 April 2017: first, second, then two subsequent reviews.
REVIEW_DATES = ("2017-05-02", "2017-08-01", "2018-01-16", "2018-07-10")


def _event(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/reviews-api",
        "type": type_,
        "subject": data["id"],
        "time": "2026-11-26T10:00:00Z",
        "data": data,
    }


def people_events(
    children: list[tuple[str, str]], iros: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """reviews-api's `child.changed` for each (id, external id) and `iro.changed` for each
    (id, name): a dispute names its child and IRO by id, and drp-api takes the rest from the
    copy it keeps from these events."""
    return [
        _event("child.changed", {
            "id": child_id, "external_id": external_id, "given_name": "Sam",
            "family_name": "Taylor", "date_of_birth": "2010-06-15", "sex": "female",
            "periods_of_care": [], "deleted": False, "version": 1,
        })
        for child_id, external_id in children
    ] + [
        _event("iro.changed", {
            "id": iro_id, "name": name, "email": "alex@la.example", "fte": 1.0,
            "in_post_from": "2015-01-01", "in_post_to": None, "version": 1,
        })
        for iro_id, name in iros
    ]  # fmt: skip


@dataclass
class Record:
    operation: str
    status: int  # 0: no HTTP answer
    latency: float
    problem: str = ""  # what was wrong with a non-2xx answer, if anything


@dataclass
class Write:
    kind: str  # child, episode, review, dispute
    key: str  # external id, or the review's held_on
    child: Child | None
    status: int
    created_id: str | None = None


@dataclass
class Child:
    id: str
    external_id: str
    episode: bool = False
    next_review: int = 0
    busy: bool = False


@dataclass
class Load:
    client: httpx.AsyncClient
    records: list[Record] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    disputes: list[str] = field(default_factory=list)  # child external ids with a 201 dispute
    # Children drp-api's copy knows, each for one dispute (id, external id), and their IRO.
    people: list[tuple[str, str]] = field(default_factory=list)
    iro_id: str = ""
    skipped: int = 0  # ticks when the concurrency cap was reached (the machine fell behind)

    async def announce_people(self, drp_url: str, children: int) -> None:
        """Before the load: tells drp-api (directly, as reviews-api's relay would; the gateway
        keeps inboxes internal) of `children` children and one IRO to raise disputes about."""
        self.iro_id = str(uuid.uuid4())
        fresh = [(str(uuid.uuid4()), f"FT-D-{uuid.uuid4().hex[:10]}") for _ in range(children)]
        async with httpx.AsyncClient(base_url=drp_url, timeout=60) as inbox:
            for start in range(0, len(fresh), 100):
                batch = people_events(fresh[start : start + 100], [])
                if start == 0:
                    batch += people_events([], [(self.iro_id, "Alex Morgan")])
                response = await inbox.post("/drp/events", json=batch, headers=REVIEWS_RELAY)
                assert response.status_code == 200, response.text
        self.people = fresh

    async def run(self, seconds: float, rate: float, max_in_flight: int = 48) -> None:
        """An open-loop load: one operation every 1/rate seconds, whatever the answers take."""
        tasks: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        tick = 0
        while (now := time.monotonic()) - started < seconds:
            due = started + tick / rate
            if due > now:
                await asyncio.sleep(due - now)
            tick += 1
            if len(tasks) >= max_in_flight:
                self.skipped += 1
                continue
            task = asyncio.create_task(self._one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    async def _one(self) -> None:
        roll = random.random()
        idle = [c for c in self.children if not c.busy]
        if roll < 0.12 or not idle:
            await self.create_child()
        elif roll < 0.40:
            await self.write_for(random.choice(idle))
        elif roll < 0.48 and self.people:
            await self.raise_dispute()
        else:
            await self.read(random.choice(self.children))

    async def _send(self, operation: str, method: str, path: str, **kw: Any) -> httpx.Response:
        started = time.monotonic()
        try:
            response = await self.client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            self.records.append(Record(operation, 0, time.monotonic() - started, repr(exc)))
            raise
        record = Record(operation, response.status_code, time.monotonic() - started)
        if response.status_code >= 300:
            record.problem = _problem_fault(response)
        self.records.append(record)
        return response

    async def create_child(self) -> None:
        external_id = f"FT-{uuid.uuid4().hex[:12]}"
        body = {
            "external_id": external_id,
            "given_name": "Fault",
            "family_name": "Tolerance",
            "date_of_birth": "2010-06-15",
            "sex": "female",
        }
        try:
            response = await self._send("create_child", "POST", f"{V1}/children", json=body,
                                        headers=INTEGRATION)  # fmt: skip
        except httpx.HTTPError:
            self.writes.append(Write("child", external_id, None, 0))
            return
        created = response.json()["id"] if response.status_code == 201 else None
        self.writes.append(Write("child", external_id, None, response.status_code, created))
        if created:
            self.children.append(Child(created, external_id))

    async def write_for(self, child: Child) -> None:
        """The child's episode if it has none, else its next review: one at a time."""
        if child.episode and child.next_review >= len(REVIEW_DATES):
            return await self.read(child)
        child.busy = True
        try:
            if not child.episode:
                key = f"EP-{uuid.uuid4().hex[:10]}"
                body: dict[str, Any] = {
                    "external_id": key, "start_on": EPISODE_START, "reason_new_episode": "S",
                    "legal_status": "C2", "placement": "U1",
                }  # fmt: skip
                kind, path, headers = "episode", f"{V1}/children/{child.id}/episodes", INTEGRATION
            else:
                key = REVIEW_DATES[child.next_review]
                child.next_review += 1
                body = {"held_on": key, "participation_code": "PN1", "views_method": "in_person"}
                kind, path, headers = "review", f"{V1}/children/{child.id}/reviews", IRO
            try:
                response = await self._send(f"create_{kind}", "POST", path, json=body,
                                            headers=headers)  # fmt: skip
                status = response.status_code
            except httpx.HTTPError:
                status, response = 0, None
            created = response.json()["id"] if response is not None and status == 201 else None
            if kind == "episode" and created:
                child.episode = True
            if kind == "review" and not created:
                # Not retried (it may have committed), and no later date either: with this one
                # missing the next would be late and need a reason. The child stays for reads.
                child.next_review = len(REVIEW_DATES)
            self.writes.append(Write(kind, key, child, status, created))
        finally:
            child.busy = False

    async def raise_dispute(self) -> None:
        child_id, external_id = self.people.pop()  # one dispute per child: its key
        body = {
            "child_id": child_id,
            "category": "lac",
            "iro_id": self.iro_id,
            "raised_on": "2017-04-13",
            "themes": ["drift_and_delay"],
            "issue": "No permanence plan was agreed at the second review.",
            "outcome_sought": "A permanence planning meeting.",
            "asked": {"name": "Jo Bloggs", "role": "Team manager"},
        }
        try:
            response = await self._send("raise_dispute", "POST", f"{DRP}/disputes", json=body,
                                        headers=IRO)  # fmt: skip
        except httpx.HTTPError:
            self.writes.append(Write("dispute", external_id, None, 0))
            return
        created = response.json()["id"] if response.status_code == 201 else None
        self.writes.append(Write("dispute", external_id, None, response.status_code, created))
        if created:
            self.disputes.append(external_id)

    async def read(self, child: Child) -> None:
        choice = random.randrange(6)
        paths = [
            ("read_child", f"{V1}/children/{child.id}"),
            ("read_schedule", f"{V1}/children/{child.id}/schedule"),
            ("read_reviews", f"{V1}/children/{child.id}/reviews"),
            ("list_children", f"{V1}/children?external_id={child.external_id}"),
            ("list_disputes", f"{DRP}/disputes?child_external_id="
             + (random.choice(self.disputes) if self.disputes else "none")),
            ("read_scorecard", "/scorecard/v1/scorecard"),
        ]  # fmt: skip
        operation, path = paths[choice]
        headers = MANAGER if operation == "read_scorecard" else IRO
        with contextlib.suppress(httpx.HTTPError):
            await self._send(operation, "GET", path, headers=headers)


def _problem_fault(response: httpx.Response) -> str:
    """Why a non-2xx answer is not the 503 a client can retry ('' when it is)."""
    if response.status_code != 503:
        return f"status {response.status_code}: {response.text[:300]}"
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return "503 without problem+json"
    if not response.headers.get("retry-after"):
        return "503 without Retry-After"
    body = response.json()
    if body.get("instance") != response.request.url.path:
        # nginx's own 503 names the request, not the path: the service did not answer.
        return f"503 from the gateway, not the service: {body}"
    return ""


async def verify(client: httpx.AsyncClient, load: Load) -> tuple[list[str], int]:
    """Problems with what the load left: (list of problems, failed writes that did commit)."""
    problems: list[str] = []
    committed_unanswered = 0
    for write in load.writes:
        found = await _count(client, write)
        if write.status == 201 and found != 1:
            problems.append(f"acknowledged {write.kind} {write.key}: found {found} times")
        elif write.status != 201 and found > 1:
            problems.append(f"failed {write.kind} {write.key}: found {found} times")
        elif write.status != 201 and found == 1:
            committed_unanswered += 1  # whole (read back above), only its answer was lost
    return problems, committed_unanswered


async def _count(client: httpx.AsyncClient, write: Write) -> int:
    if write.kind == "child":
        page = (await client.get(f"{V1}/children", params={"external_id": write.key},
                                 headers=IRO)).json()  # fmt: skip
        return len(page["items"])
    if write.kind == "dispute":
        page = (await client.get(f"{DRP}/disputes", params={"child_external_id": write.key},
                                 headers=IRO)).json()  # fmt: skip
        return len(page["items"])
    assert write.child is not None
    if write.kind == "episode":
        listed = (await client.get(f"{V1}/children/{write.child.id}/episodes",
                                   headers=IRO)).json()  # fmt: skip
        return sum(1 for e in _items(listed) if e["external_id"] == write.key)
    listed = (await client.get(f"{V1}/children/{write.child.id}/reviews", headers=IRO)).json()
    return sum(1 for r in _items(listed) if r["held_on"] == write.key)


def _items(listed: Any) -> list[dict[str, Any]]:
    return listed["items"] if isinstance(listed, dict) else listed
