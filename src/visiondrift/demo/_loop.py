"""The demo's production loop: ``visiondrift watch`` over an inbox of three daily batches.

The batches arrive as sub-folders of ``inbox/`` named by day, each closed by a ``_SUCCESS``
marker; the last day's camera changed. A webhook receiver on 127.0.0.1 stands in for the team's
chat and for the retraining pipeline: it checks every request's HMAC signature and records what
it was told. The watcher runs as its own process (``visiondrift watch --once``, as cron would
start it), twice: the second pass finds every batch already claimed and sends nothing again.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from visiondrift.demo.samples import CameraChange, make_dataset

__all__ = ["production_loop"]

#: The variable the demo's settings file names for the webhook's shared secret.
SECRET_VARIABLE = "VISIONDRIFT_DEMO_WEBHOOK_SECRET"
DATASET = "photos-prod"


@dataclass
class _Received:
    path: str
    verified: bool
    body: dict[str, Any]


@dataclass
class _Receiver:
    """An HTTP server on 127.0.0.1 that verifies each request's signature and records it."""

    secret: str
    received: list[_Received] = field(default_factory=list)

    def __enter__(self) -> _Receiver:
        from visiondrift.alerts import verify_signature

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                verified = verify_signature(body, dict(self.headers), receiver.secret)
                try:
                    data = json.loads(body)
                except ValueError:
                    data = {}
                receiver.received.append(_Received(self.path, verified, data))
                self.send_response(200 if verified else 401)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the demo prints what it received itself

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _settings_file(folder: Path, receiver: _Receiver) -> Path:
    """The loop's settings: a webhook for the team, a retraining trigger for high drift."""
    text = f"""\
# The demo's production loop (visiondrift watch): who is told what.
[alerts.channels.team]
kind = "webhook"
url = "{receiver.url}/hooks/team"
secret = "${{{SECRET_VARIABLE}}}"

[alerts.channels.retrain]
kind = "retrain"
url = "{receiver.url}/hooks/retrain"
secret = "${{{SECRET_VARIABLE}}}"

[[alerts.routes]]
severities = ["low", "medium", "high"]
channels = ["team"]

[[alerts.routes]]
severities = ["high"]
channels = ["retrain"]

[watch]
marker = "_SUCCESS"
"""
    path = folder / "visiondrift.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _watch(config: Path, baseline: Path, inbox: Path, out: Path, secret: str) -> None:
    """One ``visiondrift watch --once`` process, as cron or a systemd timer would start it."""
    command = [
        sys.executable,
        "-m",
        "visiondrift.cli",
        "--config",
        str(config),
        "watch",
        str(baseline),
        "--inbox",
        str(inbox),
        "--dataset",
        DATASET,
        "--out",
        str(out),
        "--store",
        str(config.parent / "history.sqlite"),
        "--once",
    ]
    env = {**os.environ, SECRET_VARIABLE: secret}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode not in (0, 1):
        print(done.stderr[-3000:], file=sys.stderr)
        raise RuntimeError(f"visiondrift watch exited with {done.returncode}")


def production_loop(
    out: Path, baseline: Path, photos: list[tuple[str, NDArray[np.uint8]]], n: int
) -> bool:
    """Run the loop; True when the team heard of the changed day only, once, and signed."""
    folder = out / "loop"
    shutil.rmtree(folder, ignore_errors=True)
    inbox = folder / "inbox"
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=k)).strftime("%Y%m%d") for k in (2, 1, 0)]
    change = CameraChange()
    print(f"\nThe production loop: visiondrift watch over {inbox}/")
    for i, day in enumerate(days):
        changed = i == len(days) - 1
        make_dataset(
            inbox / day, n, seed=40 + i, photos=photos, transform=change if changed else None
        )
        (inbox / day / "_SUCCESS").touch()
        what = f"new camera: {change.describe()}" if changed else "same camera"
        print(f"  inbox/{day}/  {n} images, {what}, closed by _SUCCESS")
    secret = secrets.token_hex(16)
    with _Receiver(secret) as receiver:
        config = _settings_file(folder, receiver)
        print(f"  alerts: webhook 'team' (every drift) and 'retrain' (high) -> {receiver.url}")
        _watch(config, baseline, inbox, folder / "reports", secret)
        first = list(receiver.received)
        print(f"\nWhat the team was told ({len(first)} messages, each signed and verified):")
        for message in first:
            _print_message(message)
        _watch(config, baseline, inbox, folder / "reports", secret)
        again = receiver.received[len(first) :]
    print(
        f"  a second 'watch --once' found every batch already done: {len(again)} new messages "
        "(nothing is processed or sent twice)"
    )
    print(f"  reports in {folder / 'reports'}/, runs and alerts in {folder / 'history.sqlite'}")
    team = [m.body for m in first if m.path.endswith("/team")]
    day = datetime.strptime(days[-1], "%Y%m%d").date().isoformat()
    ok = (
        all(m.verified for m in first)
        and not again
        and [(b.get("event"), b.get("dataset"), _day(b)) for b in team]
        == [("trigger", DATASET, day)]
    )
    if not ok:
        print("  expected one signed message to 'team' (the changed day's drift) and no repeat")
    return ok


def _print_message(message: _Received) -> None:
    body = message.body
    if message.path.endswith("/retrain"):
        print(
            f"  retraining trigger <- priority {body.get('priority')!r}, dataset "
            f"{body.get('dataset')!r}, families {', '.join(body.get('families') or [])}"
        )
        return
    print(f"  team <- {body.get('event')}: {body.get('title')} (the batch of {_day(body)})")
    for line in (body.get("explanations") or [])[:3]:
        print(f"    - {line}")


def _day(body: dict[str, Any]) -> str | None:
    """The day a message's batch covers (its window's start), as YYYY-MM-DD."""
    window = body.get("window") or {}
    start = window.get("start") if isinstance(window, dict) else None
    return str(start)[:10] if start else None
