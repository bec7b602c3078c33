"""A planted secret appears nowhere: not in any output, log, store table or report file.

A unique secret goes into an environment variable; the settings file only references it, in a
webhook URL that is down, in the query of a URL whose receiver answers 401 quoting it back, in
a PagerDuty routing key whose receiver answers 500 quoting it, and as the HMAC secret and a
bearer token of a webhook that works. Then ``monitor`` runs through the command line, and
``alerts list``, ``alerts test``, ``alerts flush`` and ``config show`` follow. Every byte they
printed or logged, every value of every table of the store (compressed documents inflated) and
every file the run wrote is searched for the secret.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from _receivers import HttpReceiver, Reply, closed_port
from visiondrift.cli import run as run_cli


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> str:
    value = f"vdPlanted{secrets.token_hex(12)}"
    monkeypatch.setenv("VD_PLANTED", value)
    return value


@pytest.fixture
def receivers(planted: str) -> Iterator[dict[str, HttpReceiver]]:
    made = {
        "denied": HttpReceiver(Reply(401, body=f"the token {planted} is not valid")),
        "pager": HttpReceiver(Reply(500, body={"message": f"unknown routing key {planted}"})),
        "signed": HttpReceiver(200),
    }
    for receiver in made.values():
        receiver.start()
    yield made
    for receiver in made.values():
        receiver.close()


def store_contents(path: Path) -> str:
    """Every value of every table of a SQLite store, compressed documents inflated."""
    assert path.is_file(), f"the run did not use the store {path}"
    parts: list[str] = []
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM vd_alerts").fetchone()[0] == 4
        assert conn.execute("SELECT count(*) FROM vd_runs").fetchone()[0] == 1
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        with contextlib.suppress(zlib.error):
                            value = zlib.decompress(value)
                        parts.append(value.decode("utf-8", errors="replace"))
                    else:
                        parts.append(str(value))
    conn.close()
    return "\n".join(parts)


def test_a_planted_secret_appears_nowhere(
    tmp_path: Path,
    photo_dir: Path,
    changed_dir: Path,
    planted: str,
    receivers: dict[str, HttpReceiver],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = tmp_path / "history.sqlite"
    # The session's VISIONDRIFT_STORE would win over the settings file: this test's own store.
    monkeypatch.setenv("VISIONDRIFT_STORE", str(store))
    out = tmp_path / "out"
    out.mkdir()
    down = f"http://127.0.0.1:{closed_port()}/hook/${{VD_PLANTED}}"
    config = tmp_path / "visiondrift.toml"
    config.write_text(
        f"""
[store]
url = "{store}"

[alerts]
base_url = "https://reports.example.invalid/drift"

[alerts.retry]
attempts = 2
backoff = 0.01
max_backoff = 0.02
jitter = 0.0

[alerts.channels.down]
kind = "webhook"
url = "{down}"
timeout = 2.0

[alerts.channels.denied]
kind = "webhook"
url = "{receivers["denied"].url("/hook")}?token=${{VD_PLANTED}}"

[alerts.channels.pager]
kind = "pagerduty"
routing_key = "${{VD_PLANTED}}"
url = "{receivers["pager"].url("/v2/enqueue")}"

[alerts.channels.signed]
kind = "webhook"
url = "{receivers["signed"].url("/hook")}"
secret = "${{VD_PLANTED}}"
headers = {{ Authorization = "Bearer ${{VD_PLANTED}}" }}

[[alerts.routes]]
channels = ["down", "denied", "pager", "signed"]
""",
        encoding="utf-8",
    )
    cfg = ["--config", str(config)]
    printed: list[str] = []

    def cli(*args: str) -> int:
        code = run_cli(["--verbose", *args])
        captured = capsys.readouterr()
        printed.extend([captured.out, captured.err])
        return code

    assert cli("baseline", str(photo_dir), "-o", str(tmp_path / "baseline.json"), *cfg) == 0
    caplog.set_level(logging.DEBUG)
    code = cli(
        "monitor",
        str(changed_dir),
        "--baseline",
        str(tmp_path / "baseline.json"),
        "-o",
        str(out / "report.json"),
        "--html",
        str(out / "report.html"),
        "--summary-md",
        str(out / "summary.md"),
        "--dataset",
        "skin",
        *cfg,
    )
    assert code == 1, printed  # drift; a failing channel does not change the verdict
    assert cli("alerts", "list", *cfg) == 0
    assert cli("alerts", "list", "--json", *cfg) == 0
    assert cli("alerts", "test", "denied", *cfg) == 1
    assert cli("alerts", "test", "down", *cfg) == 1
    assert cli("alerts", "test", "pager", *cfg) == 1
    assert cli("alerts", "test", "signed", *cfg) == 0
    assert cli("alerts", "flush", "--all", *cfg) == 1  # 'down' and 'pager' stay pending
    assert cli("config", "show", *cfg) == 0
    assert cli("config", "show", "--json", *cfg) == 0
    assert cli("history", "list", "--json", *cfg) == 0

    # The secret was really used: the receivers got it where it belongs ...
    signed = receivers["signed"].requests
    assert signed
    assert signed[0].headers["authorization"] == f"Bearer {planted}"
    assert receivers["denied"].requests[0].path.endswith(f"token={planted}")
    assert planted in receivers["pager"].requests[0].text
    # ... and the receivers' answers that quoted it back were masked, not dropped.
    text = "\n".join(printed)
    assert "**********" in text
    assert "rejected" in text
    logs = "\n".join([r.getMessage() for r in caplog.records] + [caplog.text])
    assert "denied" in logs

    # Nowhere: outputs, logs, the store (every table), the run's files.
    forms = {planted, quote(planted, safe="")}
    places = {
        "command output": text,
        "logs": logs,
        "store tables": store_contents(store),
        **{f"file {p.name}": p.read_bytes().decode("utf-8", "replace") for p in out.iterdir()},
    }
    for name in ("history.sqlite", "history.sqlite-wal"):
        if (tmp_path / name).exists():
            places[f"raw {name}"] = (tmp_path / name).read_bytes().decode("latin-1")
    assert len(places) >= 6
    for where, content in places.items():
        for form in forms:
            assert form not in content, f"the planted secret leaked into the {where}"
