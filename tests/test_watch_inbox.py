"""When a batch is complete (marker, settle), what a schedule fires, and the log lines."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import fsspec
import pytest

from visiondrift.errors import ConfigError, SourceError
from visiondrift.watch import Inbox, Schedule, batch_key, format_source, watch_logging


class Clock:
    """A monotonic clock the test moves by hand: no test waits for a settle period to pass."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _names(batches: list) -> list[str]:  # type: ignore[type-arg]
    return [b.name for b in batches]


# --- the inbox ------------------------------------------------------------------------------


def test_a_marker_makes_a_batch_complete_and_nothing_else_does(tmp_path: Path) -> None:
    (tmp_path / "20261128").mkdir()
    (tmp_path / "20261128" / "a.jpg").write_bytes(b"x")
    (tmp_path / "20261129").mkdir()
    (tmp_path / "20261129" / "a.jpg").write_bytes(b"x")
    (tmp_path / "20261129" / "_SUCCESS").write_text("")
    (tmp_path / "notes.txt").write_text("a file in the inbox is not a batch")
    (tmp_path / ".hidden").mkdir()  # a hidden folder is not a batch either
    clock = Clock()
    old = time.time() + 10_000  # the wall clock far ahead: every file is long settled
    inbox = Inbox(tmp_path, settle=5, marker="_SUCCESS", clock=clock, wall=lambda: old)
    assert _names(inbox.batches()) == ["20261128", "20261129"]
    assert _names(inbox.complete()) == ["20261129"]
    clock.now += 3600  # however long it waits, without its marker a batch is not complete
    assert _names(inbox.complete()) == ["20261129"]
    (tmp_path / "20261128" / "_SUCCESS").write_text("")
    assert _names(inbox.complete()) == ["20261128", "20261129"]
    batch = inbox.complete()[0]
    assert batch.location == str(tmp_path / "20261128")
    assert batch.key == str((tmp_path / "20261128").resolve())


def test_without_a_marker_a_batch_is_complete_once_nothing_changed_for_settle_seconds(
    tmp_path: Path,
) -> None:
    batch = tmp_path / "20261129"
    batch.mkdir()
    (batch / "a.jpg").write_bytes(b"x")
    clock = Clock()
    wall = Clock()
    wall.now = time.time()  # the files were just written
    inbox = Inbox(tmp_path, settle=30, clock=clock, wall=wall)
    assert inbox.complete() == []  # just written: still being filled, perhaps
    clock.now += 20
    assert inbox.complete() == []  # unchanged for 20 s of 30
    (batch / "b.jpg").write_bytes(b"y")  # a new file: the settle period starts again
    clock.now += 20
    assert inbox.complete() == []
    clock.now += 29
    assert inbox.complete() == []
    clock.now += 1
    assert _names(inbox.complete()) == ["20261129"]
    (batch / "b.jpg").write_bytes(b"yy")  # a file that grows is a change too
    assert inbox.complete() == []
    clock.now += 30
    assert _names(inbox.complete()) == ["20261129"]


def test_a_batch_seen_first_long_after_it_was_written_is_complete_at_once(tmp_path: Path) -> None:
    """What lets 'watch --once' from cron take yesterday's batch without waiting."""
    batch = tmp_path / "20261128"
    (batch / "nested").mkdir(parents=True)
    (batch / "nested" / "a.jpg").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    later = time.time() + 61
    inbox = Inbox(tmp_path, settle=60, clock=Clock(), wall=lambda: later)
    assert _names(inbox.complete()) == ["20261128"]  # an empty folder is still being made
    soon = time.time() + 30
    assert Inbox(tmp_path, settle=60, clock=Clock(), wall=lambda: soon).complete() == []


def test_old_modification_times_copied_with_a_batch_do_not_make_it_settled(
    tmp_path: Path,
) -> None:
    """rsync -a keeps the source's modification times; the change time says it is new."""
    batch = tmp_path / "20261129"
    batch.mkdir()
    (batch / "a.jpg").write_bytes(b"x")
    long_ago = time.time() - 86_400 * 30
    os.utime(batch / "a.jpg", (long_ago, long_ago))
    os.utime(batch, (long_ago, long_ago))
    assert Inbox(tmp_path, settle=60, clock=Clock()).complete() == []


def test_an_fsspec_inbox(tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    root = f"/inbox-{os.getpid()}-{time.monotonic_ns()}"
    fs.pipe({f"{root}/20261128/a.jpg": b"x", f"{root}/20261129/a.jpg": b"y"})
    fs.pipe({f"{root}/20261129/_SUCCESS": b""})
    try:
        inbox = Inbox(f"memory://{root}", marker="_SUCCESS")
        assert _names(inbox.batches()) == ["20261128", "20261129"]
        (done,) = inbox.complete()
        assert done.location == f"memory://{root}/20261129"
        assert done.key == done.location
        clock = Clock()
        settled = Inbox(f"memory://{root}", settle=10, clock=clock, wall=lambda: 0.0)
        assert settled.complete() == []  # created "after" the wall clock: not settled yet
        clock.now += 10
        assert _names(settled.complete()) == ["20261128", "20261129"]
    finally:
        fs.rm(root, recursive=True)


def test_a_missing_inbox_and_bad_options_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"The inbox '.*nowhere' does not exist; create it"):
        Inbox(tmp_path / "nowhere").batches()
    (tmp_path / "file").write_text("")
    with pytest.raises(SourceError, match="is a file"):
        Inbox(tmp_path / "file").batches()
    with pytest.raises(ConfigError, match="'marker' must be a plain file name"):
        Inbox(tmp_path, marker="a/b")
    with pytest.raises(ConfigError, match="'settle' must be a number of seconds >= 0"):
        Inbox(tmp_path, settle=-1)


def test_a_long_location_gets_a_short_key() -> None:
    long = "s3://bucket/" + "a" * 600
    key = batch_key(long)
    assert len(key) <= 500
    assert key.startswith("sha256:")
    assert key.endswith("a" * 100)
    assert batch_key(long + "b") != key


# --- the schedule ---------------------------------------------------------------------------


def test_five_and_six_field_expressions() -> None:
    start = datetime(2026, 11, 29, 1, 59, 59, tzinfo=UTC)
    nightly = Schedule("0 2 * * *", "prod/{date:%Y%m%d}")
    assert nightly.next_fire(start) == datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    assert nightly.next_fire(nightly.next_fire(start)) == datetime(2026, 11, 30, 2, tzinfo=UTC)
    every_two = Schedule("*/2 * * * * *", "prod")
    fires = list(every_two.fires(start, datetime(2026, 11, 29, 2, 0, 5, tzinfo=UTC)))
    assert [f.second for f in fires] == [0, 2, 4]


def test_weekdays_are_crontabs() -> None:
    """0 and 7 are Sunday, 1 Monday, as in crontab (APScheduler 3 itself numbers Monday 0)."""
    saturday = datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert saturday.strftime("%A") == "Saturday"
    for expression, day in [
        ("0 2 * * 0", "Sunday"),
        ("0 2 * * 7", "Sunday"),
        ("0 2 * * 1", "Monday"),
        ("0 2 * * 1-5", "Monday"),
        ("0 2 * * mon-fri", "Monday"),
        ("0 2 * * 5,6", "Friday"),  # Saturday 2 AM has passed
        ("0 2 * * 1-6/2", "Monday"),  # 1, 3, 5
        ("0 2 * * */3", "Sunday"),  # 0, 3, 6: Sunday, Wednesday, Saturday
    ]:
        fire = Schedule(expression, "x").next_fire(saturday)
        assert fire.strftime("%A") == day, expression


def test_placeholders_take_the_fire_time_in_the_schedules_zone() -> None:
    fire = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert Schedule("0 2 * * *", "prod/{date:%Y%m%d}/").source_at(fire) == "prod/20261129/"
    paris = Schedule("0 2 * * *", "prod/{date:%Y%m%d}/{date:%H}h", timezone="Europe/Paris")
    assert paris.source_at(fire) == "prod/20261130/00h"  # half past midnight in Paris
    assert paris.next_fire(fire) == datetime(2026, 11, 30, 2, tzinfo=paris.zone)
    assert format_source("{{literal}}/{date:%Y}", fire) == "{literal}/2026"


@pytest.mark.parametrize(
    ("expression", "source", "timezone", "message"),
    [
        ("0 2 * *", "x", "UTC", r"has 4 fields; give 5 \(minute hour day month weekday"),
        ("0 25 * * *", "x", "UTC", r"'0 25 \* \* \*' is not valid"),
        ("0 2 * * 9", "x", "UTC", "weekday field '9' is not 0-7"),
        ("0 2 * * *", "prod/{day}", "UTC", r"placeholder \{day\}; the only placeholder is"),
        ("0 2 * * *", "prod/{date", "UTC", "is not a valid pattern"),
        ("0 2 * * *", "x", "Mars/Olympus", "'Mars/Olympus' is not a known IANA time zone"),
    ],
)
def test_bad_schedules_say_what_is_wrong(
    expression: str, source: str, timezone: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Schedule(expression, source, timezone=timezone)


# --- the logs -------------------------------------------------------------------------------


def test_log_records_are_json_lines_with_their_fields() -> None:
    out = io.StringIO()
    log = logging.getLogger("visiondrift.watch")
    with watch_logging("json", stream=out):
        log.info(
            "Batch %s: done",
            "20261129",
            extra={"event": "batch_done", "batch": "20261129", "run_id": "ab" * 16, "n": 3},
        )
        logging.getLogger("visiondrift.app").warning("The sink 'x' failed")
        logging.getLogger("visiondrift.watch").debug("not shown at INFO")
    log.info("after the block: not written")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["message"] == "Batch 20261129: done"
    assert (first["level"], first["logger"], first["event"]) == (
        "INFO",
        "visiondrift.watch",
        "batch_done",
    )
    assert (first["batch"], first["run_id"], first["n"]) == ("20261129", "ab" * 16, 3)
    assert datetime.fromisoformat(first["ts"]).tzinfo is not None
    assert (second["level"], second["logger"]) == ("WARNING", "visiondrift.app")


def test_text_logs_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    with watch_logging("auto", stream=out):
        logging.getLogger("visiondrift.watch").info(
            "Batch %s: started", "20261129", extra={"event": "batch_started", "attempts": 2}
        )
    line = out.getvalue().strip()
    assert "INFO    Batch 20261129: started  [attempts=2]" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_a_secret_resolved_for_a_channel_never_reaches_a_log_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import SecretStr

    from visiondrift.alerts._secrets import resolve_secret

    planted = "hook-" + secrets.token_hex(12)
    monkeypatch.setenv("WATCH_TEST_HOOK", planted)
    url = resolve_secret(SecretStr("https://hooks.example.test/${WATCH_TEST_HOOK}"), key="k")
    assert url is not None
    assert planted in url
    log = logging.getLogger("visiondrift.alerts")
    for log_format in ("json", "text"):
        out = io.StringIO()
        with watch_logging(log_format, stream=out):  # type: ignore[arg-type]
            log.warning("POST %s failed", url, extra={"url": url, "urls": [url]})
            try:
                raise ConnectionError(f"cannot reach {url}")
            except ConnectionError:
                log.exception("Channel 'platform' failed")
        written = out.getvalue()
        assert planted not in written, log_format
        assert "POST ********** failed" in written  # the resolved URL is the secret
        assert "ConnectionError: cannot reach **********" in written
        if log_format == "json":
            warning, error = (json.loads(line) for line in written.splitlines())
            assert (warning["url"], warning["urls"]) == ("**********", ["**********"])
            assert error["error"] == "ConnectionError: cannot reach **********"
