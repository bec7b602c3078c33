"""The docs stay true: the CLI reference matches --help, and README names every option."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click

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
    commands = list(cli.commands.items())
    for name, command in list(commands):
        if isinstance(command, click.Group):  # 'config show', 'history list', ...
            commands += [(f"{name} {sub}", c) for sub, c in command.commands.items()]
    for name, command in commands:
        assert f"## `visiondrift {name}`" in reference
        section = reference.split(f"## `visiondrift {name}`", 1)[1].split("\n## ", 1)[0]
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert re.search(re.escape(opt) + r"\b", section), (name, opt)


def test_readme_shows_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme
    assert "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_the_declared_licence_ships_with_the_code() -> None:
    """pyproject declares Apache-2.0; the repository carries that licence's text."""
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["license"] == "Apache-2.0"
    assert meta["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text


def test_no_extra_pulls_in_a_deep_learning_framework() -> None:
    """The extras list no package that brings TensorFlow or PyTorch (animal-mnist declares
    TensorFlow, so the Makefile installs it with --no-deps instead of listing it)."""
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    heavy = ("tensorflow", "torch", "jax", "animal-mnist", "keras")
    listed = list(meta["dependencies"])
    for packages in meta["optional-dependencies"].values():
        listed += packages
    for requirement in listed:
        name = re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower()
        assert name not in heavy, requirement
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--no-deps 'animal-mnist" in makefile
