"""End-to-end time of ``visiondrift monitor``: a 100-image batch against a 300-image baseline.

Target (issue 9, item 8): at most 1.5 s end to end (interpreter start-up included) on a 2-core
machine, timed beside ``python -c pass`` and ``visiondrift --help`` in the same run.

Usage::

    python benchmarks/startup.py [--work DIR] [--repeat 7]

Makes (once, cached in --work) 300 baseline and 100 batch JPEGs of 224x224 from random crops of
the real photos shipped in pip packages (``visiondrift.demo.samples.make_dataset``, different
seeds, no drift between them), then profiles the baseline with ``visiondrift baseline`` (every
run, so the file matches the code under test). Then, in the same run:

1. the three commands are run ``--repeat`` times each, interleaved (so that the load of a shared
   machine falls on all three alike), and the median and the fastest run are printed with their
   ratio to ``python -c pass`` and to the target, and the CPU time the command used (with its
   worker processes), which depends less on what else runs on the machine;
2. a breakdown of one ``monitor`` run: a fresh interpreter does what the command does (import the
   command line, load the baseline, profile the batch, compare, write the report, print the
   summary) once cold and then once more warm in the same process. The warm run is the work
   itself; cold minus warm is what the first call pays once (imports, first-call set-up);
3. the import time of one ``monitor`` run by top-level package (``python -X importtime``, self
   times summed per package; the flag adds a little to each import).

The load average is printed before and after: on a shared machine, read the ratios first.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

TARGET_S = 1.5
N_BASELINE = 300
N_BATCH = 100

PROBE = r"""
import io, json, resource, sys, time
from contextlib import contextmanager, redirect_stdout

folder, baseline, out = sys.argv[1:4]


def cpu():  # this process and its (joined) worker processes
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@contextmanager
def step(times, name):
    wall, used = time.perf_counter(), cpu()
    yield
    times[name] = (time.perf_counter() - wall, cpu() - used)


cold, warm = {}, {}
with step(cold, "import the command line"):
    import visiondrift.cli
    from visiondrift.cli import _support
    try:  # what the command's entry point does first
        from visiondrift.cli._startup import limit_blas_threads
    except ImportError:  # code from before the BLAS limit
        pass
    else:
        limit_blas_threads()


def run(times):
    with step(times, "import the profiler"):
        from visiondrift.profiler import profile
        from visiondrift.profiles import Profile
    with step(times, "load the baseline"):
        base = Profile.load(baseline)
    with step(times, "profile the batch"):
        current = profile(folder, config=base.config)
    with step(times, "compare (cold: + importing the comparison)"):
        from visiondrift.drift import compare

        report = compare(base, current, mode="monitor", command="visiondrift monitor")
    with step(times, "write the report"):
        report.save(out)
    with step(times, "print the summary"), redirect_stdout(io.StringIO()):
        _support._print_report(report, out, True)


run(cold)
run(warm)
warm["import the command line"] = (0.0, 0.0)
print(json.dumps({"cold": cold, "warm": warm}))
"""


def ensure_data(work: Path) -> tuple[Path, Path]:
    """The baseline and batch folders of real photo crops (made once)."""
    from visiondrift.demo.samples import make_dataset, real_photos

    base, batch = work / "baseline", work / "batch"
    photos = None
    for folder, n, seed in ((base, N_BASELINE, 21), (batch, N_BATCH, 22)):
        if folder.is_dir() and len(list(folder.glob("*.jpg"))) == n:
            continue
        photos = photos or real_photos()
        print(f"making {n} JPEGs of 224x224 in {folder} ...", flush=True)
        make_dataset(folder, n, size=(224, 224), seed=seed, photos=photos, quality=90)
    return base, batch


def cli_command() -> list[str]:
    """The ``visiondrift`` console script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("visiondrift")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "visiondrift.cli"]


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (the command and its worker processes) of one run of ``cmd``."""
    cpu = cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return seconds, cpu_of_children() - cpu


def import_times(cmd: list[str]) -> dict[str, float]:
    """Self import time (seconds) per top-level package of one run of ``cmd``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "visiondrift.cli", *cmd],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    per_package: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, self_us, _, name = (part.strip() for part in line.replace("|", ":", 2).split(":", 3))
        if self_us.isdigit():
            per_package[name.split(".")[0]] += int(self_us) / 1e6
    return dict(per_package)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--work", default=str(Path(__file__).parent / "_work" / "startup"))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    work = Path(args.work)
    base_dir, batch_dir = ensure_data(work)
    with tempfile.TemporaryDirectory(prefix="vd-startup-") as tmp_dir:
        return run(args.repeat, base_dir, batch_dir, work / "baseline.json", Path(tmp_dir))


def run(repeat: int, base_dir: Path, batch_dir: Path, baseline: Path, tmp: Path) -> int:
    """Time the commands, break one monitor run down, and print the figures."""
    cli = cli_command()
    subprocess.run(
        [*cli, "baseline", str(base_dir), "-o", str(baseline), "--quiet"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    monitor_args = ["monitor", str(batch_dir), "--baseline", str(baseline)]
    monitor_args += ["-o", str(tmp / "report.json"), "--quiet"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "visiondrift --help": [*cli, "--help"],
        f"visiondrift monitor ({N_BATCH} vs {N_BASELINE} images)": [*cli, *monitor_args],
    }
    print(f"cores available: {len(os.sched_getaffinity(0))}; load average before: {load()}")
    print(f"repeats: {repeat}, interleaved (median and fastest run reported)\n")
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():  # warm the page cache and the bytecode cache
        timed(cmd)
    for _ in range(repeat):
        for name, cmd in commands.items():
            wall, used = timed(cmd)
            times[name].append(wall)
            cpu[name].append(used)
    floor = statistics.median(times["python -c pass"])
    print(
        "| command | median (s) | fastest (s) | CPU, median (s) | ratio to `python -c pass` "
        "| ratio to 1.5 s |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"| `{name}` | {median:.3f} | {min(values):.3f} | {statistics.median(cpu[name]):.3f} "
            f"| {median / floor:.1f} | {median / TARGET_S:.2f} |"
        )
    monitor = statistics.median(times[list(commands)[-1]])

    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(batch_dir), str(baseline), str(tmp / "probe.json")],
        check=True,
        capture_output=True,
        text=True,
    )
    phases = json.loads(probe.stdout.strip().splitlines()[-1])
    print("\nBreakdown of one monitor run (fresh interpreter; cold = first run, warm = again;")
    print("CPU = this process and its workers; one-off = cold - warm: imports, first call):\n")
    print("| step | wall cold (s) | wall warm (s) | CPU cold (s) | CPU warm (s) | one-off CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    cold, warm = phases["cold"], phases["warm"]
    for name in cold:
        (wall_c, cpu_c), (wall_w, cpu_w) = cold[name], warm[name]
        print(
            f"| {name} | {wall_c:.3f} | {wall_w:.3f} | {cpu_c:.3f} | {cpu_w:.3f} "
            f"| {cpu_c - cpu_w:.3f} |"
        )
    sums = [sum(v[i] for v in part.values()) for part in (cold, warm) for i in (0, 1)]
    print(
        f"| **total** (without the interpreter's start-up) | {sums[0]:.3f} | {sums[2]:.3f} "
        f"| {sums[1]:.3f} | {sums[3]:.3f} | {sums[1] - sums[3]:.3f} |"
    )

    per_package = import_times(monitor_args)
    total_imports = sum(per_package.values())
    ranked = sorted(per_package.items(), key=lambda kv: -kv[1])
    print(f"\nImports of one monitor run (-X importtime): {total_imports:.3f} s; by package:")
    print(", ".join(f"{name} {seconds:.3f}" for name, seconds in ranked[:10]))
    heavy = [name for name in ("scipy", "sklearn", "matplotlib") if name in per_package]
    print(f"heavy packages imported: {', '.join(heavy) or 'none'}")

    print(f"\nload average after: {load()}")
    met = monitor <= TARGET_S
    verdict = "met" if met else "NOT met"
    print(f"Target (median <= {TARGET_S} s end to end): {monitor:.3f} s -> {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
