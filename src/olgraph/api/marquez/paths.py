"""Path segments as Marquez's clients encode them.

Marquez Web and marquez-python percent-encode each name in a path (``postgres://db:5432``
becomes ``postgres%3A%2F%2Fdb%3A5432``), and Marquez matches routes on the encoded path, so
a ``/`` inside a name never splits it. ASGI servers hand the app the *decoded* path, where
that ``/`` is indistinguishable from a separator. :class:`EncodedSegments` re-derives the
path from the raw bytes the client sent: each segment is decoded on its own and then only
``%`` and ``/`` are escaped again, so routes match one segment per name and
:func:`segment` recovers the name exactly.

>>> rewrite_path(b"/api/v1/namespaces/s3%3A%2F%2Fbucket/datasets/a%2Fb%20c")
'/api/v1/namespaces/s3:%2F%2Fbucket/datasets/a%2Fb c'
>>> segment("s3:%2F%2Fbucket")
's3://bucket'
"""

from __future__ import annotations

from urllib.parse import unquote, unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send


def rewrite_path(raw_path: bytes) -> str:
    """The path with every segment decoded but its ``%`` and ``/`` kept escaped."""
    parts = []
    for raw in raw_path.split(b"/"):
        text = unquote_to_bytes(raw).decode("utf-8", errors="replace")
        parts.append(text.replace("%", "%25").replace("/", "%2F"))
    return "/".join(parts)


def segment(value: str) -> str:
    """The name a path parameter holds (undoes :func:`rewrite_path`'s escaping)."""
    return unquote(value)


class EncodedSegments:
    """ASGI middleware: route on :func:`rewrite_path` of the raw path instead of the decoded one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite ``scope["path"]`` of HTTP requests that carry their raw path."""
        if scope["type"] == "http" and scope.get("raw_path"):
            raw = bytes(scope["raw_path"]).split(b"?", 1)[0]
            scope = {**scope, "path": rewrite_path(raw)}
        await self.app(scope, receive, send)
