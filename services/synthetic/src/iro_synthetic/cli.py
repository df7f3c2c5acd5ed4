"""`python -m iro_synthetic`: a synthetic authority, loaded into running services or written
as SSDA903 files.

    python -m iro_synthetic summary --children 5000           # what the seed makes, as JSON
    python -m iro_synthetic load --url http://127.0.0.1:8000  # through the services' routes
    python -m iro_synthetic write-903 out/ --year-end 2026    # the return for 2025/26

The same `--seed`, `--children`, `--years` and `--end` give the same authority. `load` mints
development tokens with the services' development secret (`REVIEWS_JWT_DEV_SECRET`), so it is
for development and test systems.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path

from iro_synthetic.model import Authority, generate

DEFAULT_SEED = 2026


def summary(authority: Authority) -> dict[str, object]:
    """Counts and shares of what the authority holds, for a person to judge at a glance."""
    on_end = authority.looked_after_on(authority.end)
    statuses = Counter(
        episode.legal_status
        for child in on_end
        if (episode := child.looked_after_on(authority.end)) is not None
    )
    reviews = [r for c in authority.children for r in c.reviews]
    return {
        "seed": authority.seed,
        "from": authority.start.isoformat(),
        "to": authority.end.isoformat(),
        "children": len(authority.children),
        "looked_after_on_last_day": len(on_end),
        "legal_status_on_last_day": dict(statuses.most_common()),
        "iros": len(authority.iros),
        "iro_fte_on_last_day": sum(
            i.fte for i in authority.iros if i.end_on is None or i.end_on >= authority.end
        ),
        "episodes": sum(len(c.episodes) for c in authority.children),
        "reviews": len(reviews),
        "reviews_in_timescale": round(
            sum(r.in_timescale for r in reviews) / max(len(reviews), 1), 3
        ),
        "visits": sum(len(c.visits) for c in authority.children),
        "plan_dates": sum(len(c.plan_dates) for c in authority.children),
        "allocations": sum(len(c.allocations) for c in authority.children),
        "disputes": len(authority.disputes),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m iro_synthetic", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("summary", "load", "write-903"):
        command = commands.add_parser(name)
        command.add_argument("--seed", type=int, default=DEFAULT_SEED)
        command.add_argument("--children", type=int, default=1400)
        command.add_argument("--years", type=int, default=5)
        command.add_argument("--end", type=date.fromisoformat, default=None, help="default today")
        if name == "load":
            command.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8000")
            command.add_argument(
                "--wait", type=float, default=0.0, help="seconds to wait for the server first"
            )
            command.add_argument("--label", default="load", help="how each console line starts")
        if name == "write-903":
            command.add_argument("folder", type=Path)
            command.add_argument(
                "--year-end", type=int, help="the year the collection ends in (default the latest)"
            )
    args = parser.parse_args(argv)
    authority = generate(args.seed, args.children, args.years, args.end)
    if args.command == "summary":
        print(json.dumps(summary(authority), indent=2))
    elif args.command == "write-903":
        from iro_synthetic.ssda903 import latest_year_end, write_return

        year_end = args.year_end or latest_year_end(authority)
        rows = write_return(authority, args.folder, year_end)
        print(json.dumps({"year_end": year_end, "rows": rows}))
    else:
        return _load(authority, args.url, args.wait, args.label)
    return 0


def _load(authority: Authority, url: str, wait: float, label: str) -> int:
    import time

    import httpx

    from iro_synthetic.load import dev_token, load

    def say(line: str) -> None:
        print(f"{label}: {line}", file=sys.stderr, flush=True)

    deadline = time.monotonic() + wait
    while True:
        try:
            if httpx.get(f"{url}/drp/health/ready", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            say(f"{url} did not answer; nothing loaded")
            return 1
        time.sleep(0.2)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            loaded = load(client, authority, dev_token, say)
    except (httpx.HTTPError, RuntimeError) as exc:  # LoadError, or the server went away
        say(f"loading stopped: {exc}")
        return 1
    say(
        f"loaded in {loaded.seconds:.0f} s: {len(loaded.child_ids):,} children, "
        f"{loaded.counts.get('review', 0):,} reviews, {loaded.counts.get('visit', 0):,} visits, "
        f"{len(loaded.dispute_ids):,} disputes"
    )
    print(json.dumps({"counts": loaded.counts, "seconds": round(loaded.seconds, 1)}))
    return 0
