"""The service's API keys (``vd_api_keys``): hashed at rest, checked in constant time.

A key is shown once, when it is created: ``vd_<key_id>_<secret>``. The store keeps its public
``key_id`` (to find the row), its name, its scopes and the SHA-256 of the secret, never the
secret itself. A secret of 256 random bits needs no slow password hash: SHA-256 cannot be
reversed, and guessing is hopeless. :meth:`ApiKeys.verify` compares digests with
:func:`hmac.compare_digest`, so the time it takes says nothing about the secret.

Scopes: ``read`` (look), ``write`` (post records and batches; includes read), ``admin``
(baselines and every route; includes write).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from visiondrift.errors import ConfigError
from visiondrift.store._rows import now_utc, utc

if TYPE_CHECKING:
    from visiondrift.store._store import HistoryStore

__all__ = ["SCOPES", "ApiKey", "ApiKeys", "Scope", "grants"]

Scope = Literal["read", "write", "admin"]
#: The scopes, each including the ones before it.
SCOPES: Final[tuple[Scope, ...]] = ("read", "write", "admin")
_TOKEN = re.compile(r"vd_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}")


def grants(scopes: Iterable[str], needed: str) -> bool:
    """Whether a key with ``scopes`` may do what needs ``needed`` (admin ⊃ write ⊃ read)."""
    level = max((SCOPES.index(s) for s in scopes if s in SCOPES), default=-1)
    return level >= SCOPES.index(needed)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """One API key, as stored (never with its secret).

    Attributes
    ----------
    key_id
        The public part of the key (12 hex digits), shown by ``keys list``.
    name
        What the key is for ("model-server", "grafana").
    scopes
        What it may do: ``read``, ``write``, ``admin``.
    created_at, revoked_at, last_used_at
        When it was created, revoked (``None``: valid), last used (``None``: never).
    """

    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the key is valid (not revoked)."""
        return self.revoked_at is None


def _key(row: Any) -> ApiKey:
    created = utc(row["created_at"])
    assert created is not None
    return ApiKey(
        key_id=row["key_id"],
        name=row["name"],
        scopes=tuple(s for s in str(row["scopes"]).split(",") if s),
        created_at=created,
        revoked_at=utc(row["revoked_at"]),
        last_used_at=utc(row["last_used_at"]),
    )


class ApiKeys:
    """The API keys of a :class:`~visiondrift.store.HistoryStore` (``store.keys``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from visiondrift.store import HistoryStore
    >>> store = HistoryStore(pathlib.Path(tempfile.mkdtemp()) / "history.sqlite")
    >>> key, token = store.keys.create("model-server", ["write"])
    >>> store.keys.verify(token).name, store.keys.verify(token + "x")
    ('model-server', None)
    >>> store.keys.revoke(key.key_id), store.keys.verify(token)
    (True, None)
    >>> store.close()
    """

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

    def create(self, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
        """Create a key; returns it and its token (the only time the token is known)."""
        from sqlalchemy import insert

        from visiondrift.store._schema import API_KEYS

        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(
                "A key's name must be 1 to 100 letters, digits, spaces or ._@- (starting with a "
                f"letter or digit). Got {name!r} instead."
            )
        wanted = tuple(dict.fromkeys(scopes))
        unknown = [s for s in wanted if s not in SCOPES]
        if not wanted or unknown:
            raise ConfigError(
                f"A key's scopes must be among {', '.join(SCOPES)} (at least one). Got "
                f"{list(wanted)!r} instead."
            )
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        at = now_utc()
        row = {
            "key_id": key_id,
            "name": name,
            "scopes": ",".join(wanted),
            "secret_hash": _digest(secret),
            "created_at": at,
            "revoked_at": None,
            "last_used_at": None,
        }
        with self.store._write(f"creating the API key {name!r}") as conn:
            conn.execute(insert(API_KEYS).values(**row))
        return _key(row), f"vd_{key_id}_{secret}"

    def verify(self, token: str) -> ApiKey | None:
        """The valid key ``token`` is, or ``None`` (malformed, unknown, wrong secret, revoked)."""
        from sqlalchemy import select

        from visiondrift.store._schema import API_KEYS

        match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
        if match is None:
            return None
        key_id, secret = match.groups()
        row = self.store._read(
            "checking an API key",
            lambda conn: (
                conn.execute(select(API_KEYS).where(API_KEYS.c.key_id == key_id))
                .mappings()
                .one_or_none()
            ),
        )
        # Compared even when the row is missing, so a wrong key id takes the same time.
        expected = _digest("") if row is None else str(row["secret_hash"])
        if not hmac.compare_digest(expected, _digest(secret)) or row is None:
            return None
        key = _key(row)
        return key if key.active else None

    def touch(self, key_id: str, *, now: datetime | None = None) -> None:
        """Record that the key was used (at most what ``keys list`` shows as last used)."""
        from sqlalchemy import update

        from visiondrift.store._schema import API_KEYS

        with self.store._write("recording an API key's use") as conn:
            conn.execute(
                update(API_KEYS)
                .where(API_KEYS.c.key_id == key_id)
                .values(last_used_at=now_utc(now))
            )

    def revoke(self, key_id: str) -> bool:
        """Revoke a key; ``False`` when there is no valid key with that id."""
        from sqlalchemy import update

        from visiondrift.store._schema import API_KEYS

        with self.store._write(f"revoking the API key {key_id}") as conn:
            done = conn.execute(
                update(API_KEYS)
                .where((API_KEYS.c.key_id == key_id) & API_KEYS.c.revoked_at.is_(None))
                .values(revoked_at=now_utc())
            ).rowcount
        return bool(done)

    def list(self) -> list[ApiKey]:
        """Every key, newest first (revoked ones included)."""
        from sqlalchemy import select

        from visiondrift.store._schema import API_KEYS

        rows = self.store._read(
            "listing the API keys",
            lambda conn: list(
                conn.execute(select(API_KEYS).order_by(API_KEYS.c.created_at.desc())).mappings()
            ),
        )
        return [_key(r) for r in rows]

    def count_active(self) -> int:
        """How many keys are valid."""
        return sum(1 for k in self.list() if k.active)
