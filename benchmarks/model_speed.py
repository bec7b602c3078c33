"""Cost of running the model inside the profiling pass, against onnxruntime alone, same run.

Usage::

    python benchmarks/model_speed.py [--work DIR] [--n 2000] [--repeat 3] [--workers N]
                                     [--cnn ONNX] [--cnn-n 400] [--cnn-size 640x480]
                                     [--only demo|cnn] [--breakdown]

Two cases, each timed over the same files in the same run (median of --repeat, interleaved):

``demo``
    The demo classifier (animal silhouettes, ``visiondrift.demo.model``, input 28x28x1
    uint8), trained and exported to ONNX once, over N held-out silhouettes written as 64x64 PNGs
    (cached in --work).
``cnn``
    EfficientNet-Lite0 with ImageNet weights (18.6 MB ONNX, 0.4 GFLOPs per image), exported by
    ``make bench-cnn-model`` (``benchmarks/export_efficientnet_lite0.py``, torch in its own venv)
    to ``<work>/efficientnet_lite0.onnx`` with its preprocessing in ``efficientnet_lite0.json``
    beside it (checked on real photos by the export: shorter side to 224 + centre crop,
    bilinear, RGB scaled to -1..1, NCHW float32). Images: --cnn-n JPEGs (quality 90) of
    --cnn-size, random crops of the real photos shipped in pip packages
    (``visiondrift.demo.samples.make_dataset``). Runs when the model file exists (or with --cnn).

The timings of each case:

- ``without model``: ``visiondrift.profile(folder, workers=W)``, worker start-up included;
- ``with model``: the same pass with the model: each worker decodes and measures each image and
  runs the model on batches of it; worker start-up and each worker's model load (onnxruntime
  session creation) included, as a user pays them;
- ``onnxruntime alone``: the images are decoded and preprocessed exactly as the profiler does
  (``decode_image``, the profiler's ``presizer``, then the adapter's ``preprocess``; cut into
  the batches the profiler makes: its chunks of files, then ``batch_size`` images) OUTSIDE the
  timed region, in the parent. The timed region is only ``session.run`` over those batches
  (through the adapter's ``_run``), in processes forked from the parent (they inherit the
  batches), each with its own session, created and run once on one batch before the clock
  starts: onnxruntime alone pays neither session creation nor its first-run allocations, so
  the comparison is strict. Ways to give it the profiler's CPU resources (W processes, each
  with its own 1-thread session):

  * ``W processes x 1 thread (fair)``: the same session options as in a worker (``ModelSpec``
    defaults: ``intra_op_num_threads=1``) and the profiler's parallelism, the batches dealt
    round-robin; wall time from the first process's start to the last one's end. THIS is the
    fair reference, and the one the target is judged against: the same cores, the same
    sessions, the same split of work as the profiler, minus everything that is not inference;
  * the same, ``cold``: the clock starts before each process creates its session, which then
    runs without warm-up, as in a profiler's worker (like for like on fixed costs);
  * ``1 process x 1 thread``, and that time / W (an ideal that assumes perfect scaling: no
    shared-cache or memory-bandwidth contention between the W processes; a lower bound);
  * ``1 process x W threads`` (``intra_op_num_threads=W``): what a user running onnxruntime
    alone with one session would do; intra-op threading of small convolutions scales worse
    than W independent processes, so it is usually slower than the fair reference;
- ``model.predict on the decoded images``: like the fair reference (W processes, warm), but the
  timed loop is the adapter's ``predict`` on the decoded arrays: the model's own preprocessing
  (resize, crop, scaling, layout), ``session.run`` and the softmax, i.e. everything the model
  adds to a pass that decodes anyway.

Printed ratios:

- ``with model / onnxruntime alone`` (fair reference; also cold, and against the fastest of the
  warm ways and the ideal scaling, the strictest reading): the issue's target, at most 1.10,
  i.e. "profiling with the model costs at most 10% more wall time than running onnxruntime alone
  over the same preprocessed batches". Judged on the ``cnn`` case, the realistic model the issue
  names; with the demo model inference is ~1% of the pass, so the ratio there only measures
  decoding and measuring and is printed for information. Note what it asks: every CPU-second the
  profiler spends outside ``session.run`` (decoding, measuring, the model's preprocessing,
  start-up) counts against 10% of the inference time, since the W processes keep every core
  busy;
- ``with / (without + onnxruntime alone)``: whether doing both in one pass costs more than
  doing them separately, the model's preprocessing counted on neither side;
- ``with / (without + model.predict)``: the same with the model's preprocessing counted on the
  separate side: what running the model inside the pass costs beyond the sum of its parts
  (start-up, session creation, scheduling, cache effects);
- ``with model vs without model``.

``--breakdown`` then profiles one worker's code path (``visiondrift.profiler.profile_chunk``) in
this process, serially, under cProfile over the case's files, and prints where the time goes per
image (decode, measurement, the model's resize and scaling, ``session.run``), with
``session.run`` in a tight loop over the same batches, the session creation time and the first
batch's time for comparison. ``--repeat 0`` skips the timings (breakdown only).

Exit status: 1 when the cnn case ran and missed the target, else 0.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing as mp
import os
import pstats
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from visiondrift.decode import DecodedImage, DecodeLimits, decode_image
from visiondrift.demo.model import build_demo_models, load_demo_dataset
from visiondrift.models import ModelSpec
from visiondrift.models.preprocessing import preprocess, presizer
from visiondrift.profiler import default_workers, profile, profile_chunk
from visiondrift.profiler._run import _stream_chunks
from visiondrift.profiles import ProfileConfig
from visiondrift.sources import open_source

TARGET = 1.10
CNN_MODEL = "efficientnet_lite0.onnx"


def ensure_demo_data(work: Path, n: int) -> tuple[Path, Path]:
    """The demo ONNX model and a folder of ``n`` 64x64 PNG silhouettes (cached)."""
    model_dir = work / "model"
    onnx = model_dir / "demo.onnx"
    if not onnx.is_file():
        print(f"training the demo model into {model_dir} ...", flush=True)
        build_demo_models(model_dir)
    folder = work / f"animals_{n}"
    if not folder.is_dir() or len(list(folder.iterdir())) != n:
        print(f"writing {n} silhouettes as 64x64 PNG in {folder} ...", flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        data = load_demo_dataset("animal-mnist")
        idx = np.random.default_rng(0).choice(len(data.images), size=n, replace=False)
        for j, i in enumerate(idx):
            image = Image.fromarray(data.images[i]).resize((64, 64), Image.Resampling.BILINEAR)
            image.save(folder / f"animal_{j:05d}.png")
    return onnx, folder


def ensure_photo_data(work: Path, n: int, size: tuple[int, int]) -> Path:
    """A folder of ``n`` JPEGs of ``size`` (width, height) cropped from real photos (cached)."""
    from visiondrift.demo.samples import make_dataset

    folder = work / f"photos_{size[0]}x{size[1]}_{n}"
    if not folder.is_dir() or len(list(folder.iterdir())) != n:
        print(f"writing {n} JPEGs of {size[0]}x{size[1]} from real photos in {folder} ...")
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        make_dataset(folder, n, size=size, seed=0, quality=90)
    return folder


def cnn_spec(onnx: Path) -> ModelSpec:
    """The CNN's spec from the options file the export script wrote beside it."""
    config = onnx.with_suffix(".json")
    if not config.is_file():
        raise SystemExit(f"{config} is missing: run `make bench-cnn-model` to export the model")
    spec = ModelSpec.from_config(config)
    data = json.loads(config.read_text())
    print(f"cnn model options (from {config.name}): {data['preprocessing']}")
    return spec


def time_profile(folder: Path, workers: int, model: ModelSpec | None) -> float:
    start = time.perf_counter()
    profile(folder, model=model, workers=workers)
    return time.perf_counter() - start


def preprocessed_batches(
    spec: ModelSpec, folder: Path, workers: int
) -> tuple[list[np.ndarray[Any, Any]], list[list[np.ndarray[Any, Any]]]]:
    """The batches exactly as the profiler feeds them to the model (not timed).

    Also returns the same batches before the adapter's preprocessing: the arrays that the
    profiler hands to ``model.predict``.
    """
    model: Any = spec.load()
    items = open_source(folder).items
    limits = DecodeLimits()
    raw: list[list[np.ndarray[Any, Any]]] = []
    step = spec.batch_size
    model_input = presizer(model.info.preprocessing, model.input_target)
    for chunk in _stream_chunks(iter(items), workers):  # the profiler's chunks, then batches
        arrays = []
        for item in chunk:
            decoded = decode_image(item.path, item.name, limits)
            assert isinstance(decoded, DecodedImage)
            arrays.append(model_input(decoded.image))
        raw.extend(arrays[i : i + step] for i in range(0, len(arrays), step))
    batches = [preprocess(group, spec.preprocessing, model.input_target) for group in raw]
    return batches, raw


#: The batches, set in the parent before forking so that children inherit them (no pickling).
_BATCHES: list[np.ndarray[Any, Any]] = []
#: The same batches before the model's preprocessing (decoded arrays), likewise.
_RAW: list[list[np.ndarray[Any, Any]]] = []


def _ort_process(
    spec: ModelSpec, share: Sequence[int], mode: str, barrier: Any, queue: Any
) -> None:
    if mode == "cold":  # the clock starts before the session is created, as in a worker
        barrier.wait()
        start = time.perf_counter()
        model: Any = spec.load()
    else:
        model = spec.load()
        model._run(_BATCHES[share[0]])  # warm-up: first-run allocations are not timed
        barrier.wait()
        start = time.perf_counter()
    if mode == "predict":  # the adapter's preprocessing, session.run and softmax
        for i in share:
            model.predict(_RAW[i])
    else:
        for i in share:
            model._run(_BATCHES[i])
    queue.put((start, time.perf_counter()))


def time_onnxruntime(
    spec: ModelSpec,
    batches: tuple[list[np.ndarray[Any, Any]], list[list[np.ndarray[Any, Any]]]],
    processes: int,
    threads: int,
    mode: str = "warm",
) -> float:
    """Wall time of ``session.run`` over all batches in ``processes`` x ``threads``.

    ``mode``: ``"warm"`` (session created and run once before the clock starts), ``"cold"``
    (session creation and first run timed too) or ``"predict"`` (warm, but the timed loop is
    ``model.predict`` on the decoded arrays: the model's own preprocessing included).
    """
    global _BATCHES, _RAW
    _BATCHES, _RAW = batches
    ctx = mp.get_context("fork")
    n = len(_BATCHES)
    shares = [s for s in (range(p, n, processes) for p in range(processes)) if s]
    barrier = ctx.Barrier(len(shares))
    queue = ctx.Queue()
    run_spec = replace(spec, num_threads=threads)
    procs = [
        ctx.Process(target=_ort_process, args=(run_spec, share, mode, barrier, queue))
        for share in shares
    ]
    for proc in procs:
        proc.start()
    spans = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"onnxruntime timing process failed ({proc.exitcode})")
    return float(max(end for _, end in spans) - min(start for start, _ in spans))


@dataclass
class CaseResult:
    name: str
    with_model: float
    ort_fair: float
    ort_cold: float
    ort_best: float


def run_case(
    name: str, description: str, folder: Path, spec: ModelSpec, workers: int, repeat: int
) -> CaseResult:
    n = len(open_source(folder).items)
    both = preprocessed_batches(spec, folder, workers)
    batches = both[0]
    sizes = sorted({b.shape[0] for b in batches})
    print(
        f"\n=== {name}: {description}\n"
        f"cores available: {len(os.sched_getaffinity(0))}; workers: {workers}; images: {n}; "
        f"batches: {len(batches)} of {batches[0].shape[1:]} {batches[0].dtype} "
        f"(sizes {sizes}); repeats: {repeat} (median)",
        flush=True,
    )
    time_profile(folder, workers, spec)  # warm the page cache and the imports
    ways = {
        "fair": (f"onnxruntime alone, {workers} processes x 1 thread (fair)", workers, 1, "warm"),
        "cold": ("  the same, session creation + first run timed", workers, 1, "cold"),
        "single": ("onnxruntime alone, 1 process x 1 thread", 1, 1, "warm"),
        "threads": (f"onnxruntime alone, 1 process x {workers} threads", 1, workers, "warm"),
        "predict": (
            f"model.predict on the decoded images, {workers} processes",
            workers,
            1,
            "predict",
        ),
    }
    runs: dict[str, list[float]] = {"without": [], "with": [], **{k: [] for k in ways}}
    for _ in range(repeat):  # interleaved, so that drifts in machine load hit all of them
        runs["without"].append(time_profile(folder, workers, None))
        runs["with"].append(time_profile(folder, workers, spec))
        for key, (_, processes, threads, mode) in ways.items():
            runs[key].append(time_onnxruntime(spec, both, processes, threads, mode))
    med = {key: statistics.median(values) for key, values in runs.items()}
    without, with_model = med["without"], med["with"]
    fair, cold, single, threaded = med["fair"], med["cold"], med["single"], med["threads"]
    predict = med["predict"]
    ideal = single / workers
    rows = [
        ("profiling without model", without),
        ("profiling with model", with_model),
        (ways["fair"][0], fair),
        (ways["cold"][0], cold),
        (ways["single"][0], single),
        (f"  the same / {workers} (ideal scaling)", ideal),
        (ways["threads"][0], threaded),
        (ways["predict"][0], predict),
    ]
    print()
    for label, seconds in rows:
        print(f"  {label:<52} {seconds:8.3f} s  ({n / seconds:10,.1f} images/s)")
    print("  all runs: " + "; ".join(f"{k}: {[round(v, 3) for v in vs]}" for k, vs in runs.items()))
    best = min(fair, ideal, threaded)
    print()
    print(
        f"  with model / onnxruntime alone (fair)                {with_model / fair:8.3f}  "
        f"(target <= {TARGET:.2f})"
    )
    print(f"  with model / onnxruntime alone (fair, cold)          {with_model / cold:8.3f}")
    print(f"  with model / onnxruntime alone (fastest way)         {with_model / best:8.3f}")
    combined = with_model / (without + fair)
    print(f"  with / (without + onnxruntime alone, fair)           {combined:8.3f}")
    separate = with_model / (without + predict)
    print(f"  with / (without + model.predict on decoded images)   {separate:8.3f}")
    print(f"  with model vs without model                          {with_model / without:8.3f}x")
    print(
        f"  per image: profiling with model {1e3 * with_model / n:.2f} ms, onnxruntime alone "
        f"{1e3 * fair / n:.2f} ms, extra {1e3 * (with_model - fair) / n:.2f} ms (wall, "
        f"{workers} workers)"
    )
    return CaseResult(name, with_model, fair, cold, best)


def breakdown(spec: ModelSpec, folder: Path, workers: int) -> None:
    """Where one worker's time goes: its code path, serially, under cProfile."""
    items = open_source(folder).items
    config = ProfileConfig(model=spec)
    start = time.perf_counter()
    model: Any = spec.load()
    load = time.perf_counter() - start
    batches, _ = preprocessed_batches(spec, folder, workers)
    start = time.perf_counter()
    model._run(batches[0])
    first = time.perf_counter() - start
    start = time.perf_counter()
    for batch in batches:
        model._run(batch)
    tight = time.perf_counter() - start
    del model
    assert config.model is not None
    loaded = config.model.load()  # load the model and warm up outside the measurement
    profile_chunk(items[:32], config, loaded)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    profile_chunk(items, config, loaded)
    profiler.disable()
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    wanted = {
        ("decode.py", "decode_image"): "decode (simplejpeg / Pillow)",
        ("measure.py", "add"): "measure: per-image part (ImageMeasurer.add)",
        ("measure.py", "finish"): "measure: batched part (ImageMeasurer.finish)",
        ("preprocessing.py", "presize"): "model input: convert + resize (presize)",
        ("preprocessing.py", "resize_pil"): "  of which Pillow convert + resize (resize_pil)",
        ("preprocessing.py", "resize_images"): "batch assembly (resize_images)",
        ("preprocessing.py", "scale_values"): "model value scaling (scale_values)",
        ("preprocessing.py", "preprocess"): "preprocess total (incl. NCHW transpose + copy)",
        ("onnx.py", "_run"): "session.run (OnnxModel._run)",
        ("_adapter.py", "predict"): "predict total (preprocess + run + softmax)",
    }
    cumulative: dict[str, float] = {}
    for (file, _, func), (_, _, _, ct, _) in stats.items():
        key = (Path(file).name, func)
        if key in wanted:
            cumulative[wanted[key]] = cumulative.get(wanted[key], 0.0) + ct
    n = len(items)
    print(
        f"\n  breakdown: one worker's code path (profile_chunk) over the {n} images, 1 process, "
        f"under cProfile: {total:.3f} s = {1e3 * total / n:.2f} ms per image"
    )
    for label in wanted.values():
        seconds = cumulative.get(label, 0.0)
        print(f"    {label:<50} {1e3 * seconds / n:7.2f} ms/image  {100 * seconds / total:5.1f}%")
    print(
        f"    {'session.run in a tight loop (same batches)':<50} {1e3 * tight / n:7.2f} ms/image"
        f"\n  fixed costs per worker: model load (session creation) {1e3 * load:.0f} ms; first "
        f"batch of {batches[0].shape[0]} {1e3 * first:.0f} ms (warm: "
        f"{1e3 * tight / len(batches):.0f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--work", default=str(Path(__file__).parent / "_work"))
    parser.add_argument("--n", type=int, default=2000, help="demo case: images")
    parser.add_argument("--repeat", type=int, default=3, help="0: skip the timings")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument(
        "--cnn", default=None, help=f"cnn case: the ONNX model (default <work>/{CNN_MODEL})"
    )
    parser.add_argument("--cnn-n", type=int, default=400, help="cnn case: images")
    parser.add_argument("--cnn-size", default="640x480", help="cnn case: JPEG WIDTHxHEIGHT")
    parser.add_argument("--only", choices=["demo", "cnn"], default=None)
    parser.add_argument("--breakdown", action="store_true", help="cProfile one worker's path")
    args = parser.parse_args()
    work = Path(args.work)
    workers = args.workers
    results: list[CaseResult] = []
    cases: list[tuple[str, str, Path, ModelSpec]] = []
    if args.only != "cnn":
        onnx, folder = ensure_demo_data(work, args.n)
        description = "demo model (28x28x1 uint8, ~2.5 µs per image), 64x64 PNG silhouettes"
        cases.append(("demo", description, folder, ModelSpec(onnx)))
    cnn = Path(args.cnn) if args.cnn else work / CNN_MODEL
    if args.only != "demo":
        if cnn.is_file():
            width, height = (int(v) for v in args.cnn_size.lower().split("x"))
            folder = ensure_photo_data(work, args.cnn_n, (width, height))
            description = (
                f"EfficientNet-Lite0 (ImageNet, 224x224x3 float32), {width}x{height} JPEGs"
            )
            cases.append(("cnn", description, folder, cnn_spec(cnn)))
        elif args.cnn or args.only == "cnn":
            raise SystemExit(f"{cnn} is missing: run `make bench-cnn-model` first")
        else:
            print(f"\n(cnn case skipped: {cnn} is missing; `make bench-cnn-model` exports it)")
    for name, description, folder, spec in cases:
        if args.repeat > 0:
            results.append(run_case(name, description, folder, spec, workers, args.repeat))
        if args.breakdown:
            print(f"\n=== {name}: {description}")
            breakdown(spec, folder, workers)

    print()
    status = 0
    for result in results:
        ratio = result.with_model / result.ort_fair
        if result.name == "cnn":
            ok = ratio <= TARGET
            status = 0 if ok else 1
            verdict = "PASS" if ok else "FAIL"
            print(
                f"{verdict}: cnn: profiling with the model / onnxruntime alone = {ratio:.3f} "
                f"(target <= {TARGET:.2f}; {result.with_model / result.ort_cold:.3f} with "
                f"onnxruntime's session creation timed too, "
                f"{result.with_model / result.ort_best:.3f} against the fastest way to run it)"
            )
        else:
            print(
                f"(not judged) {result.name}: profiling with the model / onnxruntime alone = "
                f"{ratio:.1f}: inference is a small part of this pass"
            )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
