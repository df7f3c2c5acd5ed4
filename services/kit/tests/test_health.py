"""Liveness needs nothing; readiness needs the database at the latest migration."""

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient


def _without_startup(app: FastAPI) -> TestClient:
    """A client on an app whose database went away after start-up (which waits for it)."""
    return TestClient(app, raise_server_exceptions=False)


def test_live_is_200_without_a_database(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(migrate=False, database_url="sqlite+aiosqlite:////nonexistent/dir/x.db")
    response = _without_startup(app).get("/kit/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "kit-probe"}


def test_ready_is_200_when_migrated(client: TestClient) -> None:
    response = client.get("/kit/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "service": "kit-probe",
        "database": "ok",
        "migration": "kit_0002",
    }


def test_ready_is_503_when_the_database_is_unreachable(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(migrate=False, database_url="sqlite+aiosqlite:////nonexistent/dir/x.db")
    response = _without_startup(app).get("/kit/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"] == "The database is unreachable."


def test_ready_is_503_on_an_unreachable_postgres_server(make_app: Callable[..., FastAPI]) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    app = make_app(migrate=False, database_url="postgresql://nobody@127.0.0.1:9/none")
    response = _without_startup(app).get("/kit/health/ready")
    assert response.status_code == 503
    assert response.json()["detail"] == "The database is unreachable."


def test_business_route_is_503_when_the_database_is_down(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(migrate=False, database_url="postgresql://nobody@127.0.0.1:9/none")
    response = _without_startup(app).get("/kit/v1/notes")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"


def test_ready_is_503_when_migrations_are_not_applied(make_app: Callable[..., FastAPI]) -> None:
    with TestClient(make_app(migrate=False)) as client:
        response = client.get("/kit/health/ready")
    assert response.status_code == 503
    assert "not at the latest migration" in response.json()["detail"]


def test_migrate_on_startup_brings_the_database_to_head(make_app: Callable[..., FastAPI]) -> None:
    with TestClient(make_app(migrate=False, migrate_on_startup=True)) as client:
        assert client.get("/kit/health/ready").status_code == 200
