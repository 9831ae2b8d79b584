"""Redacting secret-looking values from events before anything is stored.

Producers leak secrets into lineage: the environment-variables run facet carries
``DB_PASSWORD``, Spark's properties ``spark.hadoop.fs.s3a.secret.key``, a connector's config
``database.password=postgres``, a namespace ``postgres://etl:hunter2@db:5432``, a SQL facet
``CREATE USER x IDENTIFIED BY 'pw'``. olgraph replaces such values before an event is logged
(HTTP ingest) or applied (the consumers, for events producers put on Kafka themselves), so
neither the event log nor the graph nor ``/runs/{id}/events`` ever holds them
(docs/security.md).

Two kinds of pattern, both regular expressions (Python syntax) and both configurable
(settings ``redaction.*``):

* **key patterns** are searched in object keys and in the ``name``/``key`` of name-value
  pairs (``{"name": "DB_PASSWORD", "value": "…"}``), lower-cased with camelCase split by
  ``_`` (``clientSecret`` → ``client_secret``). A string under a matching key — every string
  inside it when it is an object or array — is replaced whole.
  The key patterns also apply inside strings, to ``key=value`` and ``key: value`` pairs
  (``database.password=postgres``, ``…;password=pw;…`` in a JDBC URL, ``"token": "…"`` in
  embedded JSON): only the value is replaced.
* **value patterns** are searched in every string (names and namespaces included); each has
  one group named ``secret``, and only that group is replaced, so
  ``postgres://etl:hunter2@db/x`` becomes ``postgres://etl:***@db/x``.

Every pattern must run in linear time: the defaults start with a literal or a character
class (which lets the regex engine skip ahead fast) and use possessive quantifiers, so a
megabyte string costs milliseconds, not minutes.

Redaction is idempotent and deterministic: the same event always redacts to the same bytes,
so duplicates keep one content id.

>>> redactor = Redactor.default()
>>> redactor.redact({"name": "DB_PASSWORD", "value": "hunter2"})
({'name': 'DB_PASSWORD', 'value': '***'}, 1)
>>> redactor.redact({"uri": "postgres://etl:hunter2@db:5432/x"})[0]
{'uri': 'postgres://etl:***@db:5432/x'}
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import orjson

REPLACEMENT = "***"

DEFAULT_KEY_PATTERNS: tuple[str, ...] = (
    r"(?:^|[^a-z0-9])(?:pass(?:word|wd|phrase)|secrets?|tokens?|credentials?|auth|authorization)(?:[^a-z0-9]|$)",
    r"(?:^|[^a-z0-9])(?:api|access|secret|private|account|session|signing|encryption|client)[._-]?keys?"
    r"(?:[^a-z0-9]|$)",
    r"(?:^|[^a-z0-9])(?:client[._-]?secret|sas|sig|signature|cookie|apikey)(?:[^a-z0-9]|$)",
)
"""Searched in lower-cased keys and names (``spark.hadoop.fs.s3a.secret.key``, ``GITHUB_TOKEN``)."""

DEFAULT_VALUE_PATTERNS: tuple[str, ...] = (
    # the password of a URL's user info: scheme://user:PASSWORD@host (JDBC URLs included)
    r"://[^\s/:@\"']*+:(?P<secret>[^\s/@\"']++)@",
    # SQL: IDENTIFIED BY pw, PASSWORD 'pw' (letters spelled out: much faster than (?i))
    r"[Ii](?<![A-Za-z][Ii])[Dd][Ee][Nn][Tt][Ii][Ff][Ii][Ee][Dd]\s++[Bb][Yy]\s++"
    r"(?P<secret>'(?:[^']|'')*+'|\"[^\"]*+\"|[^\s;]++)",
    r"[Pp](?<![A-Za-z][Pp])[Aa][Ss][Ss][Ww][Oo][Rr][Dd]\s++(?P<secret>'(?:[^']|'')*+')",
    # ODBC connection strings: PWD=pw
    r"[Pp](?<![A-Za-z][Pp])(?:WD|wd)\s*+=\s*+(?P<secret>[^;\s]++)",
    # HTTP credentials
    r"[Bb](?<![A-Za-z][Bb])(?:earer|asic)\s++(?P<secret>[A-Za-z0-9._~+/-]{8,}+=*+)",
    # PEM private keys (the body stops at the first dash: no quadratic rescans)
    r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----(?P<secret>[^-]*+)-----END (?:[A-Z]+ )*PRIVATE KEY-----",
)
"""Searched in every string; the group named ``secret`` is what gets replaced."""

_TRIGGERS: dict[str, tuple[str, ...]] = {
    DEFAULT_VALUE_PATTERNS[1]: ("identified",),
    DEFAULT_VALUE_PATTERNS[2]: ("password",),
    DEFAULT_VALUE_PATTERNS[3]: ("pwd",),
    DEFAULT_VALUE_PATTERNS[4]: ("bearer", "basic"),
    DEFAULT_VALUE_PATTERNS[5]: ("private key",),
}
"""Words (lower case) a string must contain for a default pattern to be worth running: a
substring test is a hundred times faster than the regex. Patterns of your own always run."""
_KEY_TRIGGERS = ("pass", "secret", "token", "credential", "auth", "key", "sas", "sig", "cookie")
"""The same for ``key=value`` pairs under the default key patterns."""

_PAIR = re.compile(
    r"(?<![\w.-])(?P<key>[A-Za-z_][\w.-]{0,79}+)[\"']?[ \t]*+[=:][ \t]*+"
    r"(?:[Bb]earer\s++|[Bb]asic\s++)?(?P<secret>\"[^\"]*+\"|'[^']*+'|[^\s;&,\"'(){}\[\]=]++)"
)
"""``key=value`` / ``key: value`` inside a string; the value is a secret when the key is."""
_PAIR_NAMES = ("name", "key")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CACHED_KEY_CHARS = 256


class Redactor:
    """Replaces secret-looking values in decoded JSON (see the module docstring).

    ``key_patterns`` and ``value_patterns`` are regular expressions; each value pattern must
    have a group named ``secret``. Raises ``ValueError`` for a pattern that does not compile
    or lacks the group.
    """

    def __init__(
        self,
        key_patterns: Sequence[str] = DEFAULT_KEY_PATTERNS,
        value_patterns: Sequence[str] = DEFAULT_VALUE_PATTERNS,
        replacement: str = REPLACEMENT,
    ) -> None:
        self.replacement = replacement
        self._keys = _compile_keys(key_patterns)
        self._values = [(_compile_value(p), _TRIGGERS.get(p)) for p in value_patterns]
        defaults = (
            tuple(key_patterns) == DEFAULT_KEY_PATTERNS and tuple(value_patterns) == DEFAULT_VALUE_PATTERNS
        )
        self._pair_triggers = _KEY_TRIGGERS if tuple(key_patterns) == DEFAULT_KEY_PATTERNS else None
        # With the default patterns an event is first looked at as one JSON text: most events
        # contain none of the trigger words and no URL with a password, and are left as they are.
        self._quick = _QuickCheck() if defaults else None
        # Keys repeat across events (name, type, _producer…): remember the verdict on short ones.
        self._key_verdicts: dict[str, bool] = {}

    @classmethod
    def default(cls) -> Redactor:
        """The default patterns."""
        return cls()

    def redact(self, data: Any) -> tuple[Any, int]:
        """``data`` with secrets replaced (a new value; ``data`` is left as it was), and how many."""
        if self._quick is not None and self._quick.clean(data):
            return data, 0
        counter = [0]
        return self._value(data, counter), counter[0]

    def secret_key(self, key: str) -> bool:
        """Whether values under ``key`` (an object key or a pair's name) are secret."""
        if self._keys is None:
            return False
        verdict = self._key_verdicts.get(key)
        if verdict is None:
            verdict = self._keys.search(_CAMEL.sub("_", key).lower()) is not None
            if len(key) <= _CACHED_KEY_CHARS and len(self._key_verdicts) < 65536:
                self._key_verdicts[key] = verdict
        return verdict

    def _value(self, value: Any, counter: list[int]) -> Any:
        if isinstance(value, str):
            return self._string(value, counter)
        if isinstance(value, list):
            return [self._value(v, counter) for v in value]
        if isinstance(value, dict):
            return self._object(value, counter)
        return value

    def _object(self, obj: dict[str, Any], counter: list[int]) -> dict[str, Any]:
        pair_secret = any(isinstance(obj.get(n), str) and self.secret_key(obj[n]) for n in _PAIR_NAMES)
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if (pair_secret and key == "value") or (key not in _PAIR_NAMES and self.secret_key(key)):
                out[key] = self._blank(value, counter)
            else:
                out[key] = self._value(value, counter)
        return out

    def _blank(self, value: Any, counter: list[int]) -> Any:
        """Every string of ``value`` replaced whole (a secret key's value)."""
        if isinstance(value, str):
            if value == self.replacement:
                return value
            counter[0] += 1
            return self.replacement
        if isinstance(value, list):
            return [self._blank(v, counter) for v in value]
        if isinstance(value, dict):
            return {k: self._blank(v, counter) for k, v in value.items()}
        return value

    def _string(self, text: str, counter: list[int]) -> str:
        lower = text.lower()
        if self._keys is not None and ("=" in text or ":" in text) and _triggered(lower, self._pair_triggers):
            text = _PAIR.sub(functools.partial(self._replace_pair, counter=counter), text)
        for pattern, triggers in self._values:
            if _triggered(lower, triggers) and pattern.search(text) is not None:
                text = pattern.sub(functools.partial(self._replace, counter=counter), text)
        return text

    def _replace_pair(self, match: re.Match[str], counter: list[int]) -> str:
        if not self.secret_key(match.group("key")):
            return match.group(0)
        return self._replace(match, counter)

    def _replace(self, match: re.Match[str], counter: list[int]) -> str:
        """``match``'s text with its ``secret`` group replaced (a quoted secret keeps its quotes)."""
        whole, offset = match.group(0), match.start()
        start, end = match.start("secret") - offset, match.end("secret") - offset
        secret = whole[start:end]
        if len(secret) >= 2 and secret[0] == secret[-1] and secret[0] in "'\"":
            start, end = start + 1, end - 1
        if whole[start:end] == self.replacement:
            return whole
        counter[0] += 1
        return whole[:start] + self.replacement + whole[end:]


class _QuickCheck:
    """Whether an event certainly holds nothing the default patterns would redact."""

    def __init__(self) -> None:
        words = {w for triggers in _TRIGGERS.values() for w in triggers} | set(_KEY_TRIGGERS)
        # A word containing another ("password", "pass") is found only where the shorter one is.
        needed = {w for w in words if not any(other != w and other in w for other in words)}
        self.words = tuple(word.encode() for word in sorted(needed))
        self.url = re.compile(DEFAULT_VALUE_PATTERNS[0].encode())

    def clean(self, data: Any) -> bool:
        """True when no trigger word and no URL password appear in ``data``'s JSON text."""
        try:
            text = orjson.dumps(data)
        except TypeError:  # integers beyond 64 bits: look at it the slow way
            return False
        lower = text.lower()
        return not any(word in lower for word in self.words) and self.url.search(text) is None


def _triggered(lower: str, triggers: tuple[str, ...] | None) -> bool:
    return triggers is None or any(word in lower for word in triggers)


def _compile_keys(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"redaction key pattern {pattern!r} does not compile: {exc}") from exc
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _compile_value(pattern: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"redaction value pattern {pattern!r} does not compile: {exc}") from exc
    if "secret" not in compiled.groupindex:
        raise ValueError(f"redaction value pattern {pattern!r} has no group named 'secret'")
    return compiled
