"""End to end: a watcher over an inbox that receives three daily batches, one of them drifted,
tells a webhook receiver on 127.0.0.1 what it found, as a settings file routes it; started again,
it sends nothing twice.

Everything is real: the command line in its own process, the settings file, the images, the
history store, the HTTP receiver that checks each request's HMAC signature.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

import _receivers
from _watch_helpers import Watch, make_baseline, write_batch
from visiondrift.alerts._payloads import verify_signature
from visiondrift.store import HistoryStore

http_receiver = _receivers.http_receiver

DAYS = [("20261128", False), ("20261129", True), ("20261130", False)]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e-baseline")
    return make_baseline(folder / "images", folder / "baseline.json")


def _settings_file(folder: Path) -> Path:
    """visiondrift.toml of the production loop: the inbox, and every drift to the platform's
    webhook (its URL and secret from the environment)."""
    path = folder / "visiondrift.toml"
    path.write_text(
        f"""
[store]
url = "{folder / "history.sqlite"}"

[watch]
inbox = "{folder / "inbox"}"
marker = "_SUCCESS"
poll = 0.2

[alerts]
base_url = "https://reports.example.test/skin/"

[alerts.channels.platform]
kind = "webhook"
url = "${{E2E_HOOK_URL}}"
secret = "${{E2E_HOOK_SECRET}}"

[[alerts.routes]]
severities = ["low", "medium", "high"]
channels = ["platform"]
""",
        encoding="utf-8",
    )
    return path


def _watch(baseline: Path, folder: Path, env: dict[str, str], *more: str) -> Watch:
    args = [str(baseline), "--out", "reports", "--workers", "1", *more]
    return Watch(args, cwd=folder, **env)


def test_three_days_one_drifted_the_expected_alerts_and_none_twice_after_a_restart(
    baseline: Path, tmp_path: Path, http_receiver: Any
) -> None:
    rx = http_receiver(200)
    secret = secrets.token_hex(16)
    env = {"E2E_HOOK_URL": rx.url("/hooks/drift"), "E2E_HOOK_SECRET": secret}
    _settings_file(tmp_path)
    (tmp_path / "inbox").mkdir()
    watch = _watch(baseline, tmp_path, env)
    after: dict[str, int] = {}
    try:
        for seed, (day, drifted) in enumerate(DAYS):
            write_batch(tmp_path / "inbox" / day, seed=60 + seed, drifted=drifted)
            done = watch.wait_for(
                lambda r, day=day: r.get("event") == "batch_done" and r.get("batch") == day
            )
            assert done["verdict"] == ("drift" if drifted else "no drift")
            assert done["failed_sinks"] == []
            # The alert sink sends before the run is done: what arrived is final for the day.
            after[day] = len(rx.requests)
    finally:
        code = watch.stop()
    assert code == 0, "".join(watch.raw)

    # Day 1, clean: nobody is told. Day 2, drifted: one trigger, sent. Day 3 is clean on its
    # own, but the slow-drift check over the last runs still sees day 2 (severity low): lower
    # than what the channel was told within the cooldown, so it is suppressed, not sent.
    assert after == {"20261128": 0, "20261129": 1, "20261130": 1}
    (request,) = rx.requests
    trigger = request.json()
    assert (trigger["event"], trigger["severity"], trigger["dataset"]) == (
        "trigger",
        "high",
        "skin",
    )
    assert trigger["schema"] == "visiondrift.alert/1"
    # The link is base_url + the page's path under --out, where the watcher published it.
    assert trigger["report"]["name"] == "20261129/20261129.html"
    assert trigger["report"]["url"] == "https://reports.example.test/skin/20261129/20261129.html"
    assert trigger["explanations"]
    for request in rx.requests:
        assert request.method == "POST"
        assert request.path == "/hooks/drift"
        assert verify_signature(request.body, request.headers, secret)
        assert request.headers["x-visiondrift-event"] == request.json()["event"]
        # Messages name the dataset and the report's file, never a path or the secret.
        assert str(tmp_path) not in request.text
        assert secret not in request.text
    with HistoryStore(tmp_path / "history.sqlite") as store:
        runs = {r.run_id: r for r in store.runs()}
        claims = {Path(c.batch_key).name: c for c in store.claims.list()}
        outbox = [(a.run_id, a.event, a.severity, a.status) for a in store.outbox.alerts()]
    assert len(runs) == 3
    assert {c.status for c in claims.values()} == {"done"}
    assert trigger["run_id"] == claims["20261129"].run_id
    assert runs[trigger["run_id"]].drift
    assert outbox == [
        (claims["20261130"].run_id, "trigger", "low", "suppressed"),
        (claims["20261129"].run_id, "trigger", "high", "sent"),
    ]
    assert secret not in "".join(watch.raw)

    # Started again (cron's next night, a restart): no batch is run, no request is sent.
    again = _watch(baseline, tmp_path, env, "--once")
    assert again.finish() == 0, "".join(again.raw)
    assert len(rx.requests) == 1
    assert again.lines[-1]["counts"] == {"skipped": 3}
    with HistoryStore(tmp_path / "history.sqlite") as store:
        assert len(store.runs()) == 3
        assert len(store.outbox.alerts()) == 2


def test_no_alerts_records_the_run_and_tells_nobody(
    baseline: Path, tmp_path: Path, http_receiver: Any
) -> None:
    rx = http_receiver(200)
    env = {"E2E_HOOK_URL": rx.url("/hooks/drift"), "E2E_HOOK_SECRET": secrets.token_hex(16)}
    _settings_file(tmp_path)
    write_batch(tmp_path / "inbox" / "20261129", seed=70, drifted=True)
    watch = _watch(baseline, tmp_path, env, "--once", "--no-alerts", "--no-html")
    assert watch.finish() == 0, "".join(watch.raw)
    done = next(r for r in watch.lines if r.get("event") == "batch_done")
    assert done["verdict"] == "drift"
    assert rx.requests == []
    with HistoryStore(tmp_path / "history.sqlite") as store:
        assert [r.run_id for r in store.runs()] == [done["run_id"]]
        assert store.outbox.alerts() == []
