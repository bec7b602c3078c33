"""Profiling and comparison speed of this tree against an earlier commit, in the same run.

Usage::

    python benchmarks/before_after.py [--before COMMIT] [--rounds 3]

Extracts ``src/`` and ``benchmarks/`` of ``--before`` (default: the commit before the application
core was introduced) into ``benchmarks/_work/before-<commit>/`` with ``git archive``, then runs
``profile_speed.py`` and ``compare_speed.py`` of each tree with its own ``src`` first on
``PYTHONPATH``, alternating before / after for ``--rounds`` rounds so that the machine's load
falls on both alike. Prints each figure's median over the rounds, the ratio after / before, and
the spread of the before figures across rounds (the machine's noise in this run): a ratio within
that spread is no change.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The last commit before issue 10's restructuring.
DEFAULT_BEFORE = "15cf182"

#: (script, figure name, pattern whose first group is the figure in seconds)
_PROFILE = r"{size}: .*?\n(?:.*\n)*?  {row} +([\d.]+) s"
FIGURES: tuple[tuple[str, str, str], ...] = (
    (
        "profile_speed.py",
        "profile 2,000 x 224x224 (s)",
        _PROFILE.format(size="224x224", row="profile"),
    ),
    (
        "profile_speed.py",
        "cli baseline 2,000 x 224x224 (s)",
        _PROFILE.format(size="224x224", row="cli"),
    ),
    (
        "profile_speed.py",
        "profile 500 x 1024x768 (s)",
        _PROFILE.format(size="1024x768", row="profile"),
    ),
    ("profile_speed.py", "peak parent MB, 20,000 images", r"20000 images: parent +([\d.]+) MB"),
    (
        "compare_speed.py",
        "compare with model (s)",
        r"\| with model outputs \+ embeddings \| \d+ \| ([\d.]+) \|",
    ),
    (
        "compare_speed.py",
        "compare properties only (s)",
        r"\| properties only \| \d+ \| ([\d.]+) \|",
    ),
)


def extract(commit: str) -> Path:
    """``src`` and ``benchmarks`` of ``commit`` in a folder of their own (kept between runs)."""
    out = ROOT / "benchmarks" / "_work" / f"before-{commit}"
    if not (out / "src").is_dir():
        out.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "src", "benchmarks"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def run(tree: Path, script: str, work: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    args = [sys.executable, str(tree / "benchmarks" / script)]
    if script == "profile_speed.py":
        args += ["--work", str(work), "--repeat", "1"]
    else:
        args += ["--repeat", "3"]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):  # 1: a target missed, still measured
        raise SystemExit(f"{script} in {tree} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--before", default=DEFAULT_BEFORE)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    before = extract(args.before)
    work = ROOT / "benchmarks" / "_work"
    trees = {"before": before, "after": ROOT}
    values: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.rounds):
        for script in ("profile_speed.py", "compare_speed.py"):
            for side, tree in trees.items() if round_ % 2 == 0 else reversed(trees.items()):
                text = run(tree, script, work)
                for name_script, name, pattern in FIGURES:
                    if name_script != script:
                        continue
                    match = re.search(pattern, text)
                    if match is None:
                        raise SystemExit(f"no '{name}' in the output of {script} ({side}):\n{text}")
                    values.setdefault((side, name), []).append(float(match.group(1)))
        print(f"round {round_ + 1} of {args.rounds} done", flush=True)
    print(f"\nbefore = {args.before}, after = working tree; medians of {args.rounds} rounds\n")
    print("| figure | before | after | after / before | before's spread |")
    print("|---|---:|---:|---:|---:|")
    for _, name, _ in FIGURES:
        b, a = values[("before", name)], values[("after", name)]
        spread = (max(b) - min(b)) / statistics.median(b)
        print(
            f"| {name} | {statistics.median(b):.3f} | {statistics.median(a):.3f} | "
            f"{statistics.median(a) / statistics.median(b):.2f} | ±{spread / 2:.0%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
