"""Load an `Authority` into running services through their own routes, as their users would.

IROs by the IRO manager (`POST /reviews/v1/iros`); children, episodes and plan dates by the
case system (`POST /reviews/v1/integration/batches`, up to 1,000 items each); allocations by
the IRO manager, oldest first (a leaver's children move with the reason "IRO leaving the
service"); reviews and visits by the IRO (`POST /reviews/v1/children/{id}/reviews`, `/visits`);
disputes and every step of them by the IRO in drp-api (`POST /drp/v1/disputes`, then
`/respond`, `/escalate`, ... with `If-Match`). drp-api learns of children and IROs from
reviews-api's events, so a dispute whose child it does not know yet is tried again.

Any answer other than the one expected raises `LoadError` naming the request: the point of
loading through the routes is that everything generated is data the services accept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from iro_synthetic.model import Authority, Child, Dispute

BATCH_ITEMS = 1000
STEP_DATES = {
    "respond": "responded_on",
    "escalate": "escalated_on",
    "resolve": "resolved_on",
    "withdraw": "withdrawn_on",
    "refer_to_cafcass": "referred_on",
}
TokenFor = Callable[[str], str]  # role -> bearer token


class LoadError(RuntimeError):
    pass


@dataclass
class Loaded:
    """What was loaded: ids by our index, and counts of the requests each kind took."""

    iro_ids: list[str] = field(default_factory=list)
    child_ids: list[str] = field(default_factory=list)
    dispute_ids: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n


class Loader:
    def __init__(
        self,
        client: httpx.Client,
        token_for: TokenFor,
        progress: Callable[[str], None] | None = None,
        wait_seconds: float = 60.0,
    ) -> None:
        self.client = client
        self.headers = {
            role: {"Authorization": f"Bearer {token_for(role)}"}
            for role in ("iro_manager", "integration", "iro")
        }
        self.progress = progress or (lambda _: None)
        self.wait_seconds = wait_seconds
        self.loaded = Loaded()

    def _send(
        self,
        method: str,
        path: str,
        role: str,
        body: dict[str, Any],
        expect: int,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        response = self.client.request(
            method, path, json=body, headers={**self.headers[role], **(headers or {})}
        )
        if response.status_code != expect:
            raise LoadError(f"{method} {path}: {response.status_code} {response.text[:600]}")
        return response

    def load(self, authority: Authority, chunk: int = 50) -> Loaded:
        """IROs first; then the children `chunk` at a time, each chunk whole (its children,
        episodes and plan dates, allocations, reviews and visits, then its disputes), those
        looked after on the last day first, so the worklists and the scorecard of today fill
        in first while the history of children who have left care follows."""
        started = time.perf_counter()
        self._iros(authority)
        order = sorted(
            range(len(authority.children)),
            key=lambda n: (authority.children[n].looked_after_on(authority.end) is None, n),
        )
        self.loaded.child_ids = [""] * len(authority.children)
        disputes: dict[int, list[Dispute]] = {}
        for dispute in authority.disputes:
            disputes.setdefault(dispute.child, []).append(dispute)
        for first in range(0, len(order), chunk):
            part = order[first : first + chunk]
            self._children(authority, part)
            for n in part:
                child_id = self.loaded.child_ids[n]
                self._allocations(authority.children[n], child_id)
                self._reviews_and_visits(authority.children[n], child_id)
            for n in part:
                for dispute in disputes.get(n, []):
                    self._dispute(dispute)
            self.progress(f"{first + len(part):,} of {len(order):,} children loaded")
        self.loaded.seconds = time.perf_counter() - started
        return self.loaded

    def _iros(self, authority: Authority) -> None:
        for iro in authority.iros:
            body = {"name": iro.name, "email": iro.email, "fte": iro.fte}
            body |= {"start_on": iro.start_on.isoformat()}
            if iro.end_on:
                body["end_on"] = iro.end_on.isoformat()
            made = self._send("POST", "/reviews/v1/iros", "iro_manager", body, 201).json()
            self.loaded.iro_ids.append(made["id"])
            self.loaded.count("iro")

    def _children(self, authority: Authority, part: list[int]) -> None:
        """The children of `part` with their episodes and plan dates, in batches."""
        items: list[dict[str, Any]] = []
        owners: list[int | None] = []  # the child each item is, for a child item

        def flush() -> None:
            if not items:
                return
            body = {"items": items}
            result = self._send("POST", "/reviews/v1/integration/batches", "integration", body, 200)
            for outcome, owner in zip(result.json()["results"], owners, strict=True):
                if outcome["outcome"] == "failed":
                    raise LoadError(f"integration item {outcome['key']}: {outcome['problem']}")
                if owner is not None:
                    self.loaded.child_ids[owner] = outcome["id"]
            self.loaded.count("integration_batch")
            self.loaded.count("integration_item", len(items))
            items.clear()
            owners.clear()

        for n in part:
            mine = _child_items(authority.children[n])
            if len(items) + len(mine) > BATCH_ITEMS:
                flush()
            items.extend(mine)
            owners.extend([n] + [None] * (len(mine) - 1))
        flush()

    def _allocations(self, child: Child, child_id: str) -> None:
        """Oldest first: each allocation ends the one before it (a leaver's children move the
        day after the leaver's last day, with the reason)."""
        for allocation in child.allocations:
            body: dict[str, Any] = {
                "iro_id": self.loaded.iro_ids[allocation.iro],
                "start_on": allocation.start_on.isoformat(),
            }
            if allocation.reason:
                body["reason"] = allocation.reason
            path = f"/reviews/v1/children/{child_id}/allocations"
            self._send("POST", path, "iro_manager", body, 201)
            self.loaded.count("allocation")

    def _reviews_and_visits(self, child: Child, child_id: str) -> None:
        records: list[tuple[date, int, dict[str, Any], str]] = []
        for review in child.reviews:
            body: dict[str, Any] = {
                "held_on": review.held_on.isoformat(),
                "participation_code": review.participation_code,
                "views_method": review.views_method,
            }
            if review.series_started_on:
                body["series_started_on"] = review.series_started_on.isoformat()
            if review.late_reason:
                body["late_reason"] = review.late_reason
            if review.late_reason_text:
                body["late_reason_text"] = review.late_reason_text
            records.append((review.held_on, 1, body, "reviews"))
        for visit in child.visits:
            body = {"kind": visit.kind, "visited_on": visit.visited_on.isoformat()}
            if child.allocations:
                body["iro_id"] = self.loaded.iro_ids[visit.iro]
            records.append((visit.visited_on, 0, body, "visits"))
        records.sort(key=lambda r: (r[0], r[1]))
        for _, _, body, kind in records:
            self._send("POST", f"/reviews/v1/children/{child_id}/{kind}", "iro", body, 201)
            self.loaded.count(kind.rstrip("s"))

    def _dispute(self, dispute: Dispute) -> None:
        body = {
            "child_id": self.loaded.child_ids[dispute.child],
            "iro_id": self.loaded.iro_ids[dispute.iro],
            "category": "lac",
            "raised_on": dispute.raised_on.isoformat(),
            "themes": dispute.themes,
            "issue": dispute.issue,
            "outcome_sought": dispute.outcome_sought,
        }
        made = self._raise(body)
        self.loaded.dispute_ids.append(made["id"])
        version = made["version"]
        for step in dispute.steps:
            path = f"/drp/v1/disputes/{made['id']}/{step.action.replace('_', '-')}"
            body = {**step.body, STEP_DATES[step.action]: step.on.isoformat()}
            if_match = {"If-Match": f'"{version}"'}
            version = self._send("POST", path, "iro", body, 200, if_match).json()["version"]
            self.loaded.count("dispute_step")

    def _raise(self, body: dict[str, Any]) -> dict[str, Any]:
        """drp-api knows a child once reviews-api's event about it has arrived: wait for it."""
        deadline = time.monotonic() + self.wait_seconds
        headers = self.headers["iro"]
        while True:
            response = self.client.post("/drp/v1/disputes", json=body, headers=headers)
            if response.status_code == 201:
                self.loaded.count("dispute")
                return dict(response.json())
            if response.status_code != 404 or time.monotonic() > deadline:
                raise LoadError(f"POST /drp/v1/disputes: {response.status_code} {response.text}")
            time.sleep(0.2)


def _child_items(child: Child) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {
            "type": "child",
            "external_id": child.external_id,
            "given_name": child.given_name,
            "family_name": child.family_name,
            "date_of_birth": child.date_of_birth.isoformat(),
            "sex": child.sex,
        }
    ]
    for episode in child.episodes:
        item: dict[str, Any] = {
            "type": "episode",
            "external_id": episode.external_id,
            "child_external_id": child.external_id,
            "start_on": episode.start.isoformat(),
            "reason_new_episode": episode.rne,
            "legal_status": episode.legal_status,
            "placement": episode.placement,
        }
        if episode.end:
            item |= {"end_on": episode.end.isoformat(), "reason_ended": episode.reason_ended}
        items.append(item)
    for kind, day in child.plan_dates:
        items.append(
            {
                "type": "plan_date",
                "child_external_id": child.external_id,
                "kind": kind,
                "dated_on": day.isoformat(),
            }
        )
    return items


def load(
    client: httpx.Client,
    authority: Authority,
    token_for: TokenFor,
    progress: Callable[[str], None] | None = None,
) -> Loaded:
    """Load `authority` through the routes of the services `client` reaches (its base URL
    the gateway or the all-in-one run: paths start /reviews and /drp)."""
    return Loader(client, token_for, progress).load(authority)


def dev_token(role: str) -> str:
    """A development token for `role`, signed with the services' development secret."""
    from iro_kit.tokens import mint_dev_token
    from reviews_api.settings import Settings

    settings = Settings()
    return mint_dev_token(
        [role],
        subject=f"synthetic-{role}",
        name="Synthetic data",
        secret=settings.jwt_dev_secret.get_secret_value(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=4 * 3600,
    )
