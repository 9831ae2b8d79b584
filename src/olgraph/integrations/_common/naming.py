"""Dataset naming: a URI or path as an OpenLineage (namespace, name)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

_AZURE = {"abfss", "abfs", "wasbs", "wasb"}
_OBJECT_STORES = {"s3": "s3", "s3a": "s3", "s3n": "s3", "gs": "gs", "gcs": "gs", "oss": "oss", "r2": "r2"}


def dataset_identity(uri: str, *, base: Path | None = None) -> tuple[str, str]:
    """``(namespace, name)`` of the data at ``uri``, by the OpenLineage naming conventions.

    - object stores: ``s3://bucket/key`` → (``s3://bucket``, ``key``); ``s3a``/``s3n`` → ``s3``;
      ``gs://bucket/path`` → (``gs://bucket``, ``path``);
    - Azure: ``abfss://container@account.dfs.core.windows.net/path`` → (everything up to
      the host, ``path``), the same for ``wasbs``/``abfs``/``wasb``;
    - user info elsewhere (``s3://anonymous@bucket``, ``hdfs://user@nn``) is not part of the
      identity and is dropped;
    - HDFS and other ``scheme://authority/path`` URIs → (``scheme://authority``, ``/path``);
    - local files: a path, ``file:/path`` or ``file:///path`` → (``file``, absolute path),
      relative paths made absolute against ``base`` (default: the working directory);
    - ``dbfs:/path`` → (``dbfs``, ``/path``).

    Trailing slashes are dropped, so a directory and its URI with a slash name one dataset.
    """
    text = uri.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if len(scheme) == 1 or not scheme:  # "C:\\data" is a Windows drive, not a scheme
        return "file", _local_path(text, base)
    if scheme == "file":
        return "file", _local_path(unquote(parts.path) or "/", base)
    path = unquote(parts.path)
    netloc = parts.netloc
    if scheme not in _AZURE:  # user info is a credential (or Ray's "anonymous@"), not identity
        netloc = netloc.rsplit("@", 1)[-1]
    if scheme in _OBJECT_STORES:
        return f"{_OBJECT_STORES[scheme]}://{netloc}", path.strip("/") or "/"
    if scheme == "dbfs" and not parts.netloc:
        return "dbfs", path.rstrip("/") or "/"
    if netloc:
        name = path.rstrip("/") or "/"
        if scheme in _AZURE:  # container@account is the identity; the name is relative to it
            name = name.lstrip("/") or "/"
        return f"{scheme}://{netloc}", name
    return scheme, path.rstrip("/") or text


def _local_path(path: str, base: Path | None) -> str:
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = (base or Path.cwd()) / candidate
    text = os.path.normpath(str(candidate))
    return text if text == "/" else text.rstrip("/")
