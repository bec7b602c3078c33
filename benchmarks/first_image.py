"""Time to the first decoded image and the parent's peak memory, streaming sources vs commit
15cf182 (the code before sources were lazy), both measured in the same run.

Usage::

    python benchmarks/first_image.py [--work benchmarks/_work] [--files 100000] [--workers 1 2]

Makes (once, under --work, git-ignored) a folder of ``--files`` small PNG files in 100
sub-folders (the ImageFolder layout) and extracts the source tree of commit 15cf182 into
``--work/old`` (``git archive 15cf182 src``). Then, for each code version and each worker count,
a fresh process profiles the whole folder and reports:

- ``first``: seconds from calling ``profile()`` to the end of the first image's decode (in
  whichever process decodes it: the decoder is wrapped to write the time once);
- ``total``: seconds for the whole profile;
- ``peak``: the peak resident memory of the parent process (``VmHWM``; workers excluded).

Before measuring, every file is read once (so neither version pays for a cold page cache);
each measurement is repeated ``--repeat`` times in alternating order (old, new, new, old...)
and the best of each is kept. Ratios are old / new (above 1: the new code is faster or
smaller).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

OLD_COMMIT = "15cf182"
REPO = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, os, resource, sys, time
import importlib, visiondrift, visiondrift.profiler
try:  # the decoding call: in the chunk module since the application core, the profiler before
    profiler = importlib.import_module("visiondrift.profiler._chunk")
except ModuleNotFoundError:
    profiler = visiondrift.profiler
stamp = sys.argv[3]
original = profiler.decode_image

def first_decode(*args, **kwargs):
    result = original(*args, **kwargs)
    try:
        fd = os.open(stamp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return result
    os.write(fd, repr(time.perf_counter()).encode())
    os.close(fd)
    return result

profiler.decode_image = first_decode
start = time.perf_counter()
p = visiondrift.profile(sys.argv[1], workers=int(sys.argv[2]))
total = time.perf_counter() - start
first = float(open(stamp).read()) - start
# VmHWM: this process's own peak (ru_maxrss would carry the launcher's over execve).
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
peak = (int(hwm[0].split()[1]) if hwm else own) / 1024
print(json.dumps({"n": p.n_images, "first": first, "total": total, "peak_mb": peak}))
"""


def ensure_images(folder: Path, n: int) -> None:
    marker = folder / f".complete-{n}"
    if marker.exists():
        return
    print(f"writing {n:,} PNG files under {folder} (once) ...", flush=True)
    variants = []
    for i in range(16):
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), (i * 16, 255 - i * 16, (i * 40) % 256)).save(buffer, "PNG")
        variants.append(buffer.getvalue())
    per_folder = max(1, n // 100)
    for i in range(n):
        sub = folder / f"class{i // per_folder:03d}"
        if i % per_folder == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{i:06d}.png").write_bytes(variants[i % len(variants)])
    marker.write_text("")


def ensure_old(work: Path) -> Path:
    old = work / "old"
    if not (old / "src" / "visiondrift" / "profiler.py").exists():
        old.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", OLD_COMMIT, "src"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    return old / "src"


def measure(src: Path, folder: Path, workers: int, stamp: Path) -> dict[str, float]:
    stamp.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder), str(workers), str(stamp)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "_work")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    folder = args.work / f"first_image_{args.files}"
    ensure_images(folder, args.files)
    for path in folder.rglob("*.png"):  # warm the page cache for both versions alike
        path.read_bytes()
    versions = {"old": ensure_old(args.work), "new": REPO / "src"}
    stamp = args.work / "first_image.stamp"
    print(f"{args.files:,} PNG files of 32x32 in 100 folders; one fresh process per run")
    for workers in args.workers:
        runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for i in range(args.repeat):
            order = ["old", "new"] if i % 2 == 0 else ["new", "old"]
            for name in order:
                runs[name].append(measure(versions[name], folder, workers, stamp))
        old, new = ({k: min(r[k] for r in runs[name]) for k in runs[name][0]} for name in runs)
        assert old["n"] == new["n"] == args.files, runs
        print(
            f"workers={workers}: first image {old['first']:.3f} s -> {new['first']:.3f} s "
            f"(x{old['first'] / new['first']:.0f} sooner); whole profile {old['total']:.1f} s -> "
            f"{new['total']:.1f} s (ratio {old['total'] / new['total']:.2f}); parent peak "
            f"{old['peak_mb']:.0f} MB -> {new['peak_mb']:.0f} MB "
            f"(ratio {old['peak_mb'] / new['peak_mb']:.2f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
