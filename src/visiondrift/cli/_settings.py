"""The command line on the settings tree: options derived from it, the file and environment
read into it, and the ``config`` command group.

Every option that sets a key of :class:`visiondrift.settings.Settings` is a
:class:`SettingOption`: its default and help text are read from the tree (lazily, so that
``visiondrift --help`` imports no pydantic). ``--config FILE`` (on the group or a command) reads
the settings file and the ``VISIONDRIFT_*`` variables once; their values become the commands'
option defaults (click's ``default_map``), so an option given on the command line wins, then the
environment, then the file, then the defaults.

May import: click and (lazily, when a command runs) :mod:`visiondrift.settings` and
:mod:`visiondrift.cli._support`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import click
from click.core import ParameterSource

from visiondrift.errors import VisionDriftError

__all__ = [
    "OPTION_KEYS",
    "SettingOption",
    "cli_settings",
    "config_option",
    "drift_config",
    "given_settings",
    "plain_default",
    "profile_size_options",
    "setting_option",
]

#: Click parameter name -> dotted key of the settings tree, for every option that sets one.
OPTION_KEYS: Final[dict[str, str]] = {
    "workers": "profile.workers",
    "max_images": "profile.max_images",
    "seed": "profile.seed",
    "labels": "profile.labels",
    "names": "profile.names",
    "reservoir_size": "profile.reservoir_size",
    "max_pixels": "profile.decode.max_pixels",
    "min_side": "profile.decode.min_side",
    "max_listed_bad_files": "profile.max_listed_bad_files",
    "work_size": "profile.measure.work_size",
    "colour_size": "profile.measure.colour_size",
    "noise_size": "profile.measure.noise_size",
    "clip_dark": "profile.measure.clip_dark",
    "clip_bright": "profile.measure.clip_bright",
    "model_path": "model.path",
    "model_config": "model.config",
    "model_size": "model.size",
    "model_output": "model.output",
    "labels_file": "model.labels_file",
    "embedding": "model.embedding",
    "scaling": "model.scaling",
    "low_confidence": "model.low_confidence",
    "alpha": "drift.alpha",
    "correction": "drift.correction",
    "fail_on": "drift.fail_on",
    "store_url": "store.url",
    "inbox": "watch.inbox",
    "cron": "watch.cron",
    "source": "watch.source",
    "timezone": "watch.timezone",
    "settle": "watch.settle",
    "marker": "watch.marker",
    "poll": "watch.poll",
    "host": "service.host",
    "port": "service.port",
    "server_workers": "service.workers",
    "pool_workers": "service.pool_workers",
    "service_data_dir": "service.data_dir",
}
#: The commands whose options take their defaults from the settings file and environment.
SETTINGS_COMMANDS: Final = ("baseline", "monitor", "compare", "watch", "serve")
#: Where the loaded settings are kept in the click context (shared by sub-contexts).
_META_KEY: Final = "visiondrift.settings"


class SettingOption(click.Option):
    """A click option whose default and help come from a key of the settings tree.

    Parameters
    ----------
    param_decls
        As for :class:`click.Option`.
    setting
        The dotted key (``"drift.alpha"``).
    tree_default
        Show and use the tree's default; ``False`` keeps ``default`` (e.g. ``None`` when the
        command then takes the baseline's value).
    help_suffix
        Text added after the key's description (e.g. ``"[default: keep; monitor: the
        baseline's]"``).
    """

    def __init__(
        self,
        param_decls: list[str],
        *,
        setting: str,
        tree_default: bool = True,
        help_suffix: str = "",
        **attrs: Any,
    ) -> None:
        super().__init__(param_decls, **attrs)
        self.setting = setting
        self.tree_default = tree_default
        self.help_suffix = help_suffix

    def get_default(self, ctx: click.Context, call: bool = True) -> Any:
        if self.tree_default and not ctx._default_map_has(self.name):
            return _click_value(plain_default(self.setting))
        return super().get_default(ctx, call=call)

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        if not self.help:
            from visiondrift.settings import setting_default, setting_description

            suffix = self.help_suffix.format(default=setting_default(self.setting))
            self.help = " ".join(p for p in (setting_description(self.setting), suffix) if p)
        return super().get_help_record(ctx)


def plain_default(key: str) -> Any:
    """The default of a dotted key, from the generated plain copy of the tree (no pydantic)."""
    from visiondrift._defaults import DEFAULTS

    value: Any = DEFAULTS
    for part in key.split("."):
        value = getattr(value, part)
    return value


def setting_option(*param_decls: str, setting: str, **attrs: Any) -> Callable[[Any], Any]:
    """``click.option`` for a key of the settings tree (see :class:`SettingOption`)."""
    attrs.setdefault("show_default", True)
    return click.option(*param_decls, cls=SettingOption, setting=setting, **attrs)


def profile_size_options(func: Any) -> Any:
    """The options of ``[profile]``, ``[profile.decode]`` and ``[profile.measure]`` that only a
    freshly profiled reference takes (a monitor run takes the baseline's)."""
    for decls, key, kind in reversed(
        (
            ("--reservoir-size", "profile.reservoir_size", click.IntRange(min=10)),
            ("--max-listed-bad-files", "profile.max_listed_bad_files", click.IntRange(min=0)),
            ("--max-pixels", "profile.decode.max_pixels", click.IntRange(min=1)),
            ("--min-side", "profile.decode.min_side", click.IntRange(min=1)),
            ("--work-size", "profile.measure.work_size", click.IntRange(8, 4096)),
            ("--colour-size", "profile.measure.colour_size", click.IntRange(4, 4096)),
            ("--noise-size", "profile.measure.noise_size", click.IntRange(8, 4096)),
            ("--clip-dark", "profile.measure.clip_dark", click.IntRange(0, 255)),
            ("--clip-bright", "profile.measure.clip_bright", click.IntRange(0, 255)),
        )
    ):
        func = setting_option(decls, setting=key, type=kind)(func)
    return func


def _click_value(value: Any) -> Any:
    """A tree value as a click option takes it (paths as text)."""
    return str(value) if isinstance(value, Path) else value


def _load_config(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Read the settings file and the environment; make them the commands' option defaults."""
    if value is None and _META_KEY in ctx.meta:
        return  # already read by the group
    from visiondrift._settings_load import has_settings_sources
    from visiondrift.cli._support import InputError

    try:
        if not has_settings_sources(value):
            return  # the defaults only: the options have them (and pydantic is not imported)
        from visiondrift.settings import load_settings

        loaded = load_settings(value)
    except VisionDriftError as err:
        raise InputError(str(err)) from err
    ctx.meta[_META_KEY] = loaded
    params = {key: name for name, key in OPTION_KEYS.items()}
    defaults = {
        params[key]: _click_value(val) for key, val in loaded.overridden().items() if key in params
    }
    if isinstance(ctx.command, click.Group):
        ctx.default_map = {name: dict(defaults) for name in SETTINGS_COMMANDS}
    else:
        ctx.default_map = defaults


def config_option(func: Any) -> Any:
    """The ``--config FILE`` option (of the group and of each command)."""
    return click.option(
        "--config",
        type=click.Path(dir_okay=False),
        default=None,
        is_eager=True,
        expose_value=False,
        callback=_load_config,
        help="Settings file (TOML) [default: $VISIONDRIFT_CONFIG, else ./visiondrift.toml, else "
        "[tool.visiondrift] of ./pyproject.toml]. Precedence: command line > VISIONDRIFT_* "
        "environment variables > file > defaults; see docs/configuration.md.",
    )(func)


def cli_settings(ctx: click.Context | None = None) -> Any:
    """The effective settings of this command: its command-line options over the file and
    environment read by ``--config``, as a :class:`~visiondrift.settings.LoadedSettings`."""
    from visiondrift.cli._support import InputError
    from visiondrift.settings import LoadedSettings, load_settings

    ctx = ctx or click.get_current_context()
    loaded: LoadedSettings | None = ctx.meta.get(_META_KEY)
    file = loaded.file if loaded is not None else None
    try:
        return load_settings(file, cli=given_settings(ctx))
    except VisionDriftError as err:
        raise InputError(str(err)) from err


def drift_config(ctx: click.Context | None = None) -> Any:
    """The :class:`~visiondrift.drift.DriftConfig` of this command's effective ``[drift]``
    settings (options over environment over file over defaults)."""
    return cli_settings(ctx).settings.drift.to_config()


def given_settings(ctx: click.Context) -> dict[str, tuple[Any, str]]:
    """The settings this command's command line gave, as ``load_settings(cli=...)`` takes
    them: ``{key: (value, option)}``."""
    given: dict[str, tuple[Any, str]] = {}
    for param in ctx.command.params:
        if (
            isinstance(param, SettingOption)
            and param.name is not None
            and ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE
            and ctx.params.get(param.name) is not None
        ):
            given[param.setting] = (ctx.params[param.name], _option_name(param))
    return given


def _option_name(param: click.Parameter) -> str:
    longs = [o for o in param.opts if o.startswith("--")]
    return (longs or list(param.opts))[0]
