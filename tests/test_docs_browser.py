"""Swagger UI and ReDoc render every service's operations in a real browser with no network.

Councils run the services on closed networks, so the docs pages must come up with nothing
but the service (and the gateway) to talk to. Each page is loaded in Debian's headless
Chromium, blocked from everything but loopback (the first tests prove the block holds), and
the DOM it renders must hold the operations of that service's own OpenAPI: directly against
each service and through nginx.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from iro_kit.testing import skip_unless_available

from .conftest import SERVICES, RunningService

# No host name resolves (nor an IP literal but loopback's), and everything not on loopback goes
# to a dead proxy (port 9, discard: nothing listens); Chromium never proxies loopback. Either
# alone blocks a non-loopback address: the control tests below show it.
NO_DNS = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
NO_NETWORK = (NO_DNS, "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1")
# Virtual time runs only while the page is idle, so this is time for scripts to run and
# render once the assets and the OpenAPI have loaded, not a wall-clock wait.
RENDER_BUDGET_MS = 30_000
LAUNCH_TIMEOUT_S = 120
# The CDN the pages used to load Swagger UI from (FastAPI's default).
CDN_BUNDLE = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        skip_unless_available("chromium", "needs Debian's chromium (apt-get install chromium)")
    return found  # type: ignore[return-value]


def _dump_dom(url: str, profile: Path, *, network: tuple[str, ...] = NO_NETWORK) -> str:
    """The DOM once the page has rendered, from a fresh profile (no cache between loads)."""
    chromium = _chromium()
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={profile}",
            *network,
            f"--virtual-time-budget={RENDER_BUDGET_MS}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT_S,
        check=True,
        env={**os.environ, "HOME": str(profile)},
    )
    return result.stdout


class _Texts(HTMLParser):
    """The text of every element the predicate picks, nested text included."""

    # HTML's void elements have no end tag (SVG's, as --dump-dom writes them, do).
    VOID = frozenset(
        [
            "area",
            "base",
            "br",
            "col",
            "embed",
            "hr",
            "img",
            "input",
            "link",
            "meta",
            "source",
            "track",
            "wbr",
        ]
    )

    def __init__(self, picks: Callable[[str, dict[str, str]], bool]) -> None:
        super().__init__()
        self.picks = picks
        self.stack: list[tuple[str, bool, list[str]]] = []
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append((tag, self.picks(tag, {k: v or "" for k, v in attrs}), []))

    def handle_endtag(self, tag: str) -> None:
        if all(name != tag for name, _, _ in self.stack):
            return  # a stray end tag closes nothing
        while self.stack:
            name, picked, text = self.stack.pop()
            if picked:
                self.found.append(" ".join("".join(text).split()))
            if self.stack:
                self.stack[-1][2].extend(text)
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.stack:
            self.stack[-1][2].append(data)


def _texts(dom: str, picks: Callable[[str, dict[str, str]], bool]) -> Counter[str]:
    parser = _Texts(picks)
    parser.feed(dom)
    parser.close()
    return Counter(parser.found)


def _swagger_ui_summaries(dom: str) -> Counter[str]:
    # Each operation's collapsed row: `<div class="opblock-summary-description">Summary</div>`.
    return _texts(dom, lambda tag, a: "opblock-summary-description" in a.get("class", "").split())


def _redoc_headings(dom: str) -> Counter[str]:
    # Each operation's section opens with `<h2>Summary</h2>` (tags have h1s, a few h2s too).
    return _texts(dom, lambda tag, a: tag == "h2")


def _summaries(openapi: dict) -> Counter[str]:
    operations = [
        operation
        for path in openapi["paths"].values()
        for method, operation in path.items()
        if method in METHODS
    ]
    assert all(operation.get("summary") for operation in operations), "an operation lacks one"
    return Counter(" ".join(operation["summary"].split()) for operation in operations)


# --- The block: loopback is reachable, nothing else is ---------------------------------------


class _Probe(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b"window.probed = true;"
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def probe() -> Iterator[tuple[str, list[str]]]:
    """A script served on this machine's own non-loopback address: `(url, requests seen)`."""
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to probe the block with")
    hits: list[str] = []
    handler = type("Probe", (_Probe,), {"hits": hits})
    server = http.server.ThreadingHTTPServer((address, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{address}:{server.server_address[1]}/probe.js", hits
    finally:
        server.shutdown()
        server.server_close()


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # UDP: picks the outgoing address, sends nothing
        except OSError:
            return None
        address = str(sock.getsockname()[0])
    return None if address.startswith("127.") else address


def _script_page(path: Path, scripts: dict[str, str]) -> str:
    """A page loading each script, then writing whether each loaded or failed to load."""
    assert all(name.isidentifier() for name in scripts)
    tags = "\n".join(
        f'<script src="{src}" onload="seen.{name}=\'load\'" onerror="seen.{name}=\'error\'">'
        "</script>"
        for name, src in scripts.items()
    )
    path.write_text(
        f"""<!DOCTYPE html><html><head><script>window.seen = {{}};</script>
{tags}
</head><body><pre id="seen"></pre><script>
window.addEventListener("load", () => {{
  document.getElementById("seen").textContent = JSON.stringify(window.seen);
}});
</script></body></html>"""
    )
    return path.as_uri()


def _seen(dom: str) -> dict[str, str]:
    start = dom.index('<pre id="seen">') + len('<pre id="seen">')
    return json.loads(dom[start : dom.index("</pre>", start)])


def test_blocked_chromium_loads_loopback_assets_but_not_the_cdn(
    running_services: dict[str, RunningService], tmp_path: Path
) -> None:
    service = running_services["reviews_api"]
    page = _script_page(
        tmp_path / "page.html",
        {
            "loopback": f"{service.url}/reviews/docs/assets/swagger-ui-bundle.js",
            "cdn": CDN_BUNDLE,
        },
    )
    assert _seen(_dump_dom(page, tmp_path / "profile")) == {"loopback": "load", "cdn": "error"}


def test_blocked_chromium_cannot_reach_a_non_loopback_address(
    probe: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, hits = probe
    page = _script_page(tmp_path / "page.html", {"probe": url})
    # The control: with no flags the address is reachable, so a failure below is the flags'.
    assert _seen(_dump_dom(page, tmp_path / "open", network=())) == {"probe": "load"}
    assert hits == ["/probe.js"]
    # Each half of the block stops it alone (IP literals included), and so do both together,
    # as every docs page below is loaded: the request never arrives.
    for name, network in (("dns", (NO_DNS,)), ("proxy", NO_NETWORK[1:]), ("both", NO_NETWORK)):
        assert _seen(_dump_dom(page, tmp_path / name, network=network)) == {"probe": "error"}
        assert hits == ["/probe.js"], name


# --- The docs pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["direct", "gateway"])
@pytest.mark.parametrize("page", ["docs", "redoc"])
@pytest.mark.parametrize("info", SERVICES, ids=[info.prefix.strip("/") for info in SERVICES])
def test_docs_page_renders_every_operation_offline(
    request: pytest.FixtureRequest,
    running_services: dict[str, RunningService],
    tmp_path: Path,
    info,
    page: str,
    via: str,
) -> None:
    _chromium()  # skip (or fail under IRO_TEST_REQUIRE) before starting nginx
    base = running_services[info.module].url
    if via == "gateway":
        base = request.getfixturevalue("gateway").url
    openapi = httpx.get(f"{base}{info.prefix}/openapi.json", timeout=30)
    assert openapi.status_code == 200, openapi.text
    expected = _summaries(openapi.json())
    assert len(expected) >= 5, "too few operations to tell a rendered page from a stub"

    dom = _dump_dom(f"{base}{info.prefix}/{page}", tmp_path / "profile")

    if page == "docs":
        rendered = _swagger_ui_summaries(dom)
        assert "Failed to load API definition" not in dom
        # Every operation once (Swagger UI lists them all, collapsed), and nothing else.
        assert rendered == expected, _difference(expected, rendered)
    else:
        rendered = _redoc_headings(dom)
        assert expected - rendered == Counter(), _difference(expected, rendered)
    # The operations are the service's own, by their (service-prefixed) operation ids.
    first = next(iter(next(iter(openapi.json()["paths"].values())).values()))
    assert first["operationId"] in dom


def _difference(expected: Counter[str], rendered: Counter[str]) -> str:
    return f"missing {sorted(expected - rendered)}, unexpected {sorted(rendered - expected)}"
