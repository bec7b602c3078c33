"""The service under load: records per second, latency, and nothing acknowledged lost.

Usage::

    python benchmarks/service_load.py [--seconds 60] [--batch 100] [--concurrency 4]
                                      [--classes 10] [--warmup 3] [--window-count 100000]
                                      [--client wrk|httpx] [--ids sequential|random]

Two servers, one after the other, each a subprocess running uvicorn on 127.0.0.1 with the same
settings (one process, default loop and HTTP implementation, no access log):

a. the bare endpoint, the baseline: a FastAPI app with only ``POST
   /v1/datasets/{dataset}/records`` that validates the body with the service's own model
   (``visiondrift.service._records.RecordsBody``: one record or ``{"records": [...]}``) the way
   FastAPI does for a body parameter, and answers 202;
b. the service: ``visiondrift.service.create_app`` as ``visiondrift serve`` runs it, on a SQLite
   store in a temporary folder, with API keys on: its record writer and window closer are
   processes of its own. Windows of --window-count records (default 100,000: at full load one
   closes every two seconds or so, so verdicts are built, compared and recorded throughout the
   measurement); 0: the service's default windows (1,000 records or an hour). A predictions
   baseline (2,000 Dirichlet draws over --classes classes) is uploaded first with
   ``visiondrift.client.Client.upload_baseline``.

Each gets --warmup seconds, then --seconds of load: --concurrency connections, each posting
batches of --batch probability records (ids unique to the run: ``thread-request-index`` by
default, so a request's ids sort together; ``--ids random``: random hex, as UUIDs are) back to
back (a closed loop).
The load comes from wrk (Debian's ``wrk``, with ``service_load.lua``: a C load generator that
takes little of the machine's two cores from the servers) or, with ``--client httpx`` or when
wrk is not installed, from an httpx async client in this process. Prints the records
acknowledged per second, the p50 and p99 of the request latency, the CPU the server used (and,
for the service, its writer and closing processes with it) per 100 records, and for the service
the records in the store (``store.windows.count_records``) against the records acknowledged
(2xx). With httpx every request is answered before the count, so they must be equal; wrk stops
with up to
--concurrency requests in flight, whose records may be stored unacknowledged, so the store must
hold every acknowledged record and at most that many more.

Targets (issue 13): service throughput >= 0.5 x the bare endpoint's; service p99 < 100 ms; no
acknowledged record missing from the store. Aim: >= 2,000 records/s. Exits 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

DATASET = "load"
RATIO_TARGET = 0.5
P99_TARGET = 0.100
AIM = 2000.0


# ----------------------------------------------------------------------------- the servers


def _bare_app() -> Any:
    from typing import Annotated

    from fastapi import Body, FastAPI, Path
    from fastapi.responses import JSONResponse

    from visiondrift.service._records import RecordBatch, RecordsBody
    from visiondrift.store._baselines import DATASET_PATTERN

    app = FastAPI()

    async def records(dataset: str, body: Any) -> JSONResponse:
        n = len(body.records) if isinstance(body, RecordBatch) else 1
        return JSONResponse({"accepted": n}, status_code=202)

    # The route's own annotations (this module's are strings, which FastAPI would resolve in
    # the module's globals): the dataset as the service checks it, the body as its model.
    records.__annotations__ = {
        "dataset": Annotated[str, Path(pattern=f"^{DATASET_PATTERN}$")],
        "body": Annotated[RecordsBody, Body()],
        "return": JSONResponse,
    }
    app.post("/v1/datasets/{dataset}/records", status_code=202)(records)
    return app


def _service_app(work: Path) -> Any:
    from visiondrift.service import create_app
    from visiondrift.settings import Settings

    service: dict[str, Any] = {"data_dir": str(work / "service-data")}
    window = work / "window.json"
    if window.exists():
        service["window"] = json.loads(window.read_text())
    settings = Settings(store={"url": str(work / "store.sqlite")}, service=service)
    return create_app(settings, own_process=True)  # as `visiondrift serve` runs it


def serve(kind: str, work: Path) -> None:
    """Run one server (in the subprocess) and write its port to ``work/<kind>.port``."""
    import threading

    import uvicorn

    app = _bare_app() if kind == "bare" else _service_app(work)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        (work / f"{kind}.port").write_text(str(port))

    threading.Thread(target=announce, daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT it stopped on
        server.run()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in task.read_text().split()]
    return found


class Server:
    """A server subprocess (``serve``), stopped with SIGINT (uvicorn's graceful shut-down)."""

    def __init__(self, kind: str, work: Path) -> None:
        self.kind, self.work = kind, work
        port_file = work / f"{kind}.port"
        port_file.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--work", str(work)], env=env
        )
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text()}"

    def cpu(self) -> dict[str, float] | None:
        """CPU seconds so far (user + system) of the server process (``server``), of its child
        processes at its own priority (``writer``: the record writer, and multiprocessing's
        resource tracker, which is idle) and of those at a lower one (``closing``: the closing
        processes); a child's ended children are counted with it. ``None`` off Linux."""
        own = os.getpriority(os.PRIO_PROCESS, self.process.pid)
        parts = {"server": 0.0, "writer": 0.0, "closing": 0.0}
        for pid in [self.process.pid, *_children(self.process.pid)]:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                if pid == self.process.pid:
                    return None
                continue  # a child that has just ended
            ticks = int(stat[11]) + int(stat[12]) + int(stat[13]) + int(stat[14])
            if pid == self.process.pid:
                ticks = int(stat[11]) + int(stat[12])  # its children are counted apart
                part = "server"
            else:
                part = "writer" if int(stat[16]) <= own else "closing"
            parts[part] += ticks / os.sysconf("SC_CLK_TCK")
        return parts

    def stop(self) -> None:
        import signal

        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ----------------------------------------------------------------------------- the load


@dataclass
class Load:
    """What one side's load measured."""

    seconds: float = 0.0
    acked: int = 0  # records acknowledged during the measured seconds
    acked_total: int = 0  # records acknowledged, warm-up included
    # CPU seconds during the measured seconds: the server's and its child processes' (by
    # part, as Server.cpu names them); the load generator's (wrk only: a process of its own)
    cpu: dict[str, float] | None = None
    client_cpu: float | None = None
    in_flight: int = 0  # records that may be stored unacknowledged (sent when the load stopped)
    latencies: list[float] = field(default_factory=list)
    percentiles: dict[float, float] = field(default_factory=dict)  # from wrk, in seconds
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        if q in self.percentiles:
            return self.percentiles[q]
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _probabilities(classes: int, n: int, seed: int) -> list[str]:
    """``n`` probability vectors as JSON texts (Dirichlet draws, summing to 1 exactly enough)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        draws = [rng.gammavariate(1.0, 1.0) for _ in range(classes)]
        total = sum(draws)
        out.append(json.dumps([d / total for d in draws]))
    return out


async def _drive_httpx(
    server: Server, token: str | None, args: argparse.Namespace, tag: str, probs: list[str]
) -> Load:
    load = Load()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    path = f"/v1/datasets/{DATASET}/records"
    started = time.perf_counter()
    measure_from = started + args.warmup
    stop_at = measure_from + args.seconds

    async def worker(k: int, client: httpx.AsyncClient) -> None:
        n = 0
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            first = n * args.batch
            ids = (
                [f"{tag}{uuid.uuid4().hex}" for _ in range(args.batch)]
                if args.ids == "random"
                else [f"{tag}{k}-{n}-{i}" for i in range(args.batch)]
            )
            parts = [
                f'{{"id":"{rid}","probabilities":{probs[(first + i) % len(probs)]}}}'
                for i, rid in enumerate(ids)
            ]
            n += 1
            body = ('{"records":[' + ",".join(parts) + "]}").encode()
            sent = time.perf_counter()
            try:
                response = await client.post(path, content=body, headers=headers)
            except httpx.TransportError as err:
                load.statuses[type(err).__name__] += 1
                continue
            done = time.perf_counter()
            load.statuses[str(response.status_code)] += 1
            if response.is_success:
                load.acked_total += args.batch
                if sent >= measure_from and done <= stop_at:
                    load.acked += args.batch
                    load.latencies.append(done - sent)
            elif sent >= measure_from:
                load.latencies.append(done - sent)

    async def cpu() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        first = server.cpu()
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        load.cpu = _spent(first, server.cpu())

    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30.0) as client:
        await asyncio.gather(cpu(), *(worker(k, client) for k in range(args.concurrency)))
    load.seconds = args.seconds
    return load


def _wrk(
    server: Server, token: str | None, args: argparse.Namespace, tag: str, seconds: float
) -> dict[str, float]:
    """One run of wrk against ``server``: its RESULT line as numbers."""
    work = server.work
    command = [
        "wrk",
        "--threads",
        str(min(2, args.concurrency)),
        "--connections",
        str(args.concurrency),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "--script",
        str(Path(__file__).with_suffix(".lua")),
        server.url,
        "--",
        str(args.batch),
        f"/v1/datasets/{DATASET}/records",
        token or "",
        str(work / "probabilities.txt"),
        tag,
        args.ids,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    return {k: float(v) for k, v in (part.split("=") for part in line.split()[1:])}


def _spent(
    first: dict[str, float] | None, last: dict[str, float] | None
) -> dict[str, float] | None:
    if first is None or last is None:
        return None
    return {k: last[k] - first[k] for k in last}


def _drive_wrk(
    server: Server, token: str | None, args: argparse.Namespace, tag: str, probs: list[str]
) -> Load:
    (server.work / "probabilities.txt").write_text("\n".join(probs) + "\n")
    load = Load()
    if args.warmup > 0:
        warm = _wrk(server, token, args, f"{tag}w", args.warmup)
        load.acked_total += int(warm["acked"]) * args.batch
        load.in_flight += args.concurrency * args.batch
    import resource

    first = server.cpu()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = _wrk(server, token, args, tag, args.seconds)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk's: the servers run on
    load.cpu = _spent(first, server.cpu())
    load.client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    load.seconds = run["seconds"]
    load.acked = int(run["acked"]) * args.batch
    load.acked_total += load.acked
    load.in_flight += args.concurrency * args.batch
    load.percentiles = {0.5: run["p50"] / 1000, 0.99: run["p99"] / 1000}
    load.statuses["2xx"] = int(run["acked"])
    if run["other"]:
        load.statuses["other"] = int(run["other"])
    if run["errors"]:
        load.statuses["errors"] = int(run["errors"])
    return load


def _drive(
    server: Server, token: str | None, args: argparse.Namespace, tag: str, probs: list[str]
) -> Load:
    if args.client == "wrk":
        return _drive_wrk(server, token, args, tag, probs)
    return asyncio.run(_drive_httpx(server, token, args, tag, probs))


# ----------------------------------------------------------------------------- the service side


def _prepare_store(work: Path, classes: int) -> tuple[str, Any]:
    """A migrated store with an admin key; the token, and a predictions baseline profile."""
    from visiondrift.profiles.builder import ProfileBuilder
    from visiondrift.store import HistoryStore

    with HistoryStore(str(work / "store.sqlite")) as store:
        store.migrate()
        token = store.keys.create("load", ["admin"])[1]
    builder = ProfileBuilder(dataset=DATASET)
    for i, text in enumerate(_probabilities(classes, 2000, seed=1)):
        builder.add_prediction(f"b{i}", json.loads(text))
    return token, builder.build()


def _upload(url: str, token: str, baseline: Any, work: Path) -> str:
    from visiondrift.client import Client
    from visiondrift.errors import ServiceError
    from visiondrift.store import HistoryStore

    with Client(url, token) as client:
        try:
            client.upload_baseline(DATASET, baseline, name="load")
            return "POST /v1/baselines"
        except ServiceError as err:
            if err.status not in (404, 405):
                raise
    with HistoryStore(str(work / "store.sqlite")) as store:
        store.baselines.add(DATASET, baseline, name="load")
    return "the store (no baselines route in this service)"


def _windows(work: Path) -> tuple[Counter[str], float | None]:
    """The dataset's windows by status, and the median seconds a window's run took."""
    import sqlite3
    from datetime import datetime

    with sqlite3.connect(work / "store.sqlite") as conn:
        statuses = Counter(
            dict(
                conn.execute(
                    "SELECT status, count(*) FROM vd_windows WHERE dataset = ? GROUP BY status",
                    (DATASET,),
                ).fetchall()
            )
        )
        spans = [
            (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
            for start, end in conn.execute(
                "SELECT started_at, ran_at FROM vd_runs WHERE dataset = ?", (DATASET,)
            )
        ]
    return statuses, (statistics.median(spans) if spans else None)


def _stored_records(work: Path) -> int:
    from visiondrift.store import HistoryStore

    with HistoryStore(str(work / "store.sqlite")) as store:
        return store.windows.count_records(DATASET)


# ----------------------------------------------------------------------------- main


def _row(name: str, load: Load) -> str:
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(load.statuses.items()))
    cpu = ""
    if load.cpu is not None and load.acked:
        server, total = load.cpu["server"], sum(load.cpu.values())
        cpu = f"  server CPU {server / load.seconds:4.0%} ({server / load.acked * 1e5:.2f} ms"
        cpu += " per 100 records)"
        if total - server > 0.01 * load.seconds:
            cpu += f", with its processes {total / load.seconds:4.0%}"
            cpu += f" ({total / load.acked * 1e5:.2f} ms)"
    return (
        f"{name:<8} {load.rate:>10,.0f} rec/s  p50 {load.quantile(0.5) * 1000:6.1f} ms  "
        f"p99 {load.quantile(0.99) * 1000:6.1f} ms{cpu}  requests "
        f"{sum(load.statuses.values())} ({statuses})"
    )


def _cpu_row(name: str, load: Load) -> str | None:
    """Where the CPU went, per 100 records: each process, and the load generator's."""
    if load.cpu is None or not load.acked:
        return None
    per = 1e5 / load.acked
    parts = [f"{k} {v * per:.2f}" for k, v in load.cpu.items() if v > 0.001 * load.seconds]
    if load.client_cpu is not None:
        parts.append(f"load generator {load.client_cpu * per:.2f}")
    spent = sum(load.cpu.values()) + (load.client_cpu or 0.0)
    busy = spent / load.seconds / (os.cpu_count() or 1)
    return (
        f"{name:<8} CPU ms per 100 records: {', '.join(parts)}; the machine's "
        f"{os.cpu_count()} cores {busy:.0%} busy"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--batch", type=int, default=100, help="records per request")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument(
        "--ids",
        choices=["sequential", "random"],
        default="sequential",
        help="record ids: thread-request-index (each request's ids sort together; default) or "
        "random, as UUIDs are (each id lands on its own page of the store's index of ids)",
    )
    parser.add_argument(
        "--window-count",
        type=int,
        default=100_000,
        help="records per window (default 100,000: windows close during the load); 0: the "
        "service's default windows (1,000 records or an hour)",
    )
    parser.add_argument(
        "--client",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="the load generator (default: wrk when it is installed)",
    )
    parser.add_argument("--serve", choices=["bare", "service"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.work)
        return 0

    probs = _probabilities(args.classes, 997, seed=2)
    windows_text = f"{args.window_count:,}" if args.window_count else "the default"
    print(
        f"{args.seconds:g} s per side after {args.warmup:g} s of warm-up; batches of {args.batch} "
        f"records of {args.classes} classes; {args.concurrency} requests in flight "
        f"({args.client}); {args.ids} ids; "
        f"windows of {windows_text} records"
    )
    with tempfile.TemporaryDirectory(prefix="vd-load-") as tmp:
        work = Path(tmp)
        bare_server = Server("bare", work)
        try:
            bare = _drive(bare_server, None, args, "b", probs)
        finally:
            bare_server.stop()
        print(_row("bare", bare))

        token, baseline = _prepare_store(work, args.classes)
        if args.window_count:
            (work / "window.json").write_text(json.dumps({"count": args.window_count}))
        service_server = Server("service", work)
        try:
            how = _upload(service_server.url, token, baseline, work)
            service = _drive(service_server, token, args, "s", probs)
            stored_running = _stored_records(work)
        finally:
            service_server.stop()
        stored = _stored_records(work)
        windows, run_seconds = _windows(work)
        print(_row("service", service))
        for line in (_cpu_row("bare", bare), _cpu_row("service", service)):
            if line is not None:
                print(line)
        print(f"baseline uploaded through {how}")
        took = "" if run_seconds is None else f"; a window's run took {run_seconds:.2f} s (median)"
        print(f"windows: {dict(windows)}{took}")

    ratio = service.rate / bare.rate if bare.rate else 0.0
    p99 = service.quantile(0.99)
    print(f"ratio service / bare: {ratio:.2f} (target >= {RATIO_TARGET})")
    print(f"service p99: {p99 * 1000:.1f} ms (target < {P99_TARGET * 1000:.0f} ms)")
    print(f"service throughput: {service.rate:,.0f} records/s (aim >= {AIM:,.0f})")
    unanswered = (
        f" (+ at most {service.in_flight:,} sent when the load stopped)"
        if service.in_flight
        else ""
    )
    print(
        f"acknowledged {service.acked_total:,} records{unanswered}; in the store: "
        f"{stored_running:,} when the load stopped, {stored:,} after shut-down"
    )
    missed = []
    if ratio < RATIO_TARGET:
        missed.append("throughput ratio")
    if not p99 < P99_TARGET:
        missed.append("p99 latency")
    if (
        not service.acked_total
        <= stored_running
        <= stored
        <= (service.acked_total + service.in_flight)
    ):
        missed.append("acknowledged == stored")
    if service.rate < AIM:
        print(f"note: below the aim of {AIM:,.0f} records/s")
    if missed:
        print("MISSED: " + ", ".join(missed))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
