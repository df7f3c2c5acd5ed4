"""Each service boots from its own factory with the kit's routes, auth and docs."""

from __future__ import annotations

import importlib
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer

from .conftest import SERVICES, ServiceInfo


@pytest.fixture(params=SERVICES, ids=lambda info: info.module)
def service(request: pytest.FixtureRequest, database_url: str):
    info: ServiceInfo = request.param
    app_module = importlib.import_module(f"{info.module}.app")
    settings_module = importlib.import_module(f"{info.module}.settings")
    upgrade_to_head(app_module.SPEC.script_location, database_url)
    app = app_module.create_app(settings_module.Settings(database_url=database_url))
    with TestClient(app) as client:
        yield info, client


def test_health_docs_and_identity(service) -> None:
    info, client = service
    assert client.get(f"{info.prefix}/health/live").status_code == 200
    ready = client.get(f"{info.prefix}/health/ready")
    assert ready.status_code == 200, ready.text
    assert client.get(f"{info.prefix}/docs").status_code == 200
    assert client.get(f"{info.prefix}/metrics").status_code == 200
    assert client.get(f"{info.prefix}/v1/me").status_code == 401
    me = client.get(f"{info.prefix}/v1/me", headers=bearer("performance"))
    assert me.json()["roles"] == ["performance"]


def test_openapi_lists_every_route_under_the_prefix_with_tags_and_ids(service) -> None:
    info, client = service
    schema = client.get(f"{info.prefix}/openapi.json").json()
    assert schema["paths"]
    for path, item in schema["paths"].items():
        assert path.startswith(f"{info.prefix}/"), path
        for operation in item.values():
            assert operation["tags"], path
            assert operation["summary"], path
            # <service>-<tag>-<name>: unique across the three services (one generated client).
            prefix = f"{info.prefix.strip('/')}-{operation['tags'][0]}-"
            assert operation["operationId"].startswith(prefix), operation["operationId"]


def test_settings_read_the_services_own_env_prefix(
    monkeypatch: pytest.MonkeyPatch, service
) -> None:
    info, _ = service
    settings_module = importlib.import_module(f"{info.module}.settings")
    monkeypatch.setenv(f"{info.env_prefix}LOG_LEVEL", "WARNING")
    monkeypatch.setenv("OTHER_LOG_LEVEL", "DEBUG")
    assert settings_module.Settings().log_level == "WARNING"


def test_every_route_but_ops_and_docs_needs_a_token(service) -> None:
    info, client = service
    checked = 0
    for template, operations in client.get(f"{info.prefix}/openapi.json").json()["paths"].items():
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), template)
        for method, operation in operations.items():
            if "ops" in operation["tags"]:
                continue
            body = {} if method in ("post", "put", "patch", "delete") else None
            response = client.request(method.upper(), path, json=body)
            assert response.status_code == 401, (method, template, response.status_code)
            assert response.headers["content-type"] == "application/problem+json"
            checked += 1
    assert checked >= 1
