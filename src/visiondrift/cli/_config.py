"""``visiondrift config``: the effective settings and where each value came from.

May import: click, :mod:`visiondrift.cli._settings`, :mod:`visiondrift.cli._support` and (when
the command runs) :mod:`visiondrift.settings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from visiondrift.cli._settings import (
    cli_settings,
    config_option,
    profile_size_options,
    setting_option,
)
from visiondrift.cli._support import _decision_options, _model_options, _profile_options

__all__ = ["config_group"]


@click.group(name="config")
def config_group() -> None:
    """Show the settings: defaults, settings file, VISIONDRIFT_* variables, options."""


def _all_setting_options(func: Any) -> Any:
    func = _decision_options(func)
    func = _model_options(func)
    func = setting_option(
        "--names",
        type=click.Choice(["keep", "hash", "drop"]),
        setting="profile.names",
    )(func)
    func = profile_size_options(func)
    return _profile_options(func)


@config_group.command(name="show")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON (settings and origins).")
@_all_setting_options
def config_show(as_json: bool, **_: Mapping[str, Any]) -> None:
    """Print the effective settings and where each value came from: default, the settings
    file's path, an environment variable's name, or a command-line option (the same options
    as 'baseline', 'monitor' and 'compare'). Secrets are masked."""
    from visiondrift.settings import render_settings

    click.echo(render_settings(cli_settings(), as_json=as_json), nl=False)
