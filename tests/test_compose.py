"""docker-compose.yml is valid (no engine needed to check it)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from iro_kit.testing import skip_unless_available

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        skip_unless_available(
            "docker-compose", "needs docker-compose (apt-get install docker-compose); CI has it"
        )
    return str(binary)


def test_compose_file_is_valid(compose: str) -> None:
    result = subprocess.run([compose, "config", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_compose_runs_postgres_three_services_and_the_gateway(compose: str) -> None:
    result = subprocess.run(
        [compose, "config", "--services"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert set(result.stdout.split()) == {
        "postgres",
        "reviews-api",
        "drp-api",
        "scorecard-api",
        "gateway",
    }
