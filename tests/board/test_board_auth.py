"""Board access: sign-in cookie flags, CSRF, what a session may do, expiry, wallboard links, public mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.board.helpers import csrf_of, seed_board, set_cookie_header, sign_in
from tests.conftest import FakeClock, make_key


def test_nothing_without_authentication(client: TestClient) -> None:
    board = client.get("/?tier=gold", follow_redirects=False)
    assert board.status_code == 303
    assert board.headers["location"] == "/login?next=%2F%3Ftier%3Dgold"
    assert client.get("/tickets/api/T-1", follow_redirects=False).status_code == 303
    data = client.get("/board/data")
    assert data.status_code == 401
    assert data.headers["content-type"].startswith("application/problem+json")


def test_sign_in_sets_a_hardened_session_cookie(client: TestClient, db: Database) -> None:
    response = sign_in(client, make_key(db, "read"), "/tickets/api/T-1")
    assert response.status_code == 303
    assert response.headers["location"] == "/tickets/api/T-1"
    cookie = set_cookie_header(response, "sla_board").lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "max-age=43200" in cookie  # 12 hours
    assert "secure" not in cookie  # plain http here; see the https test
    assert client.get("/", follow_redirects=False).status_code == 200


def test_cookie_is_secure_over_https(db: Database, clock: FakeClock, settings: Settings) -> None:
    app = create_app(settings, database=db, now=clock, run_workers=False)
    with TestClient(app, base_url="https://board.example") as secure_client:
        response = sign_in(secure_client, make_key(db, "read"))
        assert "secure" in set_cookie_header(response, "sla_board").lower()
        assert "secure" in set_cookie_header(secure_client.get("/login"), "sla_login").lower()


def test_login_refuses_a_missing_or_foreign_csrf_token(client: TestClient, db: Database) -> None:
    key = make_key(db, "read")
    client.get("/login")
    no_token = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
    assert no_token.status_code == 403
    assert "sla_board" not in no_token.headers.get("set-cookie", "")
    # A token from another browser's form does not match this browser's nonce cookie.
    with TestClient(client.app) as other:
        foreign = csrf_of(other.get("/login").text)
    assert client.post("/login", data={"key": key, "csrf": foreign}, follow_redirects=False).status_code == 403


def test_wrong_key_and_open_redirects_are_refused(client: TestClient, db: Database) -> None:
    assert sign_in(client, "slat_nothere_x").status_code == 401
    response = sign_in(client, make_key(db, "read"), "//evil.example/")
    assert response.headers["location"] == "/"


def test_a_session_only_reads_even_with_an_admin_key(client: TestClient, db: Database) -> None:
    sign_in(client, make_key(db, "admin"))
    assert client.get("/api/v1/clocks").status_code == 200  # the board's scripts may read the API
    assert client.get("/api/v1/apikeys").status_code == 403  # but never with more than `read`
    posted = client.post(
        "/api/v1/events", json={"source": "api", "key": "T", "id": "1", "type": "created", "at": "2025-01-06T09:00:00Z"}
    )
    assert posted.status_code == 401  # a cookie never authorises a change


def test_tampered_cookie_is_ignored(client: TestClient, db: Database) -> None:
    sign_in(client, make_key(db, "read"))
    value = client.cookies["sla_board"]
    client.cookies.set("sla_board", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/", follow_redirects=False).status_code == 303


def test_logout_needs_the_session_csrf_token(client: TestClient, db: Database) -> None:
    sign_in(client, make_key(db, "read"))
    page = client.get("/")
    stolen = client.cookies["sla_board"]
    assert client.post("/logout", data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
    out = client.post("/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    client.cookies.set("sla_board", stolen)  # the old cookie is dead on the server too
    assert client.get("/", follow_redirects=False).status_code == 303


def test_session_ends_with_its_key_or_after_its_hours(
    client: TestClient, db: Database, admin_headers: dict[str, str], clock: FakeClock
) -> None:
    created = client.post("/api/v1/apikeys", json={"name": "viewer", "scope": "read"}, headers=admin_headers).json()
    sign_in(client, created["key"])
    assert client.get("/", follow_redirects=False).status_code == 200
    clock.advance(hours=11)
    assert client.get("/board/data").status_code == 200
    clock.advance(hours=2)
    assert client.get("/board/data").status_code == 401
    sign_in(client, created["key"])
    assert client.get("/board/data").status_code == 200
    client.delete(f"/api/v1/apikeys/{created['id']}", headers=admin_headers)
    assert client.get("/board/data").status_code == 401


def test_wallboard_links_are_admin_made_read_only_and_revocable(
    client: TestClient, admin_headers: dict[str, str], read_headers: dict[str, str], clock: FakeClock
) -> None:
    seed_board(client, admin_headers)
    body = {"name": "L1 TV", "filters": {"priority": ["P1"]}}
    assert client.post("/api/v1/wallboards", json=body, headers=read_headers).status_code == 403
    made = client.post("/api/v1/wallboards", json=body, headers=admin_headers)
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    assert url.startswith("/wall/wall_")
    bad = client.post("/api/v1/wallboards", json={"name": "x", "filters": {"colour": ["red"]}}, headers=admin_headers)
    assert bad.json()["errors"][0]["field"] == "filters.colour"

    with TestClient(client.app) as tv:
        screen = tv.get(url)
        assert screen.status_code == 200
        assert "L1 TV" in screen.text
        assert 'class="board-page wall"' in screen.text
        assert "sla_board" in tv.cookies
        assert {r["key"] for r in tv.get("/board/data?priority=P1").json()["rows"]} == {"T-1"}
        assert tv.get("/api/v1/apikeys").status_code == 403  # a wall session only reads

        listed = client.get("/api/v1/wallboards", headers=admin_headers).json()
        assert listed[0]["last_seen_at"] is not None
        assert "url" not in listed[0]
        assert client.delete(f"/api/v1/wallboards/{listed[0]['id']}", headers=admin_headers).status_code == 204
        assert tv.get("/board/data").status_code == 401  # the screen loses access at once
        again = tv.get(url, follow_redirects=False)
        assert (again.status_code, again.headers["location"]) == (303, "/login?error=wall")
        assert "revoked" in tv.get("/login?error=wall").text
    assert client.delete(f"/api/v1/wallboards/{listed[0]['id']}", headers=admin_headers).status_code == 404


@pytest.fixture
def public_client(db: Database, clock: FakeClock, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(env="test", data_dir=tmp_path, access_log=False, session_secret="x" * 40, board_public=True)
    with TestClient(create_app(settings, database=db, now=clock, run_workers=False)) as public:
        yield public


def test_public_board_opens_the_board_and_nothing_else(public_client: TestClient) -> None:
    assert public_client.get("/", follow_redirects=False).status_code == 200
    assert public_client.get("/board/data").status_code == 200
    assert public_client.get("/api/v1/clocks").status_code == 401
    assert public_client.get("/api/v1/wallboards").status_code == 401
