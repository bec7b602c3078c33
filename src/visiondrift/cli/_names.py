"""The command line's options for what profiles and reports record of file names."""

from __future__ import annotations

import os
from typing import Any

import click

from visiondrift.cli._settings import setting_option
from visiondrift.names import DEFAULT_KEY_ENV


def _names_options(func: Any) -> Any:
    options = [
        setting_option(
            "--names",
            type=click.Choice(["keep", "hash", "drop"]),
            setting="profile.names",
            tree_default=False,
            show_default=False,
            help_suffix="[default: {default}; monitor: the baseline's]",
        ),
        click.option(
            "--names-key-env",
            default=None,
            metavar="VAR",
            help="Environment variable holding the key of --names hash "
            f"[default: {DEFAULT_KEY_ENV}]. The key is never printed or stored.",
        ),
        click.option(
            "--names-key-file",
            type=click.Path(dir_okay=False),
            default=None,
            help="File holding the key of --names hash (instead of an environment variable).",
        ),
        click.option(
            "--names-root",
            type=click.Path(file_okay=False),
            default=None,
            help="Record data locations relative to this folder (else as given with --names "
            "keep, '<redacted>' otherwise).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _names_key(key_env: str | None, key_file: str | None, *, required: bool) -> Any:
    """The key named by --names-key-env / --names-key-file (or the default variable)."""
    from visiondrift.names import NamesKey

    if key_file is not None:
        return NamesKey.from_file(key_file)
    if key_env is not None or required:
        return NamesKey.from_env(key_env or DEFAULT_KEY_ENV)
    if os.environ.get(DEFAULT_KEY_ENV):
        return NamesKey.from_env(DEFAULT_KEY_ENV)
    return None


def _names_settings(options: dict[str, Any], default: str = "keep") -> dict[str, Any]:
    """Pop the names options; the ``names``, ``names_key``, ``names_root`` of profile()."""
    names = options.pop("names") or default
    key_env, key_file = options.pop("names_key_env"), options.pop("names_key_file")
    key = _names_key(key_env, key_file, required=True) if names == "hash" else None
    return {"names": names, "names_key": key, "names_root": options.pop("names_root")}
