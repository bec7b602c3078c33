"""Speed and memory of profiling, against a plain Pillow decode loop measured in the same run.

Usage::

    python benchmarks/profile_speed.py [--work DIR] [--repeat 3]

Makes (once, cached in --work) 2,000 JPEGs of 224x224 and 500 of 1024x768 from real photos shipped
in pip packages, then prints for each set, timed over the same files in the same run:

- ``decode``: a single-process loop that opens and fully decodes each file with Pillow;
- ``profile``: ``visiondrift.profile(folder)`` in-process, worker start-up included;
- ``cli``: the ``visiondrift baseline`` command, interpreter start-up included;

and the peak memory (RSS) of profiling 2,000 and 20,000 images in fresh processes. Targets for the
224x224 set on a 2-core machine: at least 2,000 images/s in-process and at most 1.5x the decode
loop's wall time; peak memory at 20,000 images within 10% of that at 2,000.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from visiondrift.demo.samples import make_dataset, real_photos

MEMORY_PROBE = """
import json, resource, sys, visiondrift
p = visiondrift.profile(sys.argv[1])
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"n": p.n_images, "self_kb": own, "worker_kb": children}))
"""


def ensure_data(work: Path) -> dict[str, Path]:
    sets = {
        "224x224": (work / "small", 2000, (224, 224)),
        "1024x768": (work / "large", 500, (1024, 768)),
    }
    photos = None
    for folder, n, size in sets.values():
        if folder.is_dir() and len(list(folder.iterdir())) == n:
            continue
        photos = photos or real_photos()
        print(f"making {n} JPEGs of {size[0]}x{size[1]} in {folder} ...", flush=True)
        make_dataset(folder, n, size=size, seed=7, photos=photos, quality=90, min_crop=0.5)
    many = work / "many"
    small = sorted(sets["224x224"][0].iterdir())
    if not many.is_dir() or len(list(many.rglob("*.jpg"))) != 20_000:
        print(f"linking 20,000 images in {many} ...", flush=True)
        for copy in range(10):
            sub = many / f"copy{copy}"
            sub.mkdir(parents=True, exist_ok=True)
            for f in small:
                link = sub / f.name
                if not link.exists():
                    link.symlink_to(f.resolve())
    return {"224x224": sets["224x224"][0], "1024x768": sets["1024x768"][0], "many": many}


def decode_loop(folder: Path) -> float:
    files = sorted(folder.iterdir())
    start = time.perf_counter()
    for f in files:
        with Image.open(f) as im:
            im.load()
    return time.perf_counter() - start


def profile_in_process(folder: Path) -> float:
    import visiondrift

    start = time.perf_counter()
    visiondrift.profile(folder)
    return time.perf_counter() - start


def cli_run(folder: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "visiondrift.cli",
                "baseline",
                str(folder),
                "-o",
                os.path.join(tmp, "b.json"),
                "--quiet",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - start


def peak_memory(folder: Path) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(folder)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--work", default=str(Path(__file__).parent / "_work"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = ensure_data(Path(args.work))
    print(
        f"cores available: {len(os.sched_getaffinity(0))}; repeats: {args.repeat} "
        "(median reported)\n"
    )
    ok = True
    for name in ("224x224", "1024x768"):
        folder = data[name]
        n = len(list(folder.iterdir()))
        decode_loop(folder)  # warm the page cache
        timings = {
            "decode": statistics.median(decode_loop(folder) for _ in range(args.repeat)),
            "profile": statistics.median(profile_in_process(folder) for _ in range(args.repeat)),
            "cli": statistics.median(cli_run(folder) for _ in range(args.repeat)),
        }
        print(f"{name}: {n} images")
        for key, seconds in timings.items():
            ratio = seconds / timings["decode"]
            print(
                f"  {key:8s} {seconds:7.3f} s  {n / seconds:8.0f} images/s  "
                f"{ratio:5.2f}x decode loop"
            )
        if name == "224x224":
            rate = n / timings["profile"]
            ratio = timings["profile"] / timings["decode"]
            met = rate >= 2000 and ratio <= 1.5
            ok &= met
            print(
                f"  target: >= 2000 images/s and <= 1.5x decode: "
                f"{rate:.0f} images/s, {ratio:.2f}x -> {'met' if met else 'NOT met'}"
            )
        print()
    small = peak_memory(data["224x224"])
    many = peak_memory(data["many"])
    growth = many["self_kb"] / small["self_kb"] - 1
    worker_growth = many["worker_kb"] / small["worker_kb"] - 1
    print("peak memory (RSS):")
    print(
        f"  {small['n']:6d} images: parent {small['self_kb'] / 1024:6.1f} MB, "
        f"largest worker {small['worker_kb'] / 1024:6.1f} MB"
    )
    print(
        f"  {many['n']:6d} images: parent {many['self_kb'] / 1024:6.1f} MB, "
        f"largest worker {many['worker_kb'] / 1024:6.1f} MB"
    )
    print(
        f"  growth 2,000 -> 20,000: parent {growth:+.1%}, worker {worker_growth:+.1%} "
        f"(target within 10%) -> {'met' if max(growth, worker_growth) <= 0.10 else 'NOT met'}"
    )
    ok &= max(growth, worker_growth) <= 0.10
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
