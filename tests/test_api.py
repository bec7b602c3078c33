"""The public API: __all__ is complete, the original names work as a thin layer."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import visiondrift
from visiondrift import DatasetAnalyzer, DriftDetector, InputDistributionMonitor


def test_all_is_complete_and_importable() -> None:
    for name in visiondrift.__all__:
        assert getattr(visiondrift, name) is not None, name
    public = {n for n in dir(visiondrift) if not n.startswith("_")}
    assert public <= set(visiondrift.__all__) | {"annotations", "importlib"}
    assert isinstance(visiondrift.profile, types.FunctionType)


def test_importing_the_cli_is_light() -> None:
    code = "import sys, visiondrift.cli; print('numpy' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False False"


# --- what each start-up path imports (issue 9, item 8: fast answers) ------------------------

#: Printed at exit by the probe, so that commands ending in sys.exit report too.
_PRINT_MODULES_AT_EXIT = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('MODULES', *sorted(sys.modules), file=sys.stderr))\n"
)


def loaded_packages(code: str, env: dict[str, str] | None = None) -> set[str]:
    """Every module (dotted names and their top-level packages) loaded by ``code``, fresh."""
    done = subprocess.run(
        [sys.executable, "-c", _PRINT_MODULES_AT_EXIT + code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("MODULES ")]
    assert lines, done.stderr
    modules = set(lines[-1].split()[1:])
    return modules | {name.split(".")[0] for name in modules}


def test_help_imports_nothing_heavy() -> None:
    loaded = loaded_packages("from visiondrift.cli import main\nmain(['--help'])")
    heavy = {"numpy", "scipy", "sklearn", "matplotlib", "PIL", "jinja2", "pydantic", "rich"}
    assert "visiondrift.cli" in loaded
    assert not heavy & loaded


def test_reading_a_report_needs_no_statistics_nor_drawing(
    photo_dir: Path, same_dir: Path, tmp_path: Path
) -> None:
    report = visiondrift.compare(
        visiondrift.profile(photo_dir, max_images=60), visiondrift.profile(same_dir)
    )
    path = report.save(tmp_path / "report.json")
    loaded = loaded_packages(
        "from visiondrift.drift import DriftReport\n"
        "from visiondrift.report import render_markdown\n"
        f"report = DriftReport.load({str(path)!r})\n"
        "assert render_markdown(report)\n"
    )
    assert {"visiondrift.drift._model", "visiondrift.report.markdown"} <= loaded
    for heavy in ("scipy", "sklearn", "matplotlib", "PIL", "jinja2", "visiondrift.drift._engine"):
        assert heavy not in loaded, heavy


def test_monitor_without_html_loads_no_drawing_code(
    photo_dir: Path, same_dir: Path, tmp_path: Path
) -> None:
    base = visiondrift.profile(photo_dir, max_images=60).save(tmp_path / "base.json")
    args = ["monitor", str(same_dir), "--baseline", str(base), "-o", str(tmp_path / "r.json")]
    loaded = loaded_packages(f"from visiondrift.cli import main\nmain({[*args, '-q']!r})")
    assert (tmp_path / "r.json").is_file()
    assert {"scipy.stats", "visiondrift.drift._engine"} <= loaded  # it did compare
    for heavy in ("matplotlib", "jinja2", "visiondrift.report.html", "pandas"):
        assert heavy not in loaded, heavy


def _blas_env(**chosen: str) -> dict[str, str]:
    from visiondrift.cli._startup import BLAS_THREAD_VARIABLES

    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARIABLES}
    return {**env, **chosen}


_SHOW_BLAS = (
    "import atexit, os, sys\n"
    "def show():\n"
    "    import numpy, threadpoolctl\n"
    "    blas = [i['num_threads'] for i in threadpoolctl.threadpool_info()\n"
    "            if i['user_api'] == 'blas']\n"
    "    print('BLAS', os.environ.get('OPENBLAS_NUM_THREADS'), *blas, file=sys.stderr)\n"
    "atexit.register(show)\n"
    "from visiondrift.cli import main\n"
    "main(['--version'])\n"
)


def blas_threads(env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _SHOW_BLAS], capture_output=True, text=True, env=env, check=False
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("BLAS ")]
    assert lines, done.stderr
    return lines[-1].split()[1:]


def test_the_command_runs_blas_single_threaded_unless_told_otherwise() -> None:
    pytest.importorskip("threadpoolctl")
    from visiondrift.cli._startup import BLAS_THREADS, limit_blas_threads

    variable, *threads = blas_threads(_blas_env())
    assert variable == str(BLAS_THREADS)
    assert threads
    assert set(threads) == {str(BLAS_THREADS)}
    # A user's choice wins, through any of the usual variables.
    assert blas_threads(_blas_env(OMP_NUM_THREADS="2"))[0] == "None"
    env: dict[str, str] = {"MKL_NUM_THREADS": "3"}
    assert limit_blas_threads(env) is False
    assert env == {"MKL_NUM_THREADS": "3"}
    env = {}
    assert limit_blas_threads(env) is True
    assert env["OPENBLAS_NUM_THREADS"] == str(BLAS_THREADS)


def test_original_names(photo_dir: Path, changed_dir: Path, tmp_path: Path) -> None:
    analyzer = DatasetAnalyzer(photo_dir, max_images=60)
    baseline = analyzer.analyze()
    assert baseline["format"] == "visiondrift.profile"
    report = DatasetAnalyzer(changed_dir).detect_drift(baseline)
    assert report["overall_drift_detected"] is True
    assert report["severity"] == "high"
    assert report["pixel_drift"]["detected"] is True
    assert report["alerts"]
    stats = InputDistributionMonitor(photo_dir, max_images=30).analyze()
    assert stats["num_images"] == 30
    assert 0 < stats["pixel_stats"]["l"]["mean"] < 1
    detector = DriftDetector(alpha=0.01)
    again = detector.detect(baseline, visiondrift.profile(changed_dir))
    assert again["overall_drift_detected"] is True
    path = visiondrift.Profile.from_dict(baseline).save(tmp_path / "b.json")
    assert (
        DatasetAnalyzer(photo_dir, max_images=60).detect_drift(str(path))["overall_drift_detected"]
        is False
    )


def test_model_path_must_exist(photo_dir: Path) -> None:
    with pytest.raises(visiondrift.ModelError, match="does not exist"):
        DatasetAnalyzer(photo_dir, model_path="missing_model.onnx").analyze()


def test_the_command_skips_the_final_collection_at_exit() -> None:
    def frozen_at_exit(code: str) -> int:
        probe = (
            "import atexit, gc, sys\n"
            "atexit.register(lambda: print('FROZEN', gc.get_freeze_count(), file=sys.stderr))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe + code], capture_output=True, text=True, check=False
        )
        lines = [line for line in done.stderr.splitlines() if line.startswith("FROZEN ")]
        assert lines, done.stderr
        return int(lines[-1].split()[1])

    assert frozen_at_exit("import visiondrift.cli") == 0
    # The command's own exit handler ran first (handlers run last-registered first).
    assert frozen_at_exit("from visiondrift.cli import main\nmain(['--version'])") > 0
