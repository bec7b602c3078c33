"""visiondrift.client against real HTTP servers on 127.0.0.1.

A scripted receiver (tests/_receivers.py) for batching, retries and failures; the real service
(tests/_service.py) for the whole path in tests/test_client_service.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest

import _receivers
from _receivers import HttpReceiver, Reply, closed_url
from visiondrift.client import AsyncClient, Client
from visiondrift.client._common import MAX_WAIT, retry_after, retry_delay
from visiondrift.errors import ConfigError, ServiceError

http_receiver = _receivers.http_receiver

TOKEN = "vd_0123456789ab_secret"
ACK = Reply(202, {"accepted": 1, "window": {}, "closed": []})
PROBLEM_401 = Reply(
    401,
    {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": "Unknown API key."},
    headers={"Content-Type": "application/problem+json", "WWW-Authenticate": "Bearer"},
)
PROBLEM_409 = Reply(
    409,
    {
        "type": "https://visiondrift.dev/problems/no-baseline",
        "title": "No active baseline",
        "status": 409,
        "detail": "The dataset 'skin' has no active baseline.",
    },
)


def records(request: _receivers.ReceivedRequest) -> list[dict[str, Any]]:
    body = request.json()
    assert isinstance(body, dict)
    out = body["records"]
    assert isinstance(out, list)
    return out


def ids(requests: list[_receivers.ReceivedRequest]) -> list[list[str]]:
    return [[r["id"] for r in records(q)] for q in requests]


def poll(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.01)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.01)


# ----------------------------------------------------------------------------- records


def test_a_record_is_sent_as_the_service_reads_it(http_receiver: Any) -> None:
    rx = http_receiver(ACK)
    when = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    with Client(rx.base_url, TOKEN, flush_interval=None) as client:
        rid = client.log(
            "skin",
            np.array([0.25, 0.75], dtype=np.float32),  # read with tolist(): no numpy import
            id="r-1",
            label="cat",
            timestamp=when,
            metadata={"site": "lyon", "camera": 3, "night": True},
            image=b"\x89PNG...",
        )
        assert rid == "r-1"
        assert client.pending == 1
    (request,) = rx.requests
    assert request.method == "POST"
    assert request.path == "/v1/datasets/skin/records"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert records(request) == [
        {
            "id": "r-1",
            "probabilities": [0.25, 0.75],
            "image": "iVBORy4uLg==",
            "label": "cat",
            "timestamp": "2026-11-30T09:00:00+00:00",
            "metadata": {"site": "lyon", "camera": 3, "night": True},
        }
    ]


def test_default_ids_are_random_and_timestamps_are_the_time_of_the_call(
    http_receiver: Any,
) -> None:
    rx = http_receiver(ACK)
    before = dt.datetime.now(dt.UTC)
    with Client(rx.base_url, None, flush_interval=None) as client:
        first = client.log("skin", [1.0, 0.0])
        second = client.log("skin", [0.0, 1.0])
    after = dt.datetime.now(dt.UTC)
    assert first != second
    assert len(first) == 32
    sent = records(rx.requests[0])
    assert [r["id"] for r in sent] == [first, second]
    assert "authorization" not in rx.requests[0].headers
    for record in sent:
        assert before <= dt.datetime.fromisoformat(record["timestamp"]) <= after


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dataset": "../admin"}, "dataset name"),
        ({"probabilities": [0.5, math.nan]}, "finite number"),
        ({"probabilities": [[0.5, 0.5]]}, "nested list"),
        ({"probabilities": []}, "empty"),
        ({"probabilities": "0.5"}, "list of numbers"),
        ({"probabilities": None}, "neither"),
        ({"timestamp": dt.datetime(2026, 1, 1)}, "timezone-aware"),
        ({"metadata": {"site": [1]}}, "keys must be strings"),
        ({"id": "x" * 201}, "1 to 200"),
        ({"image": "not bytes"}, "bytes"),
    ],
)
def test_invalid_records_are_refused_before_anything_is_held(
    kwargs: dict[str, Any], match: str
) -> None:
    args: dict[str, Any] = {"dataset": "skin", "probabilities": [0.5, 0.5], **kwargs}
    client = Client("http://127.0.0.1:9", None, flush_interval=None)
    with pytest.raises(ConfigError, match=match):
        client.log(args.pop("dataset"), args.pop("probabilities"), **args)
    assert client.pending == 0
    client.close()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"url": "ftp://x"}, "http://"),
        ({"batch_size": 0}, "batch_size"),
        ({"flush_interval": 0}, "flush_interval"),
        ({"retries": -1}, "retries"),
        ({"max_pending": 10, "batch_size": 20}, "max_pending"),
        ({"api_key": "vd_ x"}, "api_key"),
    ],
)
def test_invalid_options_are_refused(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"url": "http://127.0.0.1:9", "api_key": None, **kwargs}
    with pytest.raises(ConfigError, match=match):
        Client(args.pop("url"), args.pop("api_key"), **args)


# ----------------------------------------------------------------------------- batching


def test_batches_are_cut_at_batch_size_and_the_rest_sent_by_flush(http_receiver: Any) -> None:
    rx = http_receiver(ACK)
    client = Client(rx.base_url, TOKEN, batch_size=3, flush_interval=None)
    logged = [client.log("skin", [0.5, 0.5], id=f"r{i}") for i in range(7)]
    assert ids(rx.requests) == [logged[0:3], logged[3:6]]  # sent by log, in order
    assert client.pending == 1
    client.flush()
    assert ids(rx.requests)[2:] == [logged[6:]]
    client.flush()  # nothing held: no request
    assert len(rx.requests) == 3
    client.close()


def test_datasets_are_batched_apart(http_receiver: Any) -> None:
    rx = http_receiver(ACK)
    with Client(rx.base_url, TOKEN, batch_size=2, flush_interval=None) as client:
        client.log("a", [1.0], id="a1")
        client.log("b", [1.0], id="b1")
        assert rx.requests == []
        client.log("a", [1.0], id="a2")
        assert [q.path for q in rx.requests] == ["/v1/datasets/a/records"]
    assert [q.path for q in rx.requests] == ["/v1/datasets/a/records", "/v1/datasets/b/records"]
    assert ids(rx.requests) == [["a1", "a2"], ["b1"]]


def test_the_background_thread_sends_a_full_batch_at_once(http_receiver: Any) -> None:
    rx = http_receiver(ACK)
    with Client(rx.base_url, TOKEN, batch_size=3, flush_interval=60.0) as client:
        for i in range(4):
            client.log("skin", [1.0], id=f"r{i}")
        rx.wait_for(1)
        assert ids(rx.requests) == [["r0", "r1", "r2"]]
        poll(lambda: client.pending == 1)
    assert ids(rx.requests) == [["r0", "r1", "r2"], ["r3"]]  # the rest, by close()


def test_the_background_thread_sends_partial_batches_every_interval(http_receiver: Any) -> None:
    rx = http_receiver(ACK)
    with Client(rx.base_url, TOKEN, batch_size=500, flush_interval=0.1) as client:
        client.log("skin", [1.0], id="r0")
        client.log("skin", [1.0], id="r1")
        rx.wait_for(1)
        poll(lambda: client.pending == 0)
        assert ids(rx.requests) == [["r0", "r1"]]
        client.log("skin", [1.0], id="r2")
        rx.wait_for(2)
    assert ids(rx.requests) == [["r0", "r1"], ["r2"]]


def test_large_records_cut_a_batch_before_4_mib(http_receiver: Any) -> None:
    rx = http_receiver(ACK)
    image = random.Random(1).randbytes(2_000_000)  # 2.7 MB in base64
    with Client(rx.base_url, TOKEN, batch_size=10, flush_interval=None) as client:
        for i in range(3):
            client.log("skin", None, id=f"r{i}", image=image)
    assert ids(rx.requests) == [["r0"], ["r1"], ["r2"]]


def test_threads_logging_at_once_lose_and_repeat_nothing(http_receiver: Any) -> None:
    rx = http_receiver(ACK)
    with Client(rx.base_url, TOKEN, batch_size=7, flush_interval=0.05) as client:

        def work(k: int) -> None:
            for i in range(50):
                client.log("skin", [1.0], id=f"t{k}-{i}")

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    sent = [i for batch in ids(rx.requests) for i in batch]
    assert sorted(sent) == sorted(f"t{k}-{i}" for k in range(4) for i in range(50))
    assert all(len(batch) <= 7 for batch in ids(rx.requests))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_sends_only_its_own_records(http_receiver: Any) -> None:
    rx = http_receiver(ACK)
    client = Client(rx.base_url, TOKEN, flush_interval=None)
    client.log("skin", [1.0], id="parent")
    pid = os.fork()
    if pid == 0:  # the child (a gunicorn worker): never back into pytest
        code = 1
        try:
            client.log("skin", [1.0], id="child")
            code = 0 if client.pending == 1 else 2
            client.flush()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    pid = os.fork()
    if pid == 0:  # a child that only exits (atexit closes its client): it sends nothing
        code = 1
        try:
            client.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    client.close()
    assert sorted(ids(rx.requests)) == [["child"], ["parent"]]


# ----------------------------------------------------------------------------- retries


def test_429_waits_for_retry_after_then_sends_again(http_receiver: Any) -> None:
    rx = http_receiver([Reply(429, {"title": "Too many requests"}, {"Retry-After": "1"}), ACK])
    with Client(rx.base_url, TOKEN, backoff=0.001, flush_interval=None) as client:
        client.log("skin", [1.0], id="r0")
        started = time.monotonic()
        client.flush()
        waited = time.monotonic() - started
    assert len(rx.requests) == 2
    assert rx.requests[0].body == rx.requests[1].body
    assert 1.0 <= waited < 5.0  # the header's second, not the 1 ms backoff


def test_503_then_success_is_retried_quickly(http_receiver: Any) -> None:
    rx = http_receiver([503, 502, ACK])
    with Client(rx.base_url, TOKEN, backoff=0.01, flush_interval=None) as client:
        client.log("skin", [1.0], id="r0")
        client.flush()
        assert client.pending == 0
    assert len(rx.requests) == 3
    assert ids(rx.requests) == [["r0"]] * 3


def test_401_is_not_retried_and_its_batch_is_dropped(http_receiver: Any) -> None:
    rx = http_receiver(PROBLEM_401)
    client = Client(rx.base_url, "vd_bad", backoff=0.01, flush_interval=None)
    client.log("skin", [1.0])
    client.log("skin", [1.0])
    with pytest.raises(ServiceError) as info:
        client.flush()
    err = info.value
    assert err.status == 401
    assert err.problem["detail"] == "Unknown API key."
    assert "401 Unauthorized" in str(err)
    assert "Unknown API key" in str(err)
    assert "visiondrift keys create" in str(err)
    assert "2 record(s) of this batch were dropped" in str(err)
    assert len(rx.requests) == 1
    assert (client.pending, client.dropped) == (0, 2)
    client.close()  # nothing held, nothing more to raise


def test_retries_run_out_on_a_busy_service_and_the_batch_is_kept(http_receiver: Any) -> None:
    rx = http_receiver(503)
    client = Client(rx.base_url, TOKEN, retries=2, backoff=0.01, flush_interval=None)
    client.log("skin", [1.0], id="r0")
    with pytest.raises(ServiceError, match=r"after 3 attempts.*kept for the next flush") as info:
        client.flush()
    assert info.value.status == 503
    assert len(rx.requests) == 3
    assert client.pending == 1
    rx.script(ACK)
    client.flush()  # the kept record goes now
    assert ids(rx.requests)[-1] == ["r0"]
    client.close()


def test_connection_refused_is_retried_then_reported_and_close_says_what_is_lost() -> None:
    url = closed_url("")
    client = Client(url, TOKEN, retries=2, backoff=0.01, flush_interval=None)
    client.log("skin", [1.0])
    with pytest.raises(ServiceError, match="Cannot reach the visiondrift service") as info:
        client.flush()
    assert info.value.status is None
    assert "after 3 attempts" in str(info.value)
    assert client.pending == 1
    with pytest.raises(ServiceError, match=r"1 record\(s\) not sent are lost"):
        client.close()


def test_a_timeout_is_retried(http_receiver: Any) -> None:
    rx = http_receiver([Reply(202, delay=2.0), ACK])
    with Client(rx.base_url, TOKEN, timeout=0.3, backoff=0.01, flush_interval=None) as client:
        client.log("skin", [1.0], id="r0")
        client.flush()
    assert ids(rx.requests) == [["r0"], ["r0"]]  # at least once: the copies share the id


def test_retry_delay_doubles_with_jitter_and_honours_retry_after() -> None:
    rng = random.Random(3)
    for attempt in range(6):
        delay = retry_delay(attempt, 0.5, None, rng)
        assert 0.25 * 2**attempt <= delay < 0.5 * 2**attempt
    assert retry_delay(20, 0.5, None, rng) <= MAX_WAIT
    request = httpx.Request("POST", "http://x/")
    busy = httpx.Response(429, headers={"Retry-After": "7"}, request=request)
    assert retry_delay(0, 0.5, busy, rng) == 7.0
    assert retry_delay(0, 0.5, httpx.Response(503, headers={"Retry-After": "999"}), rng) == MAX_WAIT
    now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    assert retry_after("Mon, 30 Nov 2026 09:00:30 GMT", now) == 30.0
    assert retry_after("soon", now) is None


# ----------------------------------------------------------------------------- loss rules


def test_a_batch_dropped_in_the_background_is_raised_by_the_next_call(
    http_receiver: Any,
) -> None:
    rx = http_receiver(PROBLEM_409)
    client = Client(rx.base_url, TOKEN, flush_interval=0.05)
    client.log("skin", [1.0], id="r0")
    rx.wait_for(1)
    poll(lambda: client.dropped == 1)
    with pytest.raises(ServiceError, match=r"No active baseline.*upload a baseline") as info:
        client.log("skin", [1.0], id="r1")
    assert info.value.status == 409
    assert client.pending in (0, 1)  # r1 is held (or already sent)
    rx.script(ACK)
    client.close()  # raised once: nothing more
    assert ids(rx.requests)[-1] == ["r1"]


def test_records_beyond_max_pending_are_refused_not_silently(http_receiver: Any) -> None:
    rx = http_receiver(503)
    client = Client(rx.base_url, TOKEN, batch_size=2, max_pending=2, retries=0, flush_interval=60)
    client.log("skin", [1.0], id="r0")
    client.log("skin", [1.0], id="r1")  # a full batch: sent in the background, kept on 503
    poll(lambda: client.last_error is not None)
    assert client.pending == 2
    with pytest.raises(ServiceError, match=r"max_pending.*'r2'.*503") as info:
        client.log("skin", [1.0], id="r2")
    assert info.value.status is None
    assert client.dropped == 1
    rx.script(ACK)
    client.close()
    assert ids(rx.requests)[-1] == ["r0", "r1"]


def test_a_failed_background_round_waits_for_the_next_tick(http_receiver: Any) -> None:
    rx = http_receiver(503)
    client = Client(rx.base_url, TOKEN, batch_size=1, retries=0, flush_interval=0.5)
    for i in range(5):
        client.log("skin", [1.0], id=f"r{i}")  # each a full batch, each waking the thread
    rx.wait_for(1)
    time.sleep(0.25)  # within the interval: no attempt after the failed one
    assert len(rx.requests) == 1
    rx.wait_for(2, timeout=5.0)  # the next tick tries again, from the first record kept
    assert ids(rx.requests)[:2] == [["r0"], ["r0"]]
    rx.script(ACK)
    client.close()
    assert sorted(i for batch in ids(rx.requests)[2:] for i in batch) == [f"r{i}" for i in range(5)]


def test_on_error_gets_the_errors_instead_of_the_next_call(http_receiver: Any) -> None:
    rx = http_receiver(PROBLEM_409)
    errors: list[ServiceError] = []
    client = Client(rx.base_url, TOKEN, flush_interval=0.05, on_error=errors.append)
    client.log("skin", [1.0])
    poll(lambda: len(errors) == 1)
    assert errors[0].status == 409
    client.log("skin", [1.0])  # does not raise
    rx.script(ACK)
    client.close()


def test_a_closed_client_refuses_records() -> None:
    client = Client("http://127.0.0.1:9", None)
    client.close()
    with pytest.raises(ServiceError, match="closed"):
        client.log("skin", [1.0])


# ----------------------------------------------------------------------------- labels, reads


def test_a_held_record_is_labelled_in_place_and_a_sent_one_by_request(http_receiver: Any) -> None:
    rx = http_receiver(ACK)
    with Client(rx.base_url, TOKEN, flush_interval=None) as client:
        client.log("skin", [1.0], id="r0")
        assert client.label("skin", "r0", "cat")["buffered"] == 1
        client.flush()
        assert records(rx.requests[0])[0]["label"] == "cat"
        rx.script(Reply(200, {"joined": 1, "late": 0, "unknown": 0}))
        counts = client.label("skin", "r0", "dog")
    assert counts == {"joined": 1, "late": 0, "unknown": 0, "buffered": 0}
    assert rx.requests[1].path == "/v1/datasets/skin/labels"
    assert rx.requests[1].json() == {"labels": [{"id": "r0", "label": "dog"}]}


def test_latest_reads_the_newest_run(http_receiver: Any) -> None:
    newest = {"run_id": "a" * 32, "status": "drift", "severity": "high", "drift": True}
    rx = http_receiver([Reply(200, [newest, {"run_id": "b" * 32}]), Reply(200, [])])
    with Client(rx.base_url, TOKEN) as client:
        assert client.latest("skin") == newest
        assert client.latest("skin") is None
    assert rx.requests[0].path == "/v1/datasets/skin/runs?limit=1"
    assert rx.requests[0].method == "GET"


def test_a_read_error_raises_with_the_problem(http_receiver: Any) -> None:
    rx = http_receiver(Reply(404, {"title": "Not found", "status": 404, "detail": "No run 'x'."}))
    with Client(rx.base_url, TOKEN) as client, pytest.raises(ServiceError, match="No run") as info:
        client.run("x")
    assert info.value.status == 404
    assert len(rx.requests) == 1


def test_upload_baseline_sends_a_saved_profile(http_receiver: Any, tmp_path: Any) -> None:
    rx = http_receiver(Reply(201, {"baseline_id": "c" * 32}))
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"format": "visiondrift-profile"}))
    with Client(rx.base_url, TOKEN) as client:
        assert client.upload_baseline("skin", path, name="v1") == {"baseline_id": "c" * 32}
    assert rx.requests[0].path == "/v1/baselines"
    assert rx.requests[0].json() == {
        "dataset": "skin",
        "profile": {"format": "visiondrift-profile"},
        "name": "v1",
    }


# ----------------------------------------------------------------------------- async


def test_async_batches_retries_and_the_background_task(http_receiver: Any) -> None:
    rx = http_receiver([Reply(429, headers={"Retry-After": "1"}), 503, ACK])

    async def main() -> float:
        client = AsyncClient(rx.base_url, TOKEN, batch_size=3, backoff=0.01, flush_interval=60)
        async with client:
            for i in range(4):
                await client.log("skin", [1.0], id=f"r{i}")
            started = time.monotonic()
            await until(lambda: len(rx.requests) >= 3)  # the full batch, retried twice
            waited = time.monotonic() - started
            await until(lambda: client.pending == 1)  # r3 waits for the tick, or close()
            return waited

    waited = asyncio.run(main())
    assert waited >= 1.0  # Retry-After
    assert ids(rx.requests) == [["r0", "r1", "r2"]] * 3 + [["r3"]]


def test_async_flush_interval_and_flush(http_receiver: Any) -> None:
    rx = http_receiver(ACK)

    async def main() -> None:
        client = AsyncClient(rx.base_url, TOKEN, batch_size=100, flush_interval=0.05)
        await client.log("skin", [1.0], id="r0")
        await until(lambda: bool(rx.requests))
        await client.log("skin", [1.0], id="r1")
        await client.flush()
        assert client.pending == 0
        await client.close()

    asyncio.run(main())
    assert [i for batch in ids(rx.requests) for i in batch] == ["r0", "r1"]


def test_async_401_is_not_retried(http_receiver: Any) -> None:
    rx = http_receiver(PROBLEM_401)

    async def main() -> ServiceError:
        client = AsyncClient(rx.base_url, "vd_bad", flush_interval=None, backoff=0.01)
        await client.log("skin", [1.0])
        with pytest.raises(ServiceError) as info:
            await client.flush()
        await client.close()
        return info.value

    err = asyncio.run(main())
    assert err.status == 401
    assert "Unknown API key" in str(err)
    assert len(rx.requests) == 1


def test_async_connection_refused() -> None:
    async def main() -> tuple[ServiceError, int]:
        client = AsyncClient(closed_url(""), TOKEN, retries=1, backoff=0.01, flush_interval=None)
        await client.log("skin", [1.0])
        with pytest.raises(ServiceError) as info:
            await client.flush()
        pending = client.pending
        with pytest.raises(ServiceError, match="lost"):
            await client.close()
        return info.value, pending

    err, pending = asyncio.run(main())
    assert err.status is None
    assert "Cannot reach" in str(err)
    assert pending == 1


def test_async_background_drop_is_raised_by_the_next_call(http_receiver: Any) -> None:
    rx = http_receiver(PROBLEM_409)

    async def main() -> None:
        client = AsyncClient(rx.base_url, TOKEN, flush_interval=0.05)
        await client.log("skin", [1.0])
        await until(lambda: client.dropped > 0)
        with pytest.raises(ServiceError, match="No active baseline"):
            await client.log("skin", [1.0])
        rx.script(ACK)
        await client.close()

    asyncio.run(main())


def test_async_latest_and_label(http_receiver: Any) -> None:
    rx = http_receiver(
        [
            Reply(200, {"runs": [{"run_id": "a" * 32}]}),
            Reply(200, {"joined": 0, "late": 1, "unknown": 0}),
        ]
    )

    async def main() -> tuple[Any, Any]:
        async with AsyncClient(rx.base_url, TOKEN) as client:
            return await client.latest("skin"), await client.label("skin", "r9", "cat")

    latest, counts = asyncio.run(main())
    assert latest == {"run_id": "a" * 32}
    assert counts == {"joined": 0, "late": 1, "unknown": 0, "buffered": 0}


# ----------------------------------------------------------------------------- imports


def test_the_client_imports_httpx_and_nothing_of_the_service() -> None:
    code = (
        "import sys, visiondrift.client\n"
        "heavy = ('numpy', 'fastapi', 'pydantic', 'starlette', 'sqlalchemy', 'visiondrift.service',"
        " 'visiondrift.app', 'visiondrift.profiles')\n"
        "print([m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
    assert HttpReceiver  # the receivers are the servers of this module
