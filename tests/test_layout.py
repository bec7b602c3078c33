"""The layout shows the pipeline, and stays true.

Each package's docstring says what it owns and what it may import; the import directions are
contracts for import-linter in ``pyproject.toml`` (``[tool.importlinter]``), run here on the
installed package and on a copy with one upward import, which they must catch.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import visiondrift

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(visiondrift.__file__).resolve().parent
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def test_the_import_contracts_hold() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    proc = _lint()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Contracts: {len(contracts)} kept, 0 broken." in proc.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # drift may not reach up to the report renderer...
        ("drift/_model.py", "import visiondrift.report", "The data path reads top-down"),
        # ...and the saved profile may not import Pillow.
        ("profiles/_profile.py", "import PIL.Image", "plain data"),
    ],
)
def test_a_violation_is_caught(tmp_path: Path, module: str, line: str, broken: str) -> None:
    copy = tmp_path / "visiondrift"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", "utf-8")
    proc = _lint({**os.environ, "PYTHONPATH": str(tmp_path)})
    assert proc.returncode != 0, proc.stdout
    assert broken in proc.stdout.split("Broken contracts", 1)[-1]


def test_every_package_says_what_it_owns_and_may_import() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = " ".join((ast.get_docstring(ast.parse(init.read_text("utf-8"))) or "").split())
        assert "may import" in doc.lower(), f"{init.parent.name}: docstring says nothing of imports"


def test_model_builders_live_outside_the_runtime() -> None:
    """The demo and test-model builders are in the demo package; no runtime module imports it."""
    runtime = [p for p in PACKAGE.rglob("*.py") if "demo" not in p.relative_to(PACKAGE).parts]
    for path in runtime:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                assert not name.startswith("visiondrift.demo"), f"{path} imports {name}"
    assert not list((PACKAGE / "models").glob("*builder*"))
    assert not (PACKAGE / "models" / "demo_model.py").exists()
