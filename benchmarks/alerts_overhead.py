"""What alerts add to a monitor run: routing, the outbox, and delivery to real receivers.

Usage::

    python benchmarks/alerts_overhead.py [--work DIR] [--repeat 7] [--images 1000]

Makes (once, cached in --work) a baseline of 500 JPEGs of 224x224 and a batch of --images JPEGs
through a camera change (darker, softer, noisier: every run drifts), random crops of the real
photos shipped in pip packages. Then, alternating, median of --repeat runs, each against the run
without alerts measured in the same loop (all runs record into one SQLite history store):

a. ``Monitor(baseline, history=store).run(batch)`` without alerts, and with an ``AlertSink`` of
   two webhook channels (a signed one and a retraining trigger) on a receiver on 127.0.0.1 that
   answers 200, cooldown 0 so that every run sends both. Proposed target: <= 1.05.
b. The same with one channel whose receiver is gone (a closed port, refused at once) and
   ``retry.attempts = 1``: what a dead receiver costs a run (the alert stays pending).
   Proposed target: <= 1.05.

For each, also the alert sink alone (``sink.handle(result)`` on the last run, median of 20): the
cost in milliseconds, without the run's noise. Prints each median and the ratios; exits 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from visiondrift import profile
from visiondrift.alerts import AlertSink
from visiondrift.app import Monitor
from visiondrift.demo.samples import CameraChange, make_dataset, real_photos
from visiondrift.settings import AlertsSettings
from visiondrift.store import HistoryStore

TARGET = 1.05


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(channels: dict[str, Any]) -> AlertsSettings:
    return AlertsSettings.model_validate(
        {
            "cooldown": 0,
            "retry": {"attempts": 1},
            "channels": channels,
            "routes": [{"channels": list(channels)}],
        }
    )


def _data(work: Path, images: int) -> tuple[Path, Path]:
    base, batch = work / "baseline", work / f"batch_{images}"
    photos = None
    if not base.is_dir():
        photos = photos or real_photos()
        make_dataset(base, 500, seed=1, photos=photos)
    if not batch.is_dir():
        photos = photos or real_photos()
        make_dataset(batch, images, seed=2, photos=photos, transform=CameraChange())
    return base, batch


def _median_pair(
    plain: Callable[[], object], other: Callable[[], object], repeat: int
) -> tuple[float, float]:
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for run, out in ((plain, a), (other, b)):
            start = time.perf_counter()
            run()
            out.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--work", default="benchmarks/_work/alerts")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--images", type=int, default=1000)
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    base_dir, batch = _data(work, args.images)
    baseline = profile(base_dir)
    ok = True
    with tempfile.TemporaryDirectory() as tmp, HistoryStore(Path(tmp) / "h.sqlite") as store:
        plain = Monitor(baseline, history=store)
        plain.run(batch)  # warm-up: migrations, imports, page cache
        with _receiver() as url:
            live = _settings(
                {
                    "team": {"kind": "webhook", "url": f"{url}/team", "secret": "s" * 32},
                    "retrain": {"kind": "retrain", "url": f"{url}/retrain"},
                }
            )
            dead = _settings(
                {"gone": {"kind": "webhook", "url": f"http://127.0.0.1:{_closed_port()}/"}}
            )
            cases = {
                "a. two live channels": AlertSink(store, live),
                "b. a dead receiver": AlertSink(store, dead),
            }
            print(f"monitor run of {args.images} drifted images, median of {args.repeat}")
            for label, sink in cases.items():
                alerted = Monitor(baseline, history=store, sinks=[sink])
                result = alerted.run(batch)  # warm-up: channels built, httpx imported
                without, with_ = _median_pair(
                    lambda: plain.run(batch), lambda m=alerted: m.run(batch), args.repeat
                )
                summary = sink.last_summary.describe() if sink.last_summary else "no summary"
                alone: list[float] = []
                for _ in range(20):
                    start = time.perf_counter()
                    sink.handle(result)
                    alone.append(time.perf_counter() - start)
                ratio = with_ / without
                ok &= ratio <= TARGET
                print(
                    f"  {label}: {without:.3f} s -> {with_:.3f} s, ratio {ratio:.3f} "
                    f"(target <= {TARGET}; {'met' if ratio <= TARGET else 'MISSED'}); the sink "
                    f"alone {statistics.median(alone) * 1000:.1f} ms; last delivery: {summary}"
                )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
