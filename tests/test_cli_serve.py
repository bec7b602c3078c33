"""``visiondrift serve`` as a real process (a free port, /healthz, a key, SIGTERM -> exit 0) and
the ``visiondrift keys`` commands."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from visiondrift.cli import run
from visiondrift.store import HistoryStore

_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    stdout: list[str]
    stderr: list[str] = field(default_factory=list)


def _pump(stream: IO[str], lines: list[str], seen: queue.Queue[str]) -> None:
    for line in stream:
        lines.append(line)
        seen.put(line)


@contextmanager
def serving(tmp_path: Path, *args: str, timeout: float = 60.0) -> Iterator[Server]:
    """``visiondrift serve --port 0 ...`` in a subprocess, until it listens."""
    command = [
        sys.executable,
        "-m",
        "visiondrift.cli",
        "serve",
        "--port",
        "0",
        "--store",
        str(tmp_path / "history.sqlite"),
        "--data-dir",
        str(tmp_path / "data"),
        *args,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("VISIONDRIFT_CONFIG", None)
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        start_new_session=True,  # its own group: a failed test stops the workers too
    )
    out: list[str] = []
    err: list[str] = []
    seen: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    assert process.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(process.stdout, out, queue.Queue()), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, err, seen), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    deadline = time.monotonic() + timeout
    url = None
    try:
        while url is None:
            try:
                line = seen.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            found = _LISTENING.search(line)
            if found:
                url = f"http://127.0.0.1:{found.group(1)}"
            elif process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start:\n{''.join(err)}")
        _wait_healthy(url, deadline)
        yield Server(process, url, out, err)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        for pump in pumps:
            pump.join(10)
        process.stdout.close()
        process.stderr.close()


def _wait_healthy(url: str, deadline: float) -> None:
    """Poll /healthz: several workers listen only once each has started."""
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url}/healthz never answered")
        time.sleep(0.05)


def _stop(server: Server) -> int:
    server.process.send_signal(signal.SIGTERM)
    return server.process.wait(30)


def test_serve_starts_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    with serving(tmp_path, "--init-key") as server:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            assert c.get("/healthz").json() == {"status": "ok"}
            assert c.get("/readyz").status_code == 200
            assert c.get("/v1/baselines").status_code == 401
            assert "server" not in c.get("/healthz").headers
            token = next(line.strip() for line in server.stdout if line.strip().startswith("vd_"))
            headers = {"Authorization": f"Bearer {token}"}
            assert c.get("/v1/baselines", headers=headers).json() == []
        assert _stop(server) == 0
    assert "Application shutdown complete" in "".join(server.stderr)
    # the key is in the store, hashed; a second start creates none and does not warn
    with HistoryStore(tmp_path / "history.sqlite") as store:
        assert [k.name for k in store.keys.list()] == ["admin"]
    with serving(tmp_path, "--init-key") as again:
        assert not any("vd_" in line for line in again.stdout)
        assert _stop(again) == 0
    assert "no API key exists" not in "".join(again.stderr)


def test_serve_without_a_key_warns(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        assert _stop(server) == 0
    assert "no API key exists" in "".join(server.stderr)
    assert "visiondrift keys create" in "".join(server.stderr)


def test_serve_with_several_workers(tmp_path: Path) -> None:
    with serving(tmp_path, "--workers", "2", "--init-key") as server:
        token = next(line.strip() for line in server.stdout if line.strip().startswith("vd_"))
        headers = {"Authorization": f"Bearer {token}"}
        # Each worker opens the store the command line named (handed down in the environment):
        # the key made in it works whichever worker answers.
        fresh = httpx.Limits(max_keepalive_connections=0)  # a connection per request
        with httpx.Client(base_url=server.url, timeout=10, headers=headers, limits=fresh) as c:
            for _ in range(8):
                assert c.get("/v1/baselines").status_code == 200
            # PROMETHEUS_MULTIPROC_DIR was set for the workers: whichever answers /metrics
            # counts the requests of both.
            for _ in range(6):
                assert _requests_counted(c.get("/metrics").text, "/v1/baselines") == 8
        assert _stop(server) == 0
    log = "".join(server.stderr)
    assert log.count("Application startup complete") == 2


def _requests_counted(exposition: str, route: str) -> float:
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith("visiondrift_http_request_duration_seconds_count{") and (
            f'route="{route}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_serve_on_a_port_in_use_exits_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "visiondrift.cli",
                "serve",
                "--port",
                str(port),
                "--store",
                str(tmp_path / "h.sqlite"),
                "--data-dir",
                str(tmp_path / "d"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert done.returncode == 2, done.stderr
    assert "choose another --port" in done.stderr


# ------------------------------------------------------------------ keys


def test_keys_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store_path = str(tmp_path / "history.sqlite")
    assert run(["keys", "list", "--store", store_path]) == 0
    assert "No API keys" in capsys.readouterr().out
    assert run(["keys", "create", "model-server", "--scope", "write", "--store", store_path]) == 0
    created = capsys.readouterr()
    token = created.out.strip()
    assert re.fullmatch(r"vd_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", token)
    assert "shown once" in created.err
    with HistoryStore(store_path) as store:
        key = store.keys.verify(token)
        assert key is not None
        assert key.scopes == ("write",)
    assert run(["keys", "list", "--json", "--store", store_path]) == 0
    listed = capsys.readouterr().out
    assert token.split("_", 2)[2] not in listed
    (row,) = json.loads(listed)
    assert row["key_id"] == key.key_id
    assert row["scopes"] == ["write"]
    assert row["active"] is True
    assert run(["keys", "list", "--store", store_path]) == 0
    table = capsys.readouterr().out
    assert key.key_id in table
    assert "active" in table
    assert run(["keys", "revoke", key.key_id, "--store", store_path]) == 0
    capsys.readouterr()
    with HistoryStore(store_path) as store:
        assert store.keys.verify(token) is None
    assert run(["keys", "revoke", key.key_id, "--store", store_path]) == 2
    assert "No valid API key" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["keys", "create", "x", "--scope", "root"],
        ["keys", "create", "x"],
        ["keys", "create", "../bad name!", "--scope", "read"],
        ["keys", "revoke", "nope"],
    ],
)
def test_keys_bad_usage_exits_2(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([*args, "--store", str(tmp_path / "h.sqlite")]) == 2
    assert "vd_" not in capsys.readouterr().out


def test_serve_reads_the_settings_file_in_every_worker(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere" / "service.toml"
    config.parent.mkdir()
    config.write_text("[service]\nauth = false\n", encoding="utf-8")
    with serving(tmp_path, "--workers", "2", "--config", str(config)) as server:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            for _ in range(8):
                assert c.get("/v1/baselines").status_code == 200  # no key needed: auth off
        assert _stop(server) == 0
    assert "no API key exists" not in "".join(server.stderr)
