"""``Authorization: Bearer <key>`` checking, as dependencies carrying the needed scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.service import Principal, Scope, authenticate, grants
from app.core.deps import NowDep, SessionDep
from app.core.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer slat_…`")

# Other ways to prove identity (the board's session cookie) register here: (request, session, now) -> principal.
extra_resolvers: list[Callable[..., Principal | None]] = []


def require(scope: Scope) -> Callable[..., Principal]:
    """A dependency that returns the caller's principal or raises 401/403 problems."""

    def dependency(
        request: Request,
        session: SessionDep,
        now: NowDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = None
        if credentials is not None and credentials.scheme.lower() == "bearer":
            principal = authenticate(session, credentials.credentials, now)
            if principal is None:
                raise Unauthorized("the API key is unknown or revoked")
        else:
            for resolver in extra_resolvers:
                principal = resolver(request, session, now)
                if principal is not None:
                    break
        if principal is None:
            raise Unauthorized("send an API key as `Authorization: Bearer <key>`")
        if not grants(principal.scope, scope):
            raise Forbidden(f"this action needs the {scope.value!r} scope; the key has {principal.scope.value!r}")
        return principal

    return dependency


ReadKey = Annotated[Principal, Depends(require(Scope.read))]
WriteKey = Annotated[Principal, Depends(require(Scope.write))]
AdminKey = Annotated[Principal, Depends(require(Scope.admin))]
