"""Prediction logging over real HTTP: records, validation, 409/413/422/429, labels, images."""

from __future__ import annotations

import base64
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")

from _records_helpers import png_base64, predictions_baseline, records
from _service import running_service, service_settings
from visiondrift.store import HistoryStore

RECORDS = "/v1/datasets/shop/records"


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s in vain for {check}")
        time.sleep(0.05)


@pytest.fixture
def history(tmp_path: Path) -> HistoryStore:
    store = HistoryStore(tmp_path / "history.sqlite")
    store.baselines.add("shop", predictions_baseline())
    return store


def test_one_record_and_a_batch_are_written_before_202(
    tmp_path: Path, history: HistoryStore
) -> None:
    settings = service_settings(tmp_path, window={"count": 1000, "seconds": 3600})
    with running_service(settings, history) as served, served.client("write") as c:
        one = c.post(RECORDS, json=records(1, seed=1)[0])
        assert one.status_code == 202
        body = one.json()
        assert body["accepted"] == 1
        assert body["bad"] == 0
        assert body["closed"] == []
        window = body["window"]
        assert window["status"] == "open"
        assert window["records"] == 1
        assert window["closes_at"] is not None
        batch = c.post(RECORDS, json={"records": records(5, seed=2, prefix="b")})
        assert batch.status_code == 202
        assert batch.json()["window"]["records"] == 6
        assert batch.json()["window"]["window_id"] == window["window_id"]
        # Acknowledged means stored: the store has them the moment the answer arrives.
        assert history.windows.count_records("shop") == 6
        stored = list(history.windows.records(window["window_id"]))
        assert [r.record_id for r in stored] == ["r0", "b0", "b1", "b2", "b3", "b4"]
        assert stored[1].meta == {"site": "a", "camera": 0}
        assert np.allclose(stored[0].probs, records(1, seed=1)[0]["probabilities"], atol=1e-6)
        opened = c.get("/v1/datasets/shop/window").json()
        assert opened["window"]["records"] == 6
        assert opened["limits"] == {"count": 1000, "seconds": 3600.0}


def test_a_bad_record_refuses_the_whole_request(tmp_path: Path, history: HistoryStore) -> None:
    good = records(4, seed=3)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"probabilities": [0.5, 0.6, 0.0]}, "sum to 1"),
        ({"probabilities": [1.2, -0.2, 0.0]}, "non-negative"),
        ({"probabilities": [0.5, 0.5]}, "3 classes"),
        ({"probabilities": None}, "required"),
        ({"image": "aGVsbG8="}, "send no image"),
        ({"metadata": {"k": {"nested": 1}}}, ""),
        ({"unknown": 1}, "xtra"),
        ({"timestamp": "0001-01-01T00:00:00+01:00"}, "out of range"),
        ({"id": "a\x00b"}, "NUL"),
        ({"metadata": {"k": 10**30}}, "64 bits"),
    ]
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        for change, words in cases:
            sent = [dict(r) for r in good]
            sent[2] = {**sent[2], **change}
            sent[2] = {k: v for k, v in sent[2].items() if v is not None}
            answer = c.post(RECORDS, json={"records": sent})
            assert answer.status_code == 422, change
            assert answer.headers["content-type"] == "application/problem+json"
            problem = answer.json()
            assert problem["errors"], problem
            loc = problem["errors"][0]["loc"]
            assert 2 in loc, loc  # the record's index
            assert loc[0] == "body"
            assert words in problem["detail"] + str(problem["errors"]), (change, problem)
        # NaN is not JSON, but Python's encoder writes it: refused too.
        nan = c.post(
            RECORDS,
            content=b'{"probabilities": [NaN, 0.5, 0.5]}',
            headers={"content-type": "application/json"},
        )
        assert nan.status_code == 422
        assert history.windows.count_records() == 0


def test_no_baseline_is_409_with_the_fix(tmp_path: Path, history: HistoryStore) -> None:
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        answer = c.post("/v1/datasets/other/records", json=records(1, seed=1)[0])
        assert answer.status_code == 409
        problem = answer.json()
        assert problem["type"].endswith("/no-baseline")
        assert "'other'" in problem["detail"]
        assert "POST /v1/baselines" in problem["detail"]
        bad_name = c.post("/v1/datasets/..%2f..%2fetc/records", json=records(1, seed=1)[0])
        assert bad_name.status_code in (404, 422)


def test_scopes_and_limits(tmp_path: Path, history: HistoryStore) -> None:
    settings = service_settings(tmp_path, max_records=10)
    with running_service(settings, history) as served:
        with served.client("read") as c:
            assert c.post(RECORDS, json=records(1, seed=1)[0]).status_code == 403
            assert c.get("/v1/datasets/shop/window").status_code == 200
        with served.client(None) as c:
            assert c.post(RECORDS, json=records(1, seed=1)[0]).status_code == 401
        with served.client("write") as c:
            assert c.post("/v1/datasets/shop/window/close").status_code == 403
            many = c.post(RECORDS, json={"records": records(11, seed=1)})
            assert many.status_code == 413
            assert "service.max_records" in many.json()["detail"]
    assert history.windows.count_records() == 0


def test_a_full_writer_queue_answers_429_and_loses_nothing(
    tmp_path: Path, history: HistoryStore
) -> None:
    settings = service_settings(tmp_path, record_queue=1, retry_after=3)
    answers: list[Any] = []
    with running_service(settings, history) as served, served.client("write") as c:
        c.post(RECORDS, json=records(1, seed=1)[0])  # the baseline is cached, the store ready
        # Another process holds the store's write lock: the writer waits on its transaction.
        blocker = sqlite3.connect(tmp_path / "history.sqlite", timeout=30)
        blocker.isolation_level = None
        blocker.execute("BEGIN IMMEDIATE")

        def post(i: int) -> None:
            with served.client("write") as own:
                answers.append(own.post(RECORDS, json={"records": records(3, seed=i)}))

        threads = [threading.Thread(target=post, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        wait_for(lambda: any(a.status_code == 429 for a in answers))
        blocker.execute("ROLLBACK")
        blocker.close()
        for t in threads:
            t.join(30)
    codes = sorted(a.status_code for a in answers)
    assert len(codes) == 6
    assert set(codes) == {202, 429}
    busy = next(a for a in answers if a.status_code == 429)
    assert busy.headers["retry-after"] == "3"
    assert busy.json()["type"].endswith("/busy")
    assert history.windows.count_records("shop") == 1 + 3 * codes.count(202)


def test_labels_join_open_late_and_unknown(tmp_path: Path, history: HistoryStore) -> None:
    settings = service_settings(tmp_path, window={"count": 4, "seconds": None})
    with running_service(settings, history) as served, served.client("write") as c:
        first = c.post(RECORDS, json={"records": records(5, seed=1)}).json()
        assert len(first["closed"]) == 1
        joined = c.post(
            "/v1/datasets/shop/labels",
            json={
                "labels": [
                    {"id": "r0", "label": "cat"},
                    {"id": "r4", "label": "dog"},
                    {"id": "nope", "label": "cat"},
                ]
            },
        )
        assert joined.status_code == 200
        assert joined.json() == {"joined": 1, "late": 1, "unknown": 1}
        window = first["window"]["window_id"]
        labels = {r.record_id: r.label for r in history.windows.records(window)}
        assert labels == {"r4": "dog"}
        bad = c.post(
            "/v1/datasets/shop/labels",
            json={
                "labels": [
                    {"id": "r0", "label": "cat"},
                    {"id": "r4", "label": "dog"},
                    {"id": "nope", "label": "cat"},
                ]
            },
        )
        assert joined.status_code == 200
        assert joined.json() == {"joined": 1, "late": 1, "unknown": 1}
        window = first["window"]["window_id"]
        labels = {r.record_id: r.label for r in history.windows.records(window)}
        assert labels == {"r4": "dog"}
        bad = c.post("/v1/datasets/shop/labels", json={"labels": [{"id": "r0"}]})
        assert bad.status_code == 422


def test_image_records_are_measured_and_bad_ones_counted(
    tmp_path: Path, photos: list[tuple[str, np.ndarray]]
) -> None:
    from conftest import write_png_bomb
    from visiondrift.decode import DecodedImage, decode_image
    from visiondrift.profiles import ProfileBuilder, ProfileConfig
    from visiondrift.sources import Item

    # A baseline of the photos, measured the way the service measures posted images.
    builder = ProfileBuilder(ProfileConfig(reservoir_size=500))
    for i, (_, array) in enumerate(photos * 3):
        decoded = decode_image(base64.b64decode(png_base64(array)), f"b{i}")
        assert isinstance(decoded, DecodedImage)
        builder.add_image(Item(f"b{i}"), decoded)
    store = HistoryStore(tmp_path / "history.sqlite")
    stored = store.baselines.add("cams", builder.build())
    assert stored.kind == "images"
    settings = service_settings(tmp_path, window={"count": 6, "seconds": None})
    bomb = tmp_path / "bomb.png"
    write_png_bomb(bomb, 30000, 30000)
    sent = [{"id": f"p{i}", "image": png_base64(a)} for i, (_, a) in enumerate(photos[:4])]
    sent.append({"id": "junk", "image": base64.b64encode(b"not an image").decode()})
    sent.append({"id": "bomb", "image": base64.b64encode(bomb.read_bytes()).decode()})
    with running_service(settings, store) as served, served.client("write") as c:
        refused = c.post("/v1/datasets/cams/records", json={"records": [{"probabilities": [1.0]}]})
        assert refused.status_code == 422
        answer = c.post("/v1/datasets/cams/records", json={"records": sent})
        assert answer.status_code == 202, answer.text
        assert answer.json()["bad"] == 2
        window_id = answer.json()["closed"][0]
        reasons = {r.record_id: r.bad_reason for r in store.windows.records(window_id)}
        assert reasons["junk"] is not None
        assert reasons["bomb"] == "too_large"
        assert reasons["p0"] is None
        closed = wait_for(lambda: (w := store.windows.get(window_id)) and w.run_id and w)
        run = store.get(closed.run_id)
        assert (run.n_images, run.n_bad) == (4, 2)
        assert run.bad_counts["too_large"] == 1


def test_without_a_writer_records_are_refused_503_and_readyz_says_so(
    tmp_path: Path, history: HistoryStore
) -> None:
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        assert c.post(RECORDS, json=records(1, seed=1)[0]).status_code == 202
        served.app.state.vd.windows.stop()
        answer = c.post(RECORDS, json=records(1, seed=2)[0])
        assert answer.status_code == 503
        assert answer.json()["type"].endswith("/writer-stopped")
        assert answer.headers["retry-after"] == "5"
        assert c.get("/readyz").status_code == 503
    assert history.windows.count_records("shop") == 1


@pytest.mark.parametrize(
    "body",
    [
        # a single record that holds the word "records" (the batch is tried first, in vain)
        {"id": "records", "probabilities": [0.5, 0.5], "metadata": {"k": '"records"'}},
        {"probabilities": [0.5, 0.5]},
        {"records": [{"id": "a", "probabilities": [0.5, 0.5]}, {"probabilities": [1.0, 0.0]}]},
        # not valid: each error as the discriminated union reports it
        {"records": [{"probabilities": [0.5, 0.5]}, {"probabilities": "x"}]},
        {"records": [], "extra": 1},
        {"records": "x"},
        {"id": "records"},
        {"id": "a\x00", "probabilities": [0.5, 0.5]},
        {"records": [{"id": "a\x00"}]},
        ["records"],
    ],
)
def test_a_body_reads_as_the_discriminated_union_reads_it(body: Any) -> None:
    import json

    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError

    from visiondrift.service._records import _BODY, parse_records_body

    raw = json.dumps(body).encode()
    try:
        expected: Any = _BODY.validate_json(raw)
    except ValidationError as err:
        expected = [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
    try:
        found: Any = parse_records_body(raw, "application/json")
    except RequestValidationError as err:
        found = list(err.errors())
    assert type(found) is type(expected)
    if isinstance(expected, list):  # (a ValueError in an error's ctx equals only itself)
        expected, found = ([{**e, "ctx": str(e.get("ctx"))} for e in x] for x in (expected, found))
    assert found == expected
