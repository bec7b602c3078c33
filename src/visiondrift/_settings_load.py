"""Reading the settings tree: the file, the environment, the command line, with the origin
of every value; and showing the result with secrets masked.

The tree itself and its defaults live in :mod:`visiondrift.settings`, which re-exports what is
public here. May import: the standard library and :mod:`visiondrift.errors`; pydantic and
:mod:`visiondrift.settings` only inside functions (settings imports this module, and finding the
settings file must not import pydantic: see :func:`has_settings_sources`).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from visiondrift.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

__all__ = [
    "CONFIG_ENV",
    "ENV_NESTED_DELIMITER",
    "ENV_PREFIX",
    "FILE_NAME",
    "MASK",
    "LoadedSettings",
    "Origin",
    "find_settings_file",
    "has_settings_sources",
    "load_settings",
    "mask_url_password",
    "render_settings",
    "settings_keys",
]

#: Prefix of the environment variables read as settings.
ENV_PREFIX: Final = "VISIONDRIFT_"
#: Separator of nested keys in an environment variable's name.
ENV_NESTED_DELIMITER: Final = "__"
#: The environment variable naming the settings file (like ``--config FILE``).
CONFIG_ENV: Final = "VISIONDRIFT_CONFIG"
#: The settings file looked for in the working directory.
FILE_NAME: Final = "visiondrift.toml"
#: Variables without ``__`` that set a key (short names the documentation uses).
ENV_ALIASES: Final = {"VISIONDRIFT_STORE": "store.url"}
#: What is shown instead of a secret's value.
MASK: Final = "**********"


def _tree(model: type[BaseModel] | None) -> type[BaseModel]:
    if model is not None:
        return model
    from visiondrift.settings import Settings

    return Settings


# --- keys of a tree ---------------------------------------------------------------------------


def _section_type(annotation: Any) -> type[BaseModel] | None:
    """The model class of a sub-section field, or ``None`` for a value."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_secret(annotation: Any) -> bool:
    from pydantic import SecretBytes, SecretStr

    if isinstance(annotation, type) and issubclass(annotation, SecretStr | SecretBytes):
        return True
    args = typing.get_args(annotation)
    return bool(args) and any(_is_secret(a) for a in args)


def _is_path(annotation: Any) -> bool:
    if annotation is Path:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_path(a) for a in typing.get_args(annotation))
    return False


def settings_keys(model: type[BaseModel] | None = None, prefix: str = "") -> list[str]:
    """Every leaf key of a settings tree (default :class:`~visiondrift.settings.Settings`) as a
    dotted name (``"drift.alpha"``), in tree order."""
    keys: list[str] = []
    for name, info in _tree(model).model_fields.items():
        sub = _section_type(info.annotation)
        if sub is not None:
            keys.extend(settings_keys(sub, f"{prefix}{name}."))
        else:
            keys.append(prefix + name)
    return keys


def field_info(key: str, model: type[BaseModel] | None = None) -> Any:
    """The pydantic field of a dotted key."""
    parts = key.split(".")
    current: type[BaseModel] = _tree(model)
    for part in parts[:-1]:
        sub = _section_type(current.model_fields[part].annotation)
        assert sub is not None, key
        current = sub
    return current.model_fields[parts[-1]]


# --- where values come from -------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where a value came from.

    Parameters
    ----------
    kind
        ``"default"``, ``"file"``, ``"env"`` or ``"cli"``.
    name
        The file's path, the environment variable's name or the command-line option.
    """

    kind: Literal["default", "file", "env", "cli"]
    name: str = ""

    def __str__(self) -> str:
        if self.kind == "default":
            return "default"
        if self.kind == "file":
            return self.name
        if self.kind == "env":
            return f"environment variable {self.name}"
        return f"command line {self.name}".rstrip()

    def where(self) -> str:
        """The place, for an error message ("in /x/visiondrift.toml")."""
        if self.kind == "file":
            return f"in {self.name}"
        if self.kind == "env":
            return f"in the environment variable {self.name}"
        if self.kind == "cli":
            return f"in the command-line option {self.name}".rstrip()
        return "in the defaults"


_DEFAULT_ORIGIN: Final = Origin("default")


@dataclass(frozen=True)
class LoadedSettings:
    """The effective settings of a run, with where each value came from.

    Parameters
    ----------
    settings
        The validated tree.
    origins
        Dotted key -> :class:`Origin`, for every leaf key of the tree.
    file
        The settings file that was read, if any.
    """

    settings: Any
    origins: Mapping[str, Origin] = field(default_factory=dict)
    file: Path | None = None

    def origin(self, key: str) -> Origin:
        """Where the value of a dotted key came from."""
        return self.origins.get(key, _DEFAULT_ORIGIN)

    def overridden(self) -> dict[str, Any]:
        """Dotted key -> value for every key not at its default (file, environment, CLI)."""
        out: dict[str, Any] = {}
        for key, origin in self.origins.items():
            if origin.kind != "default":
                value: Any = self.settings
                for part in key.split("."):
                    value = getattr(value, part)
                out[key] = value
        return out


def has_settings_sources(config: str | os.PathLike[str] | None = None) -> bool:
    """Whether a run has anything to read besides the defaults: a settings file or a
    ``VISIONDRIFT_<SECTION>__<KEY>`` variable. Imports no pydantic."""
    if config is not None or find_settings_file(config) is not None:
        return True
    return any(
        (
            name.upper().startswith(ENV_PREFIX)
            and ENV_NESTED_DELIMITER in name.upper()[len(ENV_PREFIX) :]
        )
        or name.upper() in ENV_ALIASES
        for name in os.environ
    )


def find_settings_file(
    config: str | os.PathLike[str] | None = None, *, cwd: str | os.PathLike[str] | None = None
) -> Path | None:
    """The settings file of a run: ``config``, else ``$VISIONDRIFT_CONFIG``, else
    ``visiondrift.toml`` in ``cwd``, else ``pyproject.toml`` there when it has a
    ``[tool.visiondrift]`` table; ``None`` when there is none.

    Raises
    ------
    ConfigError
        When a file named by ``config`` or ``VISIONDRIFT_CONFIG`` does not exist.
    """
    named, how = (config, "--config") if config is not None else (None, "")
    if named is None and os.environ.get(CONFIG_ENV):
        named, how = os.environ[CONFIG_ENV], f"the environment variable {CONFIG_ENV}"
    if named is not None:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(
                f"The settings file '{path}' given by {how} does not exist or is not a file. "
                f"Give the path of a TOML file such as {FILE_NAME}."
            )
        return path.absolute()
    folder = Path(cwd) if cwd is not None else Path.cwd()
    if (folder / FILE_NAME).is_file():
        return (folder / FILE_NAME).absolute()
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        try:
            table = _read_toml(pyproject).get("tool", {}).get("visiondrift")
        except ConfigError:
            return None  # a broken pyproject.toml that may not concern us: not our file
        if table is not None:
            return pyproject.absolute()
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as err:
        raise ConfigError(f"The settings file '{path}' cannot be read: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(
            f"The settings file '{path}' is not valid TOML: {err}. Fix the line it names."
        ) from err


def _file_values(path: Path) -> dict[str, Any]:
    """The settings table of a file: the whole file, or ``[tool.visiondrift]`` of pyproject."""
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("visiondrift", {})
        if not isinstance(table, dict):
            raise ConfigError(f"[tool.visiondrift] in '{path}' must be a table.")
        return table
    return data


def _unknown_key(key: str, model: type[BaseModel], section: str, origin: Origin) -> ConfigError:
    allowed = ", ".join(model.model_fields)
    where = f"[{section}]" if section else "the top level"
    room = " (the store, alerts and service sections come in later releases)" if not section else ""
    return ConfigError(
        f"Unknown setting '{key}' {origin.where()}. The keys allowed at {where} are: "
        f"{allowed}{room}. Check the spelling (see docs/configuration.md)."
    )


def _flatten(
    data: Mapping[str, Any],
    model: type[BaseModel],
    origin: Origin,
    *,
    prefix: str = "",
    base: Path | None = None,
) -> dict[str, tuple[Any, Origin]]:
    """Dotted key -> (value, origin) for every leaf of ``data``; unknown keys are errors."""
    out: dict[str, tuple[Any, Origin]] = {}
    section = prefix.rstrip(".")
    for name, value in data.items():
        key = prefix + str(name)
        info = model.model_fields.get(str(name))
        if info is None:
            raise _unknown_key(key, model, section, origin)
        sub = _section_type(info.annotation)
        if sub is not None:
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"The setting '{key}' {origin.where()} is a section: expected a table of "
                    f"keys ({', '.join(sub.model_fields)}). Got {value!r} instead."
                )
            out |= _flatten(value, sub, origin, prefix=key + ".", base=base)
            continue
        if base is not None and isinstance(value, str) and _is_path(info.annotation):
            path = Path(value).expanduser()
            value = str(path if path.is_absolute() else base / path)
        out[key] = (value, origin)
    return out


def _env_values(model: type[BaseModel]) -> dict[str, tuple[Any, Origin]]:
    """Settings given as ``VISIONDRIFT_SECTION__KEY`` variables; unknown keys are errors.

    Variables without ``__`` (``VISIONDRIFT_CONFIG``, ``VISIONDRIFT_NAMES_KEY``...) are not
    settings and are left alone. Values of lists and tables are read as JSON.
    """
    out: dict[str, tuple[Any, Origin]] = {}
    for var, raw in sorted(os.environ.items()):
        upper = var.upper()
        alias = ENV_ALIASES.get(upper)
        if alias is not None and model is _tree(None):
            out.setdefault(alias, (raw, Origin("env", var)))
            continue
        if not upper.startswith(ENV_PREFIX) or ENV_NESTED_DELIMITER not in upper[len(ENV_PREFIX) :]:
            continue
        parts = upper[len(ENV_PREFIX) :].lower().split(ENV_NESTED_DELIMITER)
        origin = Origin("env", var)
        current = model
        for depth, part in enumerate(parts):
            info = current.model_fields.get(part)
            key = ".".join(parts[: depth + 1])
            if info is None:
                raise _unknown_key(key, current, ".".join(parts[:depth]), origin)
            sub = _section_type(info.annotation)
            last = depth == len(parts) - 1
            if sub is not None and not last:
                current = sub
                continue
            if sub is not None or not last:
                what = "a section: set its keys one by one" if sub else "not a section"
                raise ConfigError(
                    f"The environment variable {var} names '{key}', which is {what} "
                    f"(e.g. {ENV_PREFIX}DRIFT{ENV_NESTED_DELIMITER}ALPHA=0.01)."
                )
            value: Any = raw
            if _is_structured(info.annotation):
                try:
                    value = json.loads(raw)
                except json.JSONDecodeError as err:
                    raise ConfigError(
                        f"The environment variable {var} sets '{key}', which takes a list or "
                        f"table written as JSON. Got {raw!r}, which is not JSON: {err}."
                    ) from err
            out[key] = (value, origin)
    return out


def _is_structured(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (dict, tuple, list):
        return True
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_structured(a) for a in typing.get_args(annotation))
    return False


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return nested


def _validation_error(
    err: ValidationError, model: type[BaseModel], origins: Mapping[str, Origin]
) -> ConfigError:
    lines = []
    for problem in err.errors():
        loc = [str(p) for p in problem["loc"]]
        # Keep the key itself, not pydantic's inner positions (bands.pixel_mean.0...).
        key_parts: list[str] = []
        current: type[BaseModel] | None = model
        for part in loc:
            if current is None or part not in current.model_fields:
                break
            key_parts.append(part)
            current = _section_type(current.model_fields[part].annotation)
        key = ".".join(key_parts) or "(top level)"
        origin = origins.get(key) or next(
            (o for k, o in origins.items() if k.startswith(key + ".") and o.kind != "default"),
            _DEFAULT_ORIGIN,
        )
        try:
            secret = current is None and _is_secret(field_info(key, model).annotation)
        except (KeyError, AssertionError):
            secret = False
        given = MASK if secret else repr(problem.get("input"))
        if problem["type"] == "extra_forbidden":
            lines.append(f"Unknown setting '{'.'.join(loc)}' {origin.where()}.")
            continue
        lines.append(
            f"Invalid setting '{key}' {origin.where()}: {problem['msg']}. Got {given} instead."
        )
    return ConfigError(" ".join(lines) + " See docs/configuration.md for what each key takes.")


def load_settings(
    config: str | os.PathLike[str] | None = None,
    *,
    cli: Mapping[str, tuple[Any, str]] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    environment: bool = True,
    model: type[BaseModel] | None = None,
) -> LoadedSettings:
    """The effective settings: command line > environment > file > defaults.

    Parameters
    ----------
    config
        The settings file (``--config FILE``); default ``$VISIONDRIFT_CONFIG``, else
        ``visiondrift.toml`` or ``pyproject.toml`` (``[tool.visiondrift]``) in ``cwd``.
    cli
        Values given on the command line: dotted key -> (value, option name).
    cwd
        Where to look for the settings file (default: the working directory).
    environment
        Read ``VISIONDRIFT_*`` variables.
    model
        The tree to fill (default :class:`~visiondrift.settings.Settings`; tests pass their
        own).

    Returns
    -------
    LoadedSettings
        The validated tree and the origin of every key.

    Raises
    ------
    ConfigError
        For an unreadable file, an unknown key or a bad value, naming where it was read.

    Examples
    --------
    >>> loaded = load_settings(cli={"drift.alpha": (0.01, "--alpha")}, environment=False,
    ...                        cwd="/nonexistent")
    >>> loaded.settings.drift.alpha, str(loaded.origin("drift.alpha"))
    (0.01, 'command line --alpha')
    >>> str(loaded.origin("drift.correction"))
    'default'
    """
    from pydantic import ValidationError

    model = _tree(model)
    path = find_settings_file(config, cwd=cwd)
    values: dict[str, tuple[Any, Origin]] = {}
    if path is not None:
        values |= _flatten(_file_values(path), model, Origin("file", str(path)), base=path.parent)
    if environment:
        values |= _env_values(model)
    for key, (value, option) in (cli or {}).items():
        values |= _flatten(_nest({key: value}), model, Origin("cli", option))
    origins = {key: origin for key, (_, origin) in values.items()}
    try:
        settings = model(**_nest({k: v for k, (v, _) in values.items()}))
    except ValidationError as err:
        raise _validation_error(err, model, origins) from err
    every = dict.fromkeys(settings_keys(model), _DEFAULT_ORIGIN)
    return LoadedSettings(settings=settings, origins=every | origins, file=path)


# --- showing the effective settings ------------------------------------------------------------


#: ``scheme://user:`` then the password up to ``@``; any text counts as the scheme, so that a
#: URL too damaged to parse is masked too.
_URL_PASSWORD: Final = re.compile(r"^([^@]*?://[^:/@]*:)[^@]*@")


def mask_url_password(text: str, mask: str = MASK) -> str:
    """``text`` with the password of a ``scheme://user:password@host`` URL replaced by ``mask``.

    Examples
    --------
    >>> mask_url_password("postgresql://ml:s3cret@db/x", "***")
    'postgresql://ml:***@db/x'
    >>> mask_url_password("postgres ql://ml:s3cret@db/x", "***")  # damaged, still masked
    'postgres ql://ml:***@db/x'
    >>> mask_url_password("/data/history.sqlite")
    '/data/history.sqlite'
    """
    return _URL_PASSWORD.sub(lambda m: m.group(1) + mask + "@", text)


def _shown(value: Any) -> Any:
    """A value as shown: secrets masked, paths as text, tuples as lists."""
    from pydantic import BaseModel, SecretBytes, SecretStr

    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, BaseModel):  # a section inside a value (an alert channel, a route)
        return {name: _shown(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return mask_url_password(value)  # a password written into a URL
    if isinstance(value, tuple | list):
        return [_shown(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _shown(v) for k, v in value.items()}
    return value


def _toml_value(value: Any) -> str:
    if value is None:
        return "(not set)"
    return json.dumps(_shown(value), ensure_ascii=False)


def render_settings(loaded: LoadedSettings, *, as_json: bool = False) -> str:
    """The effective settings, one key a line with where its value came from; secrets masked.

    Parameters
    ----------
    loaded
        From :func:`load_settings`.
    as_json
        A JSON document ``{"file": ..., "settings": {...}, "origins": {...}}`` instead of text.

    Examples
    --------
    >>> text = render_settings(load_settings(environment=False, cwd="/nonexistent"))
    >>> print(text.splitlines()[3])
    [profile]
    """
    model = type(loaded.settings)
    keys = settings_keys(model)
    values: dict[str, Any] = {}
    for key in keys:
        value: Any = loaded.settings
        for part in key.split("."):
            value = getattr(value, part)
        values[key] = value
    if as_json:
        document = {
            "file": None if loaded.file is None else str(loaded.file),
            "settings": _nest({k: _shown(v) for k, v in values.items()}),
            "origins": {k: str(loaded.origin(k)) for k in keys},
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    lines = [
        "# Effective settings (command line > environment > file > defaults).",
        f"# Settings file: {loaded.file if loaded.file is not None else '(none)'}",
    ]
    section = None
    for key in keys:
        head, _, name = key.rpartition(".")
        if head != section:
            section = head
            lines.extend(["", f"[{head}]"])
        text = f"{name} = {_toml_value(values[key])}"
        lines.append(f"{text:<40} # {loaded.origin(key)}")
    return "\n".join(lines) + "\n"
