"""Write docs/cli-reference.md from the commands' own --help (run after changing an option).

``python scripts/cli_reference.py --check`` exits 1 when the file is out of date (a test runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from _generated import write_or_check
from click.testing import CliRunner

from visiondrift.cli import cli

TARGET = Path(__file__).resolve().parent.parent / "docs" / "cli-reference.md"


def render() -> str:
    runner = CliRunner()
    parts = [
        "# Command-line reference\n",
        "Generated from `--help` by `python scripts/cli_reference.py`; do not edit by hand.\n",
    ]
    commands: list[list[str]] = [[]]
    for name in sorted(cli.commands):
        commands.append([name])
        group = cli.commands[name]
        if isinstance(group, click.Group):  # e.g. 'config show'
            commands.extend([name, sub] for sub in sorted(group.commands))
    for args in commands:
        title = " ".join(["visiondrift", *args])
        result = runner.invoke(cli, [*args, "--help"], prog_name="visiondrift", terminal_width=100)
        if result.exit_code != 0:
            raise SystemExit(f"{title} --help failed: {result.output}")
        parts.append(f"## `{title}`\n\n```text\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


def main() -> int:
    return write_or_check(TARGET, render(), sys.argv[1:], "scripts/cli_reference.py")


if __name__ == "__main__":
    sys.exit(main())
