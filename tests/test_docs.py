"""The docs stay true: the CLI reference matches --help, and README names every option."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from visiondrift.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_generated_from_help() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_reference.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_option_is_documented_in_the_reference() -> None:
    reference = (ROOT / "docs" / "cli-reference.md").read_text(encoding="utf-8")
    for name, command in cli.commands.items():
        assert f"## `visiondrift {name}`" in reference
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert re.search(re.escape(opt) + r"\b", reference), (name, opt)


def test_readme_shows_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme
    assert "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
