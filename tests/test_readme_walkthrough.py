"""The README's walkthrough, run command by command from the README's own text, against the
system started as the README starts it (`make run`), so the two cannot drift apart.

The walkthrough is the ```sh block between `<!-- walkthrough:begin -->` and
`<!-- walkthrough:end -->`. Each command runs in one bash session (variables carry from one to
the next) with `set -euo pipefail`; the first that fails fails the test and is named. `BASE` is
the one thing the test sets: the README's text defaults it to http://localhost:8000.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from iro_kit.testing import skip_unless_available

from .conftest import SERVICES, free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- walkthrough:begin -->", "<!-- walkthrough:end -->"


def walkthrough_commands(readme: str) -> list[str]:
    """The walkthrough's commands: one per line, a line ending in `\\` joined to the next,
    comments and blank lines left out."""
    section = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "the walkthrough section has no ```sh block"
    commands: list[str] = []
    pending = ""
    for line in "\n".join(blocks).splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        commands.append(pending + line)
        pending = ""
    assert not pending, "the walkthrough ends in a continued line"
    return commands


def _script(commands: list[str]) -> str:
    lines = ["set -euo pipefail"]
    for number, command in enumerate(commands, 1):
        lines.append(f"echo '>>> {number}' >&2")
        lines.append(command)
    lines.append("echo '>>> done' >&2")
    return "\n".join(lines) + "\n"


def test_the_walkthrough_section_parses() -> None:
    commands = walkthrough_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) >= 8
    assert any("make -s token" in command for command in commands)


@pytest.fixture
def local_run(tmp_path: Path):
    """`make run` as the README says, on a free port, with its databases in tmp_path."""
    if shutil.which("make") is None:
        pytest.skip("needs make, as the README does")
    port = free_port()
    env = {**os.environ, "IRO_DEMO": "off"}  # the walkthrough's own records only
    for info in SERVICES:
        env[f"{info.env_prefix}DATABASE_URL"] = (
            f"sqlite+aiosqlite:///{tmp_path / 'var' / info.module}.db"
        )
    process = subprocess.Popen(
        ["make", "-s", "run", f"PORT={port}", "HOST=127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for info in SERVICES:
            wait_until(f"{base}{info.prefix}/health/ready", timeout=90)
        yield base, env
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_readme_walkthrough_runs_as_written(local_run) -> None:
    for tool in ("curl", "jq"):
        if shutil.which(tool) is None:
            skip_unless_available(tool, f"the walkthrough uses {tool} (apt-get install {tool})")
    base, env = local_run
    commands = walkthrough_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    result = subprocess.run(
        ["bash", "-c", _script(commands)],
        cwd=ROOT,
        env={**env, "BASE": base},
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(result.stdout)  # what each step answered (pytest -s shows it)
    reached = re.findall(r">>> (\w+)", result.stderr)
    last = reached[-1] if reached else "none"
    failed = commands[int(last) - 1] if last.isdigit() else last
    assert result.returncode == 0 and last == "done", (
        f"walkthrough command {last} failed: {failed}\n"
        f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
    )
