"""The executor seam: one public chunk function mapped over chunks by any executor; a model
given loaded is used as is, and no model stays cached in the calling process."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import visiondrift
from visiondrift import profiler
from visiondrift.profiler import _model_ref
from visiondrift.profiles import Profile, ProfileConfig
from visiondrift.sources import FolderSource

pytest.importorskip("onnxruntime")

from visiondrift.demo.model import build_demo_models, load_demo_dataset
from visiondrift.models import ModelSpec


def _same(a: Profile, b: Profile) -> None:
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):
        d.pop("created_at")
        d.pop("moments")
        if d.get("model"):
            for key in ("confidence", "margin", "entropy", "class_confidence"):
                d["model"].pop(key)
    assert da == db
    for name, m in a.moments.items():
        o = b.moments[name]
        assert (m.count, m.min, m.max) == (o.count, o.min, o.max)
        assert m.mean == pytest.approx(o.mean, rel=1e-12, abs=1e-15)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """90 demo images in an ImageFolder tree (above the serial threshold) and the demo model."""
    root = tmp_path_factory.mktemp("executors")
    models = build_demo_models(root / "model")
    demo = load_demo_dataset()
    rng = np.random.default_rng(3)
    for i in rng.choice(len(demo.labels), size=90, replace=False):
        folder = root / "images" / models.class_names[int(demo.labels[i])]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(demo.images[i]).save(folder / f"{i}.png")
    (root / "images" / models.class_names[0] / "broken.png").write_bytes(b"\x89PNG\r\n")
    return root / "images", models.onnx


class _SubmitOnly:
    """An executor with nothing but ``submit`` (the shape of a Dask client's)."""

    def __init__(self, inner: ThreadPoolExecutor) -> None:
        self._inner = inner
        self.calls = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        self.calls += 1
        return self._inner.submit(fn, *args)


@pytest.mark.parametrize("with_model", [False, True])
def test_every_executor_gives_the_serial_profile(data: tuple[Path, Path], with_model: bool) -> None:
    images, onnx = data
    model = onnx if with_model else None
    serial = visiondrift.profile(images, model=model, workers=1)
    assert serial.n_images == 90
    assert (serial.model is not None) == with_model
    with ThreadPoolExecutor(2) as threads:
        _same(visiondrift.profile(images, model=model, executor=threads), serial)
        shaped = _SubmitOnly(threads)
        _same(visiondrift.profile(images, model=model, executor=shaped, workers=2), serial)
        assert shaped.calls >= 2
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=fork) as processes:
        _same(visiondrift.profile(images, model=model, executor=processes, workers=2), serial)
        # A second run on the same pool: its workers keep the model of the same file.
        _same(visiondrift.profile(images, model=model, executor=processes, workers=2), serial)
    _same(visiondrift.profile(images, model=model, workers=2), serial)  # the default pool
    assert _model_ref._WORKER_MODEL == {}  # filled in workers only, never in this process
    assert not hasattr(profiler, "_MODEL_CACHE")


def test_a_loaded_model_is_used_without_loading_again(
    data: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    images, onnx = data
    spec = ModelSpec(onnx)
    expected = visiondrift.profile(images, model=spec, workers=1)
    loaded = spec.load()

    def refuse(self: ModelSpec) -> Any:
        raise AssertionError("the model was loaded again")

    monkeypatch.setattr(ModelSpec, "load", refuse)
    for _ in range(2):  # a long-running process reuses it across runs
        _same(visiondrift.profile(images, model=loaded, workers=1), expected)
    with ThreadPoolExecutor(2) as threads:
        _same(visiondrift.profile(images, model=loaded, executor=threads), expected)


def test_the_chunk_function_merges_to_the_whole(data: tuple[Path, Path]) -> None:
    images, onnx = data
    config = ProfileConfig(model=ModelSpec(onnx))
    items = FolderSource(images, labels="imagefolder").items
    loaded = config.model.load() if config.model else None
    parts = [profiler.profile_chunk(items[i : i + 25], config, loaded) for i in range(0, 91, 25)]
    whole = profiler.profile_chunk(items, config, loaded)
    _same(Profile.merge_all(parts[::-1]), whole)
    assert whole.n_files == 91
    assert whole.bad_counts == {"not_an_image": 1}


def test_a_model_that_is_no_model_is_refused(data: tuple[Path, Path]) -> None:
    with pytest.raises(visiondrift.ConfigError, match="'model' option must be a ModelSpec"):
        visiondrift.profile(data[0], model=object(), workers=1)  # type: ignore[arg-type]


def test_a_monitor_reuses_its_loaded_model_and_executor(
    data: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running process (a service, ``watch``) builds one Monitor with a loaded model and
    an executor; every run uses them, and none loads the model again."""
    from visiondrift.app import Monitor

    images, onnx = data
    spec = ModelSpec(onnx)
    baseline = visiondrift.profile(images, model=spec, workers=1)
    loaded = baseline.config.model.load() if baseline.config.model else None
    assert loaded is not None

    def refuse(self: ModelSpec) -> Any:
        raise AssertionError("the model was loaded again")

    monkeypatch.setattr(ModelSpec, "load", refuse)
    with ThreadPoolExecutor(max_workers=2) as threads:
        monitor = Monitor(baseline, model=loaded, executor=threads)
        first = monitor.run(images)
        second = monitor.run(images)
    for result in (first, second):
        assert not result.report.overall_drift_detected
        _same(result.profile, visiondrift.profile(images, model=loaded, workers=1))


def _sigterm_handler() -> Any:
    import signal

    return signal.getsignal(signal.SIGTERM)


def test_pool_workers_die_on_sigterm_whatever_handler_the_parent_set() -> None:
    """A forked worker inherits the parent's handlers; ``watch``'s SIGTERM handler only notes
    the signal, and a worker that kept it would outlive ``Pool.terminate`` (whose join then
    waits for ever). The pool's workers take SIGTERM's default again."""
    import signal

    from visiondrift.profiler._executors import start_pool

    previous = signal.signal(signal.SIGTERM, lambda *_: None)  # as the watcher's handler
    try:
        pool = start_pool(2)
        try:
            handlers = {pool.apply(_sigterm_handler) for _ in range(4)}
        finally:
            pool.terminate()
            pool.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert handlers == {signal.SIG_DFL}
