"""``visiondrift alerts test|list|flush`` and ``monitor``'s alerts, through the command line,
with real receivers on 127.0.0.1 and a real store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from _receivers import HttpReceiver, Reply
from visiondrift.cli import run as run_cli


@pytest.fixture
def ok() -> Iterator[HttpReceiver]:
    with HttpReceiver(Reply(200, body="thanks")) as rx:
        yield rx


@pytest.fixture
def missing() -> Iterator[HttpReceiver]:
    with HttpReceiver(Reply(404, body="no such hook")) as rx:
        yield rx


@pytest.fixture(autouse=True)
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own store (the session's VISIONDRIFT_STORE would win over the file)."""
    monkeypatch.setenv("VISIONDRIFT_STORE", str(tmp_path / "history.sqlite"))


def settings_file(tmp_path: Path, ok: HttpReceiver, missing: HttpReceiver) -> Path:
    path = tmp_path / "visiondrift.toml"
    path.write_text(
        f"""
[store]
url = "{tmp_path / "history.sqlite"}"

[alerts.retry]
backoff = 0.01
jitter = 0.0

[alerts.channels.team]
kind = "webhook"
url = "{ok.url("/team")}"

[alerts.channels.gone]
kind = "webhook"
url = "{missing.url("/gone")}"

[[alerts.routes]]
severities = ["medium", "high"]
channels = ["team"]
""",
        encoding="utf-8",
    )
    return path


def test_alerts_test_says_what_the_receiver_answered(
    tmp_path: Path,
    ok: HttpReceiver,
    missing: HttpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = ["--config", str(settings_file(tmp_path, ok, missing))]
    assert run_cli(["alerts", "test", "team", *cfg]) == 0
    out = capsys.readouterr().out
    assert "Delivered a test message to 'team' (webhook)" in out
    assert "200" in out
    assert "thanks" in out
    [request] = ok.requests
    assert request.headers["x-visiondrift-event"] == "test"
    assert "test" in request.json()["title"]

    assert run_cli(["alerts", "test", "gone", *cfg]) == 1
    err = capsys.readouterr().err
    assert "Not delivered" in err
    assert "404" in err
    assert len(missing.requests) == 1

    assert run_cli(["alerts", "test", "nope", *cfg]) == 2
    err = capsys.readouterr().err
    assert "no alert channel named 'nope'" in err
    assert "defined: gone, team" in err
    # A test message goes straight to the channel: nothing is queued.
    assert run_cli(["alerts", "list", *cfg]) == 0
    assert "No alerts" in capsys.readouterr().out


def test_monitor_tells_the_routed_channels_unless_told_not_to(
    tmp_path: Path,
    photo_dir: Path,
    changed_dir: Path,
    ok: HttpReceiver,
    missing: HttpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = ["--config", str(settings_file(tmp_path, ok, missing))]
    baseline = tmp_path / "baseline.json"
    assert run_cli(["baseline", str(photo_dir), "-o", str(baseline), "--quiet", *cfg]) == 0
    monitor = ["monitor", str(changed_dir), "--baseline", str(baseline), "--dataset", "skin"]

    def run(name: str, *extra: str) -> tuple[int, str, str]:
        code = run_cli([*monitor, "-o", str(tmp_path / f"{name}.json"), *extra, *cfg])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    code, out, _ = run("first")
    assert code == 1  # drift: the verdict's code, whatever the alerts did
    assert "Alerts: 1 sent." in out
    assert [r.path for r in ok.requests] == ["/team"]
    body = ok.requests[0].json()
    assert (body["dataset"], body["event"], body["report"]["name"]) == (
        "skin",
        "trigger",
        "first.json",
    )
    assert missing.requests == []  # no rule sends to it

    code, out, _ = run("quiet", "--no-alerts")
    assert code == 1
    assert "Alerts" not in out
    assert len(ok.requests) == 1

    code, out, err = run("second")  # within the cooldown: kept, not sent
    assert "1 suppressed (cooldown)" in out
    assert len(ok.requests) == 1

    code, out, err = run("unrecorded", "--no-store")
    assert code == 1
    assert "history store's outbox" in err
    assert len(ok.requests) == 1

    assert run_cli(["alerts", "list", "--json", *cfg]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(a["channel"], a["status"]) for a in listed] == [
        ("team", "suppressed"),
        ("team", "sent"),
    ]
    assert run_cli(["alerts", "list", "--status", "sent", *cfg]) == 0
    table = capsys.readouterr().out
    assert "sent" in table
    assert "suppressed" not in table.split("In the outbox")[0]
    assert run_cli(["alerts", "flush", *cfg]) == 0
    assert "Alerts: 0 sent." in capsys.readouterr().out


def test_alerts_prune_forgets_finished_alerts_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    from visiondrift.store import HistoryStore, OutboxAlert

    old = datetime.now(UTC) - timedelta(days=40)
    location = tmp_path / "history.sqlite"

    def alert(alert_id: str, status: str, when: datetime) -> OutboxAlert:
        return OutboxAlert(
            alert_id=alert_id,
            run_id=None,
            dataset="skin",
            channel="team",
            kind="webhook",
            event="trigger",
            severity="high",
            status=status,  # type: ignore[arg-type]
            attempts=1,
            created_at=when,
            payload={"alert_id": alert_id},
        )

    with HistoryStore(location) as store:
        store.outbox.enqueue(
            [
                alert("a" * 32, "sent", old),
                alert("b" * 32, "suppressed", old),
                alert("c" * 32, "pending", old),
                alert("d" * 32, "sent", datetime.now(UTC)),
            ]
        )
    assert run_cli(["alerts", "prune", "--older-than", "30d", "--store", str(location)]) == 0
    assert "Removed 2 alerts made before" in capsys.readouterr().out
    with HistoryStore(location) as store:
        assert sorted(a.alert_id[0] for a in store.outbox.alerts()) == ["c", "d"]
    assert run_cli(["alerts", "prune", "--older-than", "soon", "--store", str(location)]) == 2
    assert "expected a duration" in capsys.readouterr().err
