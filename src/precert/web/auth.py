"""Bearer-token authentication for the JSON API: the dependency that turns `Authorization: Bearer`
into the Actor every request-scoped service call needs, or answers 401 in the one error shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from precert.errors import Issue, PermissionDenied, Unauthenticated
from precert.services.accounts import Actor, authenticate_token
from precert.web.deps import ContextDep

MISSING_TOKEN = (
    "This endpoint needs an API token: send the header Authorization: Bearer pct_... "
    "(make one with `precert tokens create --email E`)."
)

# auto_error=False: a missing or non-Bearer header must answer our 401 in the error shape, not
# FastAPI's own 403. The scheme also puts the "Authorize" button on /docs.
_bearer = HTTPBearer(auto_error=False, description="An API token from `precert tokens create`.")


def current_actor(
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor the bearer token stands for; Unauthenticated (401) for no token or a bad one."""
    # A plain def: the token look-up reads (and now and then writes) the database, so FastAPI runs
    # it in its thread pool rather than on the event loop.
    if credentials is None or not credentials.credentials.strip():
        raise Unauthenticated(
            MISSING_TOKEN, [Issue("missing-token", MISSING_TOKEN, "Authorization")]
        )
    try:
        return authenticate_token(ctx, credentials.credentials.strip())
    except PermissionDenied as refused:
        # The accounts service says "invalid or revoked token" as a refusal; over HTTP a
        # credential that does not work is a 401 challenge, not a 403.
        raise Unauthenticated(refused.message, refused.issues) from None


ActorDep = Annotated[Actor, Depends(current_actor)]
