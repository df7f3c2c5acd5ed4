"""The audit trail: recorded in the request's transaction, append-only, purged only by purge()."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, mapped_column

from iro_kit import audit
from iro_kit.app import ServiceSpec, create_service_app
from iro_kit.audit_routes import audit_router
from iro_kit.auth import Principal, require_roles
from iro_kit.db import KitBase, SessionDep, new_metadata
from iro_kit.errors import Unprocessable
from iro_kit.settings import ServiceSettings
from iro_kit.testing import bearer

V1 = "/probe/v1"
CHILD = uuid.uuid4()
OTHER = uuid.uuid4()
IRO = bearer("iro", subject="iro-7")
MANAGER = bearer("iro_manager", subject="manager-1")
ADMIN = bearer("admin", subject="admin-1")


class _Base(KitBase):
    __abstract__ = True
    metadata = new_metadata()


class Case(_Base):
    __tablename__ = "probe_case"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(unique=True)


AUDIT = audit.audit_table(_Base.metadata)
CHILDREN = audit.child_table(AUDIT)
Anyone = Depends(require_roles())


def _router() -> APIRouter:
    router = APIRouter(prefix=V1, tags=["probe"])

    @router.get("/children/{child_id}", summary="A child in the path")
    async def read_child(child_id: uuid.UUID, session: SessionDep, _: Principal = Anyone) -> str:
        return f"the record of {child_id}"

    @router.get("/caseload", summary="Names children in the body")
    async def caseload(session: SessionDep, _: Principal = Anyone) -> list[str]:
        audit.touched(child_ids=[CHILD, OTHER, CHILD], resource_type="caseload")
        return [str(CHILD), str(OTHER)]

    @router.get("/no-session", summary="Names a child, opens no transaction")
    async def no_session(_: Principal = Anyone) -> str:
        audit.touched(child_ids=[CHILD])
        return "the record of a child"

    @router.get("/counts", summary="Names nobody: not audited")
    async def counts(session: SessionDep, _: Principal = Anyone) -> int:
        return 3

    @router.post("/cases", status_code=201, summary="A write")
    async def add_case(
        label: str, session: SessionDep, fail: bool = False, _: Principal = Anyone
    ) -> int:
        session.add(Case(label=label))
        audit.touched(child_ids=[CHILD], resource_type="case", resource_id=label)
        if fail:
            raise Unprocessable("refused after writing")
        return 1

    return router


SPEC = ServiceSpec(
    name="audit-probe",
    prefix="/probe",
    title="Audit probe",
    description="A service that exists only in the audit tests.",
    script_location=Path(__file__).parent / "fixture_migrations",
    routers=[_router(), audit_router("/probe")],
    audit=AUDIT,
)


def _migrate(url: str) -> None:
    """The tables as a service's migration makes them (create_audit_tables), plus the probe's."""
    from iro_kit.db import create_engine as create_async

    async def run() -> None:
        engine = create_async(url)
        async with engine.begin() as connection:
            await connection.run_sync(_create)
        await engine.dispose()

    asyncio.run(run())


def _create(connection: Any) -> None:
    Case.__table__.create(connection)
    audit.create_audit_tables(Operations(MigrationContext.configure(connection)))


@pytest.fixture
def app(database_url: str) -> FastAPI:
    _migrate(database_url)
    return create_service_app(SPEC, ServiceSettings(database_url=database_url))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _run(client: TestClient, statement: Any, params: Any = None) -> Any:
    """One statement through the application's own database (engine, role, session), on the
    application's own event loop."""

    async def go() -> Any:
        async with client.app.state.database.transaction() as session:  # type: ignore[attr-defined]
            result = await session.execute(statement, params)
            return result.all() if result.returns_rows else result.rowcount

    return client.portal.call(go)  # type: ignore[union-attr]


def _records(client: TestClient) -> list[Any]:
    return _run(client, select(AUDIT).order_by(AUDIT.c.at))


def _children_of(client: TestClient, audit_id: uuid.UUID) -> set[uuid.UUID]:
    rows = _run(client, select(CHILDREN.c.child_id).where(CHILDREN.c.audit_id == audit_id))
    return {row.child_id for row in rows}


def test_a_read_of_a_child_is_recorded_with_who_role_route_child_and_request_id(
    app: FastAPI, client: TestClient
) -> None:
    response = client.get(f"{V1}/children/{CHILD}", headers={**IRO, "X-Request-ID": "req-42"})
    assert response.status_code == 200
    (record,) = _records(client)
    assert record.subject == "iro-7"
    assert record.roles == "iro"
    assert record.action == "read"
    assert record.method == "GET"
    assert record.route == "/probe/v1/children/{child_id}"
    assert record.request_id == "req-42"
    assert record.status == 200
    assert (record.resource_type, record.resource_id) == ("child", str(CHILD))
    assert _children_of(client, record.id) == {CHILD}


def test_a_read_naming_children_records_each_once_and_other_reads_nothing(
    app: FastAPI, client: TestClient
) -> None:
    assert client.get(f"{V1}/caseload", headers=IRO).status_code == 200
    assert client.get(f"{V1}/counts", headers=IRO).status_code == 200
    for path in ("/health/live", "/health/ready", "/metrics", "/docs", "/openapi.json", "/v1/me"):
        client.get(f"/probe{path}", headers=IRO)
    (record,) = _records(client)
    assert record.route == "/probe/v1/caseload"
    assert record.resource_type == "caseload"
    assert _children_of(client, record.id) == {CHILD, OTHER}


def test_a_route_without_a_transaction_is_recorded_before_its_response(
    app: FastAPI, client: TestClient
) -> None:
    assert client.get(f"{V1}/no-session", headers=IRO).status_code == 200
    (record,) = _records(client)
    assert record.route == "/probe/v1/no-session"
    assert _children_of(client, record.id) == {CHILD}


def test_a_write_is_recorded_with_its_change_and_a_refused_one_leaves_neither(
    app: FastAPI, client: TestClient
) -> None:
    assert client.post(f"{V1}/cases?label=a", headers=IRO).status_code == 201
    assert client.post(f"{V1}/cases?label=b&fail=true", headers=IRO).status_code == 422
    # A commit that fails (a duplicate label) takes its audit record down with it.
    assert client.post(f"{V1}/cases?label=a", headers=IRO).status_code == 409
    (record,) = _records(client)
    assert (record.action, record.method, record.status) == ("create", "POST", 201)
    assert (record.resource_type, record.resource_id) == ("case", "a")
    assert _run(client, select(func.count()).select_from(Case.__table__)) == [(1,)]


@pytest.mark.parametrize("table", [AUDIT, CHILDREN], ids=["record", "child"])
def test_the_application_cannot_update_or_delete_audit_records(
    app: FastAPI, client: TestClient, table: Any
) -> None:
    client.get(f"{V1}/children/{CHILD}", headers=IRO)
    with pytest.raises(DBAPIError, match="append-only"):
        _run(client, table.update().values(at=datetime.now(UTC)))
    with pytest.raises(DBAPIError, match="append-only"):
        _run(client, table.delete())
    with pytest.raises(DBAPIError, match="append-only"):
        _run(client, text(f"DELETE FROM {table.name}"))  # noqa: S608
    assert len(_run(client, select(table))) == 1


def test_a_self_made_permit_for_recent_records_does_not_open_the_table(
    app: FastAPI, client: TestClient
) -> None:
    client.get(f"{V1}/children/{CHILD}", headers=IRO)
    cutoff = datetime.now(UTC) - timedelta(days=1)  # only older records may go

    async def try_delete() -> None:
        async with app.state.database.transaction() as session:
            if session.get_bind().dialect.name == "postgresql":
                await session.execute(
                    text("SELECT set_config('iro.audit_purge_before', :v, true)"),
                    {"v": cutoff.isoformat()},
                )
            else:
                await session.execute(
                    text("INSERT INTO audit_purge_permit (id, purge_before) VALUES (1, :v)"),
                    {"v": cutoff.strftime("%Y-%m-%d %H:%M:%S.%f")},
                )
            await session.execute(CHILDREN.delete())

    with pytest.raises(DBAPIError, match="append-only"):
        client.portal.call(try_delete)  # type: ignore[union-attr]


def test_truncate_is_refused_on_postgresql(client: TestClient, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("TRUNCATE is PostgreSQL's")
    for table in ("audit_record_child", "audit_record"):
        with pytest.raises(DBAPIError, match="append-only"):
            _run(client, text(f"TRUNCATE {table} CASCADE"))


def _purge(client: TestClient, settings: ServiceSettings) -> int:
    database = client.app.state.database  # type: ignore[attr-defined]
    return int(client.portal.call(audit.purge, database, AUDIT, settings))  # type: ignore[union-attr]


def _old_record(at: datetime, child_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "at": at,
        "subject": "iro-old",
        "roles": "iro",
        "action": "read",
        "method": "GET",
        "route": "/probe/v1/children/{child_id}",
    }


def test_purge_removes_only_what_outlived_retention_and_records_itself(
    app: FastAPI, client: TestClient
) -> None:
    now = datetime.now(UTC)
    old = [_old_record(now - timedelta(days=400 + i), CHILD) for i in range(3)]
    _run(client, insert(AUDIT), old)
    _run(
        client,
        insert(CHILDREN),
        [{"audit_id": r["id"], "child_id": CHILD, "at": r["at"]} for r in old],
    )
    client.get(f"{V1}/children/{CHILD}", headers=IRO)
    settings = ServiceSettings(
        database_url=app.state.settings.database_url, audit_retention_days=365
    )

    assert _purge(client, settings) == 3

    records = _records(client)
    assert [r.subject for r in records] == ["iro-7", "system"]
    purge_record = records[-1]
    assert purge_record.action == "audit.purge"
    assert purge_record.detail["count"] == 3
    cutoff = datetime.fromisoformat(purge_record.detail["before"])
    assert abs(cutoff - (now - timedelta(days=365))) < timedelta(minutes=1)
    assert len(_run(client, select(CHILDREN))) == 1
    # The permit ended with the purge's transaction: the table is closed again.
    with pytest.raises(DBAPIError, match="append-only"):
        _run(client, AUDIT.delete())
    # Nothing left to purge: no empty purge record.
    assert _purge(client, settings) == 0
    assert len(_records(client)) == 2


def test_managers_and_admins_query_by_child_and_by_user_and_the_query_is_audited(
    app: FastAPI, client: TestClient
) -> None:
    client.get(f"{V1}/children/{CHILD}", headers=IRO)
    client.get(f"{V1}/children/{OTHER}", headers=bearer("iro", subject="iro-8"))
    client.get(f"{V1}/caseload", headers=IRO)

    for role in ("iro", "business_support", "performance", "integration"):
        denied = client.get(f"{V1}/audit", headers=bearer(role))
        assert denied.status_code == 403, role
    by_child = client.get(f"{V1}/audit", params={"child_id": str(CHILD)}, headers=MANAGER)
    assert by_child.status_code == 200, by_child.text
    items = by_child.json()["items"]
    assert [i["route"] for i in items] == [f"{V1}/caseload", f"{V1}/children/{{child_id}}"]
    assert items[0]["child_ids"] == sorted([str(CHILD), str(OTHER)])
    assert items[0]["at"].endswith("Z")

    by_user = client.get(f"{V1}/audit", params={"subject": "iro-8"}, headers=ADMIN).json()
    assert [i["child_ids"] for i in by_user["items"]] == [[str(OTHER)]]

    paged = client.get(f"{V1}/audit", params={"limit": 2, "count": "true"}, headers=ADMIN)
    body = paged.json()
    assert len(body["items"]) == 2 and body["next_cursor"] and body["total"] >= 4
    rest = client.get(f"{V1}/audit", params={"cursor": body["next_cursor"]}, headers=ADMIN)
    assert rest.status_code == 200

    # Reading the trail is itself on the trail, naming the child asked about.
    latest = client.get(f"{V1}/audit", params={"limit": 1}, headers=ADMIN).json()["items"][0]
    assert latest["resource_type"] == "audit"
    reads = client.get(f"{V1}/audit", params={"subject": "manager-1"}, headers=ADMIN).json()
    assert reads["items"][0]["child_ids"] == [str(CHILD)]
    assert reads["items"][0]["roles"] == ["iro_manager"]


def test_the_query_checks_its_days(client: TestClient) -> None:
    today = datetime.now(UTC).date()
    empty = client.get(f"{V1}/audit", params={"from": str(today), "to": str(today)}, headers=ADMIN)
    assert empty.status_code == 200
    backwards = client.get(
        f"{V1}/audit", params={"from": "2020-01-02", "to": "2020-01-01"}, headers=ADMIN
    )
    assert backwards.status_code == 422
    assert (
        client.get(f"{V1}/audit", params={"from": "1900-01-01"}, headers=ADMIN).status_code == 422
    )


def test_a_read_whose_record_cannot_be_written_sends_no_data(
    app: FastAPI, client: TestClient, database_url: str
) -> None:
    if database_url.startswith("postgresql"):
        refuse = [
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_record "
            "FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]
    else:
        refuse = [
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_record "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        ]
    for statement in refuse:
        _run(client, text(statement))
    for path in (f"{V1}/children/{CHILD}", f"{V1}/no-session"):
        response = client.get(path, headers=IRO)
        assert response.status_code >= 400, path
        assert "the record of" not in response.text
    assert _records(client) == []
