"""Secrets of the alert channels: resolving their references, and keeping them out of all text.

A channel's secret settings (URLs, routing keys, passwords, HMAC secrets, header values) hold a
*reference*, resolved only when an alert is sent:

- ``${VAR}`` anywhere in the value is replaced by the environment variable ``VAR``
  (``"Bearer ${GITHUB_TOKEN}"``);
- a value ``file:PATH`` is the content of the file ``PATH`` (a trailing newline removed; the
  path may itself hold ``${VAR}``, e.g. ``file:${CREDENTIALS_DIRECTORY}/slack``);
- anything else is a literal secret (allowed, and masked like the rest).

Every value resolved is remembered for the life of the process, and :func:`redact` replaces each
one (and its URL-quoted forms) by ``**********`` in any text: the channels pass every error and
every receiver's answer through it, and :class:`RedactingFilter` does the same to log records.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from visiondrift.alerts._model import PermanentDeliveryError

if TYPE_CHECKING:  # pydantic is not imported to resolve or to redact (a log filter uses this)
    from pydantic import SecretStr

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "MIN_URL_PART_LENGTH",
    "RedactingFilter",
    "redact",
    "remember_secret",
    "resolve_secret",
]

#: What a secret is replaced by in text.
MASK: Final = "**********"

#: Values shorter than this are not remembered for redaction: masking every ``"ab"`` in all text
#: would garble messages without protecting anything a guess would not find.
MIN_SECRET_LENGTH: Final = 4
#: A secret URL's parts (its path, query, password, and each path segment or query value) at
#: least this long are masked on their own too: a receiver or proxy may echo the token of a
#: webhook URL (``/services/T0/B0/<token>``) without the rest of the URL.
MIN_URL_PART_LENGTH: Final = 16

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FILE_PREFIX: Final = "file:"

_known: set[str] = set()
_known_lock = threading.Lock()
_patterns: tuple[str, ...] = ()


def _url_parts(value: str) -> set[str]:
    """The parts of a URL that are secret on their own (empty for anything else)."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        url = urlsplit(value.strip())
    except ValueError:
        return set()
    if not url.scheme or not url.netloc:
        return set()
    parts = {url.path, url.query, url.fragment, unquote(url.path)}
    if url.query:
        parts.add(f"{url.path}?{url.query}")
    parts.add(url.password or "")
    parts.update(segment for segment in url.path.split("/"))
    parts.update(v for _, v in parse_qsl(url.query, keep_blank_values=True))
    return {part for part in parts if len(part) >= MIN_URL_PART_LENGTH}


def remember_secret(value: str | None) -> None:
    """Add ``value`` to the secrets :func:`redact` removes: the value, its URL-quoted forms,
    and for a URL its token-like parts (see :data:`MIN_URL_PART_LENGTH`)."""
    global _patterns
    if value is None or len(value) < MIN_SECRET_LENGTH:
        return
    forms: set[str] = set()
    for part in {value, *_url_parts(value)}:
        forms.update(
            (part, quote(part, safe=""), quote(part, safe="/:"), quote(part, safe="/:?&=@"))
        )
    forms = {form for form in forms if len(form) >= MIN_SECRET_LENGTH}
    with _known_lock:
        if forms <= _known:
            return
        _known.update(forms)
        # Longest first, so a secret containing another is masked whole.
        _patterns = tuple(sorted(_known, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` with every secret resolved so far (and its URL-quoted forms) masked.

    Examples
    --------
    >>> remember_secret("hunter2-token")
    >>> redact("POST https://example.invalid/hook?key=hunter2-token failed")
    'POST https://example.invalid/hook?key=********** failed'
    """
    patterns = _patterns
    for secret in patterns:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _variable(name: str, key: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name)
    if value is None:
        raise PermanentDeliveryError(
            f"The setting {key} refers to the environment variable {name}, which is not set. "
            f"Set {name} in the environment of the process that sends alerts (the monitor, the "
            "watcher or 'visiondrift alerts flush'), or change the setting."
        )
    if not value:
        raise PermanentDeliveryError(
            f"The setting {key} refers to the environment variable {name}, which is empty. "
            f"Give {name} the secret's value, or change the setting."
        )
    remember_secret(value)
    return value


def _expand(text: str, key: str, environ: Mapping[str, str]) -> str:
    return _REFERENCE.sub(lambda match: _variable(match.group(1), key, environ), text)


def resolve_secret(
    value: SecretStr | str | None, *, key: str, environ: Mapping[str, str] | None = None
) -> str | None:
    """The secret a setting refers to (``${VAR}``, ``file:PATH`` or a literal), remembered for
    :func:`redact`.

    Parameters
    ----------
    value
        The setting's value (a reference); ``None`` when it is not set.
    key
        The setting's name, for messages (``alerts.channels.ops.url``).
    environ
        Where variables are looked up; default: ``os.environ``.

    Returns
    -------
    The secret, or ``None`` when ``value`` is ``None``.

    Raises
    ------
    PermanentDeliveryError
        A variable is not set or empty, or the file does not exist or cannot be read. The
        message names the setting and the variable or file, never a value.

    Examples
    --------
    >>> resolve_secret("Bearer ${TOKEN}", key="headers.Authorization", environ={"TOKEN": "t0k3n"})
    'Bearer t0k3n'
    """
    if value is None:
        return None
    raw = value if isinstance(value, str) else value.get_secret_value()
    env = os.environ if environ is None else environ
    if raw.startswith(_FILE_PREFIX):
        path = Path(_expand(raw[len(_FILE_PREFIX) :], key, env)).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as err:
            raise PermanentDeliveryError(
                f"The setting {key} refers to the file {path}, which does not exist. Write the "
                "secret into it (one line), or change the setting."
            ) from err
        except (OSError, UnicodeDecodeError) as err:
            reason = (
                err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
            )
            raise PermanentDeliveryError(
                f"The setting {key} refers to the file {path}, which cannot be read ({reason}). "
                "Make it a readable UTF-8 text file for the user that sends alerts."
            ) from err
        secret = text.rstrip("\r\n")
        if not secret:
            raise PermanentDeliveryError(
                f"The setting {key} refers to the file {path}, which is empty. Write the secret "
                "into it, or change the setting."
            )
    else:
        secret = _expand(raw, key, env)
    remember_secret(secret)
    return secret


class RedactingFilter(logging.Filter):
    """A logging filter that masks every known secret in a record's message, its exception text
    and its string ``extra`` fields. Install it on a handler (``handler.addFilter(...)``)."""

    _STANDARD: Final = frozenset(
        logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
    )

    def filter(self, record: logging.LogRecord) -> bool:
        if not _patterns:
            return True
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name not in self._STANDARD and isinstance(value, str):
                setattr(record, name, redact(value))
        return True
