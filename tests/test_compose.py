"""docker-compose.yml is valid (no engine needed to check it)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_is_valid() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("needs docker-compose (apt-get install docker-compose); CI installs it")
    result = subprocess.run([binary, "config", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_compose_runs_postgres_three_services_and_the_gateway() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("needs docker-compose (apt-get install docker-compose); CI installs it")
    result = subprocess.run(
        [binary, "config", "--services"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert set(result.stdout.split()) == {
        "postgres",
        "reviews-api",
        "drp-api",
        "scorecard-api",
        "gateway",
    }
