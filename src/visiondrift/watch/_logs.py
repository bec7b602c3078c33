"""The watcher's logs: one JSON object per line when stderr is not a terminal, plain lines on one.

Each JSON line has ``ts`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, plus the
fields the record carries (``event``, ``batch``, ``source``, ``run_id``, ``dataset``,
``verdict``, ``severity``, ``attempts``, ``reason``...), so a log collector (journald, Loki,
Cloud Logging, ``jq``) can filter on them. Every record of the ``visiondrift`` loggers goes
through the alert channels' redaction first: a secret resolved for a channel never reaches a
log line (the alert channels' :class:`~visiondrift.alerts._secrets.RedactingFilter` on the
handler, and :func:`~visiondrift.alerts._secrets.redact` over each formatted line).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any, Literal

from visiondrift.alerts._secrets import RedactingFilter, redact

__all__ = ["JsonFormatter", "LogFormat", "TextFormatter", "watch_logging"]

LogFormat = Literal["auto", "json", "text"]

#: The attributes every LogRecord has; anything else on a record is a field of the line.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
    }


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message and the record's own fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _fields(record).items():
            line.setdefault(key, _plain(value))
        if record.exc_info:
            # The filter's redacted text when it ran (it fills exc_text), else formatted here.
            text = record.exc_text or self.formatException(record.exc_info)
            line["error"] = text.strip().splitlines()[-1]
            line["traceback"] = text
        return redact(json.dumps(line, ensure_ascii=False, sort_keys=False))


class TextFormatter(logging.Formatter):
    """A line for a person: time, level, message, then the record's fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S")
        extra = " ".join(
            f"{k}={v}" for k, v in _fields(record).items() if k != "event" and v is not None
        )
        text = f"{when} {record.levelname:<7} {record.getMessage()}"
        if extra:
            text += f"  [{extra}]"
        if record.exc_info:
            text += "\n" + (record.exc_text or self.formatException(record.exc_info))
        return redact(text)


@contextmanager
def watch_logging(
    log_format: LogFormat = "auto",
    *,
    stream: IO[str] | None = None,
    level: int = logging.INFO,
) -> Iterator[logging.Handler]:
    """Send the ``visiondrift`` loggers' records to ``stream`` (stderr) while the block runs.

    ``auto`` writes JSON lines unless the stream is a terminal. The records do not propagate
    to the root logger (which the command line keeps quiet for third-party libraries).
    """
    out = sys.stderr if stream is None else stream
    if log_format == "auto":
        is_tty = getattr(out, "isatty", None)
        log_format = "text" if callable(is_tty) and is_tty() else "json"
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("visiondrift")
    before = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before[0])
        logger.propagate = before[1]
        handler.flush()
