"""The board's pages: ``/`` (live board), ``/tickets/{source}/{key}``, ``/wall/{token}``, ``/login``, ``/logout``.

Pages answer a browser without a session with a redirect to ``/login`` (unless
``SLA_BOARD_PUBLIC=true``); forms carry a CSRF token bound to the browser's
session (or, before sign-in, to a login nonce cookie) and are refused without it.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth.deps import record_use
from app.auth.service import Principal, authenticate
from app.board import auth, render, wallboards
from app.board.service import FILTERS, BoardFilter, board_data, filter_options
from app.board.timeline import ticket_page
from app.core.deps import DatabaseDep, NowDep, SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)

FILTER_LABELS = {name: name.capitalize() for name in FILTERS}
STREAM_URL = "/api/v1/stream"
_LOGIN_NONCE_SECONDS = 3600
INITIAL_ROWS = 200


async def form_fields(request: Request) -> dict[str, str]:
    """An urlencoded form body as a dict (the board's forms have single-valued fields)."""
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


Form = Annotated[dict[str, str], Depends(form_fields)]


def _safe_next(value: str | None) -> str:
    """Only same-site paths: never an open redirect to another host."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


def _to_login(request: Request, error: str | None = None) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = {"next": target} if not error else {"error": error}
    return RedirectResponse(f"/login?{urlencode(query)}", status_code=303)


def _logout_csrf(request: Request, viewer: Principal) -> str | None:
    token = auth.cookie_session(request)
    return auth.csrf_token(auth.board_secret(request), token) if token and viewer is not auth.PUBLIC else None


def _board(request: Request, viewer: Principal, f: BoardFilter, data: dict[str, Any], **extra: object) -> Response:
    data_url = "/board/data" + (f"?{urlencode(f.as_pairs())}" if f.as_pairs() else "")
    state_links = {
        state: "/?" + urlencode([p for p in f.as_pairs() if p[0] != "state"] + [("state", state)])
        for state in render.STATE_LABELS
    }
    # The page carries the first screens of rows so it draws at once; its script fetches the rest.
    rows = data["rows"]
    initial = {**data, "rows": rows[:INITIAL_ROWS], "partial": len(rows) > INITIAL_ROWS}
    config = {"dataUrl": data_url, "streamUrl": STREAM_URL, "initial": initial}
    return render.page(
        request,
        "board.html",
        {
            "viewer": viewer,
            # A wall screen has nobody to sign out; its session ends with the link.
            "logout_csrf": None if extra.get("wall") else _logout_csrf(request, viewer),
            "data": data,
            "filters": f.as_dict(),
            "filter_names": FILTERS,
            "filter_labels": FILTER_LABELS,
            "state_links": state_links,
            "data_url": data_url,
            "config_json": render.script_json(config),
            **extra,
        },
    )


@router.get("/", response_class=HTMLResponse)
def board_page(request: Request, session: SessionDep, now: NowDep) -> Response:
    """The live board: open clocks, soonest breach first, filtered by the query string."""
    viewer = auth.viewer(request, session, now)
    if viewer is None:
        return _to_login(request)
    f = BoardFilter.parse(request.query_params.multi_items())
    return _board(request, viewer, f, board_data(session, f, now), options=filter_options(session), wall=False)


@router.get("/tickets/{source}/{key}", response_class=HTMLResponse)
def ticket(source: str, key: str, request: Request, session: SessionDep, now: NowDep) -> Response:
    """One ticket: every clock with its timeline, the event history, policy and exemptions."""
    viewer = auth.viewer(request, session, now)
    if viewer is None:
        return _to_login(request)
    page = ticket_page(session, source, key, now)
    context = {"viewer": viewer, "logout_csrf": _logout_csrf(request, viewer), "page": page, "t": page["status"].ticket}
    return render.page(request, "ticket.html", context)


@router.get("/wall/{token}", response_class=HTMLResponse)
def wall(token: str, request: Request, database: DatabaseDep, now: NowDep, settings: SettingsDep) -> Response:
    """A wallboard link: opens a read-only session for this screen and shows the board with its filters."""
    with database.transaction() as session:
        board = wallboards.find_active(session, token, now)
        if board is None:
            return _to_login(request, error="wall")
        session_token = auth.open_session(session, now=now, hours=settings.board_session_hours, wallboard_id=board.id)
        viewer = Principal(0, f"wallboard:{board.name}", auth.PUBLIC.scope)
        f = BoardFilter.parse((k, v) for k, values in board.filters.items() for v in values)
        response = _board(request, viewer, f, board_data(session, f, now), wall=True, wall_name=board.name)
    signed = auth.sign(auth.board_secret(request), session_token)
    auth.set_cookie(response, request, auth.SESSION_COOKIE, signed, int(settings.board_session_hours * 3600))
    return response


_LOGIN_ERRORS = {"wall": "That wallboard link is unknown or was revoked. Ask an admin for a new one."}


def _login_form(request: Request, *, next_path: str, error: str | None, status_code: int = 200) -> Response:
    nonce = secrets.token_urlsafe(24)
    secret = auth.board_secret(request)
    context = {"viewer": None, "csrf": auth.csrf_token(secret, nonce), "next": next_path, "error": error}
    response = render.page(request, "login.html", context, status_code)
    auth.set_cookie(response, request, auth.LOGIN_COOKIE, auth.sign(secret, nonce), _LOGIN_NONCE_SECONDS)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The sign-in form (an API key of `read` scope or higher)."""
    params = request.query_params
    return _login_form(
        request, next_path=_safe_next(params.get("next")), error=_LOGIN_ERRORS.get(params.get("error", ""))
    )


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, form: Form, session: SessionDep, now: NowDep, settings: SettingsDep) -> Response:
    """Check the CSRF token and the key; on success set the session cookie and go to ``next``."""
    secret = auth.board_secret(request)
    next_path = _safe_next(form.get("next"))
    nonce = auth.unsign(secret, request.cookies.get(auth.LOGIN_COOKIE))
    if not auth.csrf_ok(secret, nonce, form.get("csrf")):
        return _login_form(
            request, next_path=next_path, error="The form expired; please sign in again.", status_code=403
        )
    principal = authenticate(session, form.get("key", "").strip(), now)
    if principal is None:
        return _login_form(request, next_path=next_path, error="That key is unknown or revoked.", status_code=401)
    record_use(request, session, principal, now)
    token = auth.open_session(session, now=now, hours=settings.board_session_hours, api_key_id=principal.key_id)
    response = RedirectResponse(next_path, status_code=303)
    auth.set_cookie(
        response, request, auth.SESSION_COOKIE, auth.sign(secret, token), int(settings.board_session_hours * 3600)
    )
    response.delete_cookie(auth.LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, form: Form, session: SessionDep, now: NowDep) -> Response:
    """End the board session (the CSRF token must match it) and go back to the sign-in form."""
    token = auth.cookie_session(request)
    if token is None:
        return RedirectResponse("/login", status_code=303)
    if not auth.csrf_ok(auth.board_secret(request), token, form.get("csrf")):
        message = "Sign-out refused: the form did not come from this board. Reload the page and try again."
        return render.page(
            request, "message.html", {"viewer": None, "heading": "Not signed out", "message": message}, 403
        )
    auth.close_session(session, token, now)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response
