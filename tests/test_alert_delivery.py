"""Alerts from real monitor runs, through the outbox, to real receivers on 127.0.0.1.

The runs compare real photo crops (conftest) with a baseline: one drifted batch (a camera
change), one clean. Receivers are standard-library HTTP servers (tests/_receivers.py) that
fail on purpose: 500 then 200, a reply slower than the channel's timeout, a closed port, 401.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from _receivers import HttpReceiver, Reply, closed_url
from visiondrift.alerts._sink import AlertSink
from visiondrift.app import Monitor, RunResult
from visiondrift.cli import run as run_cli
from visiondrift.settings import AlertsSettings
from visiondrift.store import HistoryStore

ROOT = Path(__file__).resolve().parent.parent
Receivers = Callable[..., HttpReceiver]


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    """Started HTTP receivers (tests/_receivers.py), all closed after the test."""
    made: list[HttpReceiver] = []

    def make(script: Any = 200) -> HttpReceiver:
        made.append(HttpReceiver(script).start())
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture(scope="module")
def runs(photo_dir: Path, changed_dir: Path, same_dir: Path) -> dict[str, RunResult]:
    """A drifted run and a clean run of the dataset 'skin' (no sink: the tests hand them on)."""
    from visiondrift import profile

    baseline = profile(photo_dir, workers=1, labels="none")
    monitor = Monitor(baseline)
    drifted = monitor.run(changed_dir, dataset="skin", workers=1)
    clean = monitor.run(same_dir, dataset="skin", workers=1)
    assert drifted.drift
    assert drifted.report.severity in ("medium", "high")
    assert not clean.drift
    assert clean.report.slow_drift is None
    return {"drifted": drifted, "clean": clean}


def at_severity(result: RunResult, severity: str) -> RunResult:
    """The drifted run as if its strongest metric had reached only ``severity``."""
    report = result.report.model_copy(update={"severity": severity})
    return replace(result, report=report)


def hook(url: str, timeout: float = 5.0, **extra: Any) -> dict[str, Any]:
    return {"kind": "webhook", "url": url, "timeout": timeout, **extra}


def alert_settings(
    channels: dict[str, dict[str, Any]],
    *,
    routes: list[dict[str, Any]] | None = None,
    attempts: int = 3,
    cooldown: float = 3600.0,
    **retry: Any,
) -> AlertsSettings:
    return AlertsSettings.model_validate(
        {
            "cooldown": cooldown,
            "retry": {
                "attempts": attempts,
                "backoff": 0.01,
                "max_backoff": 0.05,
                "jitter": 0.0,
                **retry,
            },
            "channels": channels,
            "routes": routes if routes is not None else [{"channels": list(channels)}],
        }
    )


def deliveries(rx: HttpReceiver) -> list[str]:
    """The alert ids of the requests a receiver got, in order (the webhook's delivery header)."""
    return [r.headers["x-visiondrift-delivery"] for r in rx.requests]


def events(rx: HttpReceiver) -> list[str]:
    return [r.headers["x-visiondrift-event"] for r in rx.requests]


class Clock:
    """A clock the test moves on (cooldowns of hours, without waiting)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# ------------------------------------------------------------------------ failing receivers


def test_a_500_then_200_is_retried_and_delivered_once(
    store: HistoryStore, runs: dict[str, RunResult], receivers: Receivers
) -> None:
    rx = receivers([500, 200])
    waits: list[float] = []
    sink = AlertSink(store, alert_settings({"hook": hook(rx.url())}), sleep=waits.append)
    sink.handle(runs["drifted"])
    summary = sink.last_summary
    assert summary is not None
    assert (summary.sent, summary.pending, summary.rejected) == (1, 0, 0), summary
    # Two requests, one alert: the same delivery id both times, and one wait between them.
    assert len(rx.requests) == 2
    assert len(set(deliveries(rx))) == 1
    assert waits == [0.01]
    [item] = store.outbox.alerts()
    assert (item.status, item.attempts, item.alert_id) == ("sent", 2, deliveries(rx)[0])
    assert item.response is not None
    assert item.response.startswith("200")
    # The next flush has nothing to send again.
    again = sink.flush(due_only=False)
    assert (again.sent, again.pending) == (0, 0)
    assert len(rx.requests) == 2


def test_a_timeout_and_a_closed_port_leave_the_alert_pending(
    tmp_path: Path, runs: dict[str, RunResult], receivers: Receivers
) -> None:
    slow = receivers(Reply(200, delay=30.0))
    settings = alert_settings(
        {"slow": hook(slow.url(), timeout=0.5), "gone": hook(closed_url())}, attempts=2
    )
    with HistoryStore(tmp_path / "h.sqlite") as store:
        sink = AlertSink(store, settings, sleep=lambda s: None)
        sink.handle(runs["drifted"])
        summary = sink.last_summary
        assert summary is not None
        assert (summary.sent, summary.retrying, summary.pending) == (0, 2, 2), summary
        items = {a.channel: a for a in store.outbox.alerts()}
    for name in ("slow", "gone"):
        item = items[name]
        assert (item.status, item.attempts) == ("pending", 2), name
        assert item.next_attempt_at is not None
        assert item.next_attempt_at > item.created_at
        assert item.last_error
    assert "time" in items["slow"].last_error.lower()  # type: ignore[union-attr]
    # The slow receiver saw both attempts; each was cut at the channel's timeout.
    assert len(slow.requests) == 2
    for name in ("slow", "gone"):
        assert any(f"{name!r}" in p and "stays in the outbox" in p for p in summary.problems)


def test_a_401_is_rejected_once_with_a_clear_message(
    tmp_path: Path,
    runs: dict[str, RunResult],
    receivers: Receivers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rx = receivers(Reply(401, body="invalid token"))
    settings = alert_settings({"denied": hook(rx.url())}, cooldown=0.0)
    with HistoryStore(tmp_path / "h.sqlite") as store:
        sink = AlertSink(store, settings, sleep=lambda s: None)
        with caplog.at_level(logging.WARNING, logger="visiondrift.alerts"):
            sink.handle(runs["drifted"])
        summary = sink.last_summary
        assert summary is not None
        assert (summary.rejected, summary.sent, summary.pending) == (1, 0, 0)
        assert len(rx.requests) == 1, "a 401 is not retried"
        [item] = store.outbox.alerts()
        assert item.status == "rejected"
        assert "401" in (item.last_error or "")
        # Reported once, naming the channel, the status and what to do.
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "'denied'" in warnings[0]
        assert "401" in warnings[0]
        assert "will not be retried" in warnings[0]
        assert "visiondrift alerts test denied" in warnings[0]
        # A flush never sends it again; the next run's alert is a new one (cooldown 0).
        sink.flush(due_only=False)
        assert len(rx.requests) == 1
        sink.handle(runs["drifted"])
        assert len(rx.requests) == 2
        assert len(set(deliveries(rx))) == 2


def test_a_slow_channel_never_holds_up_another(
    tmp_path: Path, runs: dict[str, RunResult], receivers: Receivers
) -> None:
    slow = receivers(Reply(200, delay=30.0))
    fast = receivers(200)
    # The slow channel comes first: were channels sent one after the other, the fast one
    # would wait for the slow one's timeout.
    settings = alert_settings(
        {"slow": hook(slow.url(), timeout=3.0), "fast": hook(fast.url())}, attempts=1
    )
    seen: dict[str, Any] = {}
    with HistoryStore(tmp_path / "h.sqlite") as store:

        def watch() -> None:
            fast.wait_for(1, timeout=20)
            seen["slow requests"] = len(slow.requests)
            seen["slow alert"] = store.outbox.alerts(channel="slow")

        watcher = threading.Thread(target=watch)
        watcher.start()
        sink = AlertSink(store, settings, sleep=lambda s: None)
        sink.handle(runs["drifted"])
        watcher.join()
        summary = sink.last_summary
    assert summary is not None
    assert (summary.sent, summary.retrying) == (1, 1)
    # When the fast receiver got its alert, the slow one's attempt had not ended (it ends at
    # its timeout, recorded in the outbox): the fast one did not wait for it.
    [in_flight] = seen["slow alert"]
    assert (in_flight.status, in_flight.attempts) == ("pending", 0)
    assert seen["slow requests"] <= 1
    assert len(slow.requests) == 1


# ------------------------------------------------------------------------ cooldown, resolve


def test_cooldown_suppresses_and_a_clean_run_resolves(
    store: HistoryStore, runs: dict[str, RunResult], receivers: Receivers
) -> None:
    rx = receivers(200)
    clock = Clock()
    sink = AlertSink(store, alert_settings({"hook": hook(rx.url())}), clock=clock)
    drifted, clean = runs["drifted"], runs["clean"]

    sink.handle(drifted)
    assert events(rx) == ["trigger"]
    clock.advance(minutes=30)
    sink.handle(drifted)  # the same state within the hour: kept, not sent
    assert events(rx) == ["trigger"]
    assert sink.last_summary is not None
    assert sink.last_summary.suppressed == 1
    assert sink.last_decisions["hook"].action == "suppress"
    clock.advance(minutes=31)
    sink.handle(drifted)  # the cooldown has passed: told again
    assert events(rx) == ["trigger", "trigger"]
    clock.advance(minutes=5)
    sink.handle(clean)  # back to clean: resolved
    assert events(rx) == ["trigger", "trigger", "resolve"]
    resolved = rx.requests[-1].json()
    assert resolved["event"] == "resolve"
    clock.advance(minutes=5)
    sink.handle(clean)  # clean again: nothing new to tell
    assert len(rx.requests) == 3
    sink.handle(drifted)  # drift again right after: news, whatever the cooldown
    assert events(rx)[-1] == "trigger"
    statuses = [a.status for a in store.outbox.alerts()]
    assert sorted(statuses) == ["sent"] * 4 + ["suppressed"]


def test_a_rise_in_severity_is_sent_within_the_cooldown(
    tmp_path: Path, runs: dict[str, RunResult], receivers: Receivers
) -> None:
    rx = receivers(200)
    clock = Clock()
    with HistoryStore(tmp_path / "h.sqlite") as store:
        sink = AlertSink(store, alert_settings({"hook": hook(rx.url())}), clock=clock)
        low, high = at_severity(runs["drifted"], "low"), at_severity(runs["drifted"], "high")
        medium = at_severity(runs["drifted"], "medium")
        sink.handle(low)
        clock.advance(minutes=1)
        sink.handle(high)
        clock.advance(minutes=1)
        sink.handle(medium)  # a fall that still drifts: not news
        assert [r.json()["severity"] for r in rx.requests] == ["low", "high"]
        assert rx.requests[1].json()["previous_severity"] == "low"
        state = store.outbox.states("skin")["hook"]
        assert (state.state, state.severity) == ("firing", "high")


def test_routing_sends_each_severity_to_its_channels(
    tmp_path: Path, runs: dict[str, RunResult], receivers: Receivers
) -> None:
    pager, chat = receivers(200), receivers(200)
    settings = alert_settings(
        {"pager": hook(pager.url()), "chat": hook(chat.url())},
        routes=[
            {"severities": ["high"], "channels": ["pager"]},
            {"severities": ["medium"], "channels": ["chat"], "datasets": ["sk*"]},
            {"severities": ["medium"], "channels": ["pager"], "datasets": ["other"]},
        ],
    )
    with HistoryStore(tmp_path / "h.sqlite") as store:
        sink = AlertSink(store, settings)
        sink.handle(at_severity(runs["drifted"], "medium"))
        assert (len(pager.requests), len(chat.requests)) == (0, 1)
        sink.handle(at_severity(runs["drifted"], "low"))  # no rule for low
        assert (len(pager.requests), len(chat.requests)) == (0, 1)
        sink.handle(at_severity(runs["drifted"], "high"))
        assert (len(pager.requests), len(chat.requests)) == (1, 1)
        # Both were told of drift; the clean run resolves both.
        sink.handle(runs["clean"])
        assert events(pager)[-1] == events(chat)[-1] == "resolve"


def test_without_a_store_nothing_is_sent_and_it_says_why(
    runs: dict[str, RunResult], receivers: Receivers, caplog: pytest.LogCaptureFixture
) -> None:
    rx = receivers(200)
    sink = AlertSink(None, alert_settings({"hook": hook(rx.url())}))
    with caplog.at_level(logging.WARNING, logger="visiondrift.alerts"):
        sink.handle(runs["drifted"])
    assert rx.requests == []
    assert any("history store is off" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------------ restart and flush


def write_config(path: Path, channels: dict[str, dict[str, Any]], **alerts: Any) -> Path:
    """A visiondrift.toml with these channels, one route to all of them, quick retries."""
    lines = ["[alerts]"]
    lines += [f"{k} = {v!r}" for k, v in alerts.items()]
    lines += [
        "[alerts.retry]",
        "attempts = 2",
        "backoff = 0.01",
        "max_backoff = 0.05",
        "jitter = 0.0",
    ]
    for name, channel in channels.items():
        lines.append(f"[alerts.channels.{name}]")
        lines += [
            f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}" for k, v in channel.items()
        ]
    names = ", ".join(f'"{n}"' for n in channels)
    lines += ["[[alerts.routes]]", f"channels = [{names}]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_unsent_alerts_survive_a_restart_and_alerts_flush_sends_them(
    tmp_path: Path,
    runs: dict[str, RunResult],
    receivers: Receivers,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    location = tmp_path / "h.sqlite"
    config = write_config(tmp_path / "visiondrift.toml", {"hook": hook("${VD_TEST_HOOK}")})
    monkeypatch.setenv("VD_TEST_HOOK", closed_url())  # the receiver is down
    from visiondrift.settings import load_settings

    settings = load_settings(config).settings.alerts
    with HistoryStore(location) as store:
        sink = AlertSink(store, settings, sleep=lambda s: None)
        sink.handle(runs["drifted"])
        assert sink.last_summary is not None
        assert sink.last_summary.pending == 1
    capsys.readouterr()
    # 'alerts flush' in a new process's place: a new store object, the receiver back up.
    rx = receivers(200)
    monkeypatch.setenv("VD_TEST_HOOK", rx.url())
    args = ["alerts", "flush", "--config", str(config), "--store", str(location)]
    # The flush sends what is due: wait for the stored retry time (a few tens of ms here).
    with HistoryStore(location) as store:
        [waiting] = store.outbox.alerts()
    assert waiting.next_attempt_at is not None
    time.sleep(max(0.0, (waiting.next_attempt_at - datetime.now(UTC)).total_seconds()) + 0.01)
    code = run_cli(args)
    assert code == 0, "the receiver is up: nothing should be left pending"
    out = capsys.readouterr().out
    assert "Alerts: 1 sent." in out
    with HistoryStore(location) as store:
        [item] = store.outbox.alerts()
    assert deliveries(rx) == [item.alert_id]
    assert (item.status, item.attempts) == ("sent", 3)
    # The list shows it, as a table and as JSON.
    assert run_cli(["alerts", "list", "--store", str(location)]) == 0
    table = capsys.readouterr().out
    assert "hook" in table
    assert "sent" in table
    assert "skin" in table
    assert run_cli(["alerts", "list", "--json", "--store", str(location)]) == 0
    import json

    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["alert_id"], listed["status"], listed["attempts"]) == (item.alert_id, "sent", 3)


def test_two_processes_flushing_one_outbox_send_each_alert_once(
    store_location: tuple[str, str | None],
    tmp_path: Path,
    runs: dict[str, RunResult],
    receivers: Receivers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    location, schema = store_location
    rx = receivers(Reply(200, delay=0.1))  # slow enough for the two to overlap
    channels = {f"hook{i}": hook("${VD_TEST_HOOK}") for i in range(3)}
    config = write_config(tmp_path / "visiondrift.toml", channels, cooldown=0.0)
    if schema is not None:
        with open(config, "a", encoding="utf-8") as f:
            f.write(f'[store]\npg_schema = "{schema}"\n')
    monkeypatch.setenv("VD_TEST_HOOK", closed_url())
    from visiondrift.settings import load_settings

    settings = load_settings(config).settings.alerts
    with HistoryStore(location, pg_schema=schema) as store:
        sink = AlertSink(store, settings, sleep=lambda s: None)
        for _ in range(4):  # 4 runs x 3 channels = 12 alerts waiting
            sink.handle(runs["drifted"])
        assert store.outbox.pending_by_channel() == dict.fromkeys(channels, 4)
    env = {
        **os.environ,
        "VD_TEST_HOOK": rx.url(),
        "PYTHONPATH": str(ROOT / "src"),
        "VISIONDRIFT_CONFIG": str(config),
    }
    command = [sys.executable, "-m", "visiondrift.cli", "alerts", "flush", "--all"]
    command += ["--store", location]
    flushers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in flushers]
    for p, (_out, err) in zip(flushers, outputs, strict=True):
        assert p.returncode in (0, 1), err.decode()
    ids = deliveries(rx)
    assert len(ids) == 12, [o.decode() for o, _ in outputs]
    assert len(set(ids)) == 12, "an alert was sent twice"
    with HistoryStore(location, pg_schema=schema) as store:
        assert store.outbox.counts() == {"sent": 12}
        assert {a.alert_id for a in store.outbox.alerts(limit=None)} == set(ids)


def test_waits_double_with_jitter_and_the_next_attempt_is_scheduled(
    tmp_path: Path, runs: dict[str, RunResult], receivers: Receivers
) -> None:
    rx = receivers([503, 503, 503])
    clock = Clock()
    waits: list[float] = []
    settings = alert_settings(
        {"hook": hook(rx.url())}, attempts=3, backoff=2.0, max_backoff=5.0, jitter=0.5
    )
    with HistoryStore(tmp_path / "h.sqlite") as store:
        sink = AlertSink(store, settings, clock=clock, sleep=waits.append, draw=lambda: 0.5)
        sink.handle(runs["drifted"])
        [item] = store.outbox.alerts()
    # 2 s then 4 s, each less a quarter (jitter 0.5 x a draw of 0.5); then the third failure
    # schedules the next round 8 s -> capped at 5 s, less a quarter, after now.
    assert waits == [1.5, 3.0]
    assert len(rx.requests) == 3
    assert (item.status, item.attempts) == ("pending", 3)
    assert item.next_attempt_at == clock.now + timedelta(seconds=3.75)


def test_an_alert_is_given_up_after_max_attempts(
    tmp_path: Path, runs: dict[str, RunResult], receivers: Receivers
) -> None:
    rx = receivers(503)
    settings = alert_settings({"hook": hook(rx.url())}, attempts=2, max_attempts=3)
    with HistoryStore(tmp_path / "h.sqlite") as store:
        sink = AlertSink(store, settings, sleep=lambda s: None)
        sink.handle(runs["drifted"])
        first = sink.last_summary
        assert first is not None
        assert (first.retrying, first.expired, first.pending) == (1, 0, 1)
        again = sink.flush(due_only=False)  # one more attempt reaches max_attempts
        assert (again.retrying, again.expired, again.pending) == (1, 1, 0)
        assert any("given up after 3 attempts" in p for p in again.problems)
        [item] = store.outbox.alerts()
        assert (item.status, item.attempts) == ("expired", 3)
        assert len(rx.requests) == 3
        # Expired is final: a flush sends nothing more.
        sink.flush(due_only=False)
        assert len(rx.requests) == 3


def test_a_stored_message_that_cannot_be_read_is_rejected_not_looped_on(
    tmp_path: Path, receivers: Receivers
) -> None:
    from visiondrift.store import OutboxAlert

    rx = receivers(200)
    with HistoryStore(tmp_path / "h.sqlite") as store:
        store.outbox.enqueue(
            [
                OutboxAlert(
                    alert_id="e" * 32,
                    run_id=None,
                    dataset="skin",
                    channel="hook",
                    kind="webhook",
                    event="trigger",
                    severity="high",
                    status="pending",
                    attempts=0,
                    created_at=datetime.now(UTC),
                    payload={"alert_id": "e" * 32, "format": "from a future version"},
                )
            ]
        )
        summary = AlertSink(store, alert_settings({"hook": hook(rx.url())})).flush()
        assert (summary.rejected, summary.pending) == (1, 0)
        assert "stored message cannot be read" in summary.problems[0]
        assert rx.requests == []
