"""API keys and roles, and the FastAPI dependencies every router uses.

Clients send ``Authorization: Bearer <key>`` (what the OpenLineage clients send with
``auth: {type: api_key}``). olgraph stores only the sha256 of each key and compares digests
with :func:`hmac.compare_digest`, checking every configured key so the time taken does not
reveal which one nearly matched.

Roles: ``ingest`` may POST events, ``read`` may query, ``analyst`` may read (and run
read-only Cypher), ``admin`` may do everything. With no key configured authentication is
off (and the app refuses to listen beyond loopback unless ``auth.allow_anonymous``).

Example::

    router = APIRouter(dependencies=[Depends(require_role("read"))])

    @router.get("/things")
    async def things(runtime: Runtime = Depends(get_runtime)) -> ...: ...
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fastapi import Request

from olgraph.config import ApiKey, Role
from olgraph.errors import AuthenticationRequired, NotReady, PermissionDenied
from olgraph.runtime import Runtime

GRANTS: dict[Role, frozenset[Role]] = {
    "ingest": frozenset({"ingest"}),
    "read": frozenset({"read"}),
    "analyst": frozenset({"read", "analyst"}),
    "admin": frozenset({"ingest", "read", "analyst", "admin"}),
}
"""What each key role may do: a route requiring role R accepts keys whose grants hold R."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the API key's name and role (``anonymous``/admin when auth is off)."""

    name: str
    role: Role


ANONYMOUS = Principal("anonymous", "admin")


def hash_api_key(key: str) -> str:
    """The hex sha256 to configure for ``key`` (``ApiKey.sha256``).

    >>> hash_api_key("secret")[:16]
    '2bb80d537b1da3e3'
    """
    return hashlib.sha256(key.encode()).hexdigest()


def authenticate(authorization: str | None, keys: Sequence[ApiKey]) -> Principal:
    """The principal an ``Authorization`` header proves. Raises ``AuthenticationRequired``."""
    if not keys:
        return ANONYMOUS
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationRequired("an API key is required: send 'Authorization: Bearer <key>'")
    digest = hash_api_key(token)
    found: ApiKey | None = None
    for key in keys:  # no early exit: constant time in the position of the matching key
        if hmac.compare_digest(digest, key.sha256) and found is None:
            found = key
    if found is None:
        raise AuthenticationRequired("unknown API key")
    return Principal(found.name, found.role)


def authorize(principal: Principal, role: Role) -> None:
    """Raise ``PermissionDenied`` unless ``principal`` may act with ``role``."""
    if role not in GRANTS[principal.role]:
        raise PermissionDenied(f"API key '{principal.name}' (role {principal.role}) lacks role '{role}'")


def get_runtime(request: Request) -> Runtime:
    """Dependency: the :class:`~olgraph.runtime.Runtime` (store, log, settings) serving ``request``."""
    runtime = getattr(request.app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise NotReady("olgraph is not started (the app's lifespan has not run)")
    return runtime


def require_role(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency factory: authenticate the request and check that it may act with ``role``."""

    async def dependency(request: Request) -> Principal:
        keys = get_runtime(request).settings.auth.api_keys
        principal = authenticate(request.headers.get("authorization"), keys)
        authorize(principal, role)
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency
