"""The one settings tree: every default of profiling, the model options and drift, in one place.

This module is where visiondrift's defaults are written, once. :data:`DEFAULTS` is the tree built
from them; the configuration objects (``ProfileConfig``, ``MeasureConfig``, ``DecodeLimits``,
``DriftConfig``), the keyword defaults of :func:`visiondrift.profile` and
:func:`visiondrift.compare`, and the command line's option defaults and help texts all read
their defaults from here. Change a default here and nowhere else.

The tree (:class:`Settings`) has one section per part of the pipeline::

    Settings
    ├── profile      ProfileSettings   how a profile is made (reservoir, seed, labels, names...)
    │   ├── measure  MeasureSettings   the per-image measurements
    │   └── decode   DecodeSettings    limits applied before decoding
    ├── model        ModelSettings     the classifier run on every image, and its summaries
    └── drift        DriftSettings     how a comparison decides (alpha, correction, bands...)

The next issues add ``store``, ``alerts`` and ``service`` sections beside these; secrets in them
(webhook URLs, passwords) are ``SecretStr`` fields, which :func:`render_settings` and every
error message mask.

Where values come from (:func:`load_settings`), each one overriding the one before:

1. the defaults written below;
2. a settings file: ``--config FILE`` or the ``VISIONDRIFT_CONFIG`` variable, else
   ``visiondrift.toml`` in the working directory, else the ``[tool.visiondrift]`` table of
   ``pyproject.toml`` there (relative paths in a file are relative to the file's folder);
3. ``VISIONDRIFT_*`` environment variables, one per key, nested keys joined with ``__``
   (``VISIONDRIFT_DRIFT__ALPHA=0.01``, ``VISIONDRIFT_PROFILE__MEASURE__WORK_SIZE=96``);
4. command-line options (``--alpha 0.01``).

An unknown key or a bad value is a :class:`~visiondrift.errors.ConfigError` naming where it was
read (file, variable or option), the key, what is allowed and what was given. Building a
:class:`Settings` in code (``Settings()``) reads neither files nor the environment: only
:func:`load_settings` does.

May import: the standard library, pydantic, pydantic-settings and :mod:`visiondrift.errors`
only, so that every other module can read its defaults from here without a cycle.
"""

from __future__ import annotations

import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretBytes,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from visiondrift.errors import ConfigError

if TYPE_CHECKING:
    from visiondrift.drift._config import DriftConfig

__all__ = [
    "CONFIG_ENV",
    "DEFAULTS",
    "ENV_PREFIX",
    "FILE_NAME",
    "MASK",
    "DecodeSettings",
    "DriftSettings",
    "LoadedSettings",
    "MeasureSettings",
    "ModelSettings",
    "Origin",
    "ProfileSettings",
    "Settings",
    "find_settings_file",
    "load_settings",
    "render_settings",
    "setting_default",
    "setting_description",
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
#: What is shown instead of a secret's value.
MASK: Final = "**********"

LabelMode = Literal["auto", "imagefolder", "none"]
NamePolicy = Literal["keep", "hash", "drop"]
Correction = Literal["holm", "bh", "bonferroni"]
FailOn = Literal["low", "medium", "high", "never"]
Scaling = Literal["auto", "raw", "0-1", "-1-1", "imagenet"]


class _Section(BaseModel):
    """A section of the tree: unknown keys are errors, values are validated and frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class MeasureSettings(_Section):
    """Settings of the per-image measurements; profiles built with different ones don't mix."""

    work_size: int = Field(
        128,
        ge=8,
        le=4096,
        description="Target shorter side, in pixels, of the grey working copy on which "
        "sharpness and noise are measured.",
    )
    colour_size: int = Field(
        32,
        ge=4,
        le=4096,
        description="Samples along the shorter side of the pixel grid on which saturation and "
        "colourfulness are measured.",
    )
    noise_size: int = Field(
        64,
        ge=8,
        le=4096,
        description="Side of the central crop, at native resolution, on which noise is estimated.",
    )
    clip_dark: int = Field(
        5,
        ge=0,
        le=255,
        description="Luminance at or below which a pixel counts as crushed to black (0-255).",
    )
    clip_bright: int = Field(
        250,
        ge=0,
        le=255,
        description="Luminance at or above which a pixel counts as blown to white (0-255).",
    )

    @model_validator(mode="after")
    def _dark_below_bright(self) -> MeasureSettings:
        if self.clip_dark >= self.clip_bright:
            raise ValueError(
                "clip_dark must be smaller than clip_bright; got "
                f"clip_dark={self.clip_dark}, clip_bright={self.clip_bright}"
            )
        return self


class DecodeSettings(_Section):
    """Limits applied before an image is decoded."""

    max_pixels: int = Field(
        89_478_485,
        ge=1,
        description="Reject images with more pixels (decompression-bomb guard; the default is "
        "Pillow's own limit).",
    )
    min_side: int = Field(8, ge=1, description="Reject images whose shorter side is smaller.")


class ProfileSettings(_Section):
    """How a profile is made. Profiles merge only when their settings match."""

    reservoir_size: int = Field(
        10_000, ge=10, description="Per-image records kept for the statistical tests."
    )
    seed: int = Field(
        0,
        ge=-(2**63),
        lt=2**63,
        description="Seed of the sampling, the reservoir and the resampling tests.",
    )
    max_listed_bad_files: int = Field(
        1_000, ge=0, description="Most unusable files listed by name (all are counted)."
    )
    labels: LabelMode = Field(
        "auto", description="Read labels from sub-folder names (ImageFolder layout)."
    )
    names: NamePolicy = Field(
        "keep",
        description="What profiles and reports record of file names: keep them, hash them "
        "(keyed HMAC-SHA256, needs a key; the same file keeps its hash across runs) or drop "
        "them (positions only). Locations are then redacted unless --names-root is given.",
    )
    workers: int | None = Field(
        None, ge=1, description="Worker processes (default: the number of CPU cores)."
    )
    max_images: int | None = Field(
        None, ge=1, description="Profile at most N images, sampled reproducibly with --seed."
    )
    measure: MeasureSettings = Field(default_factory=MeasureSettings)
    decode: DecodeSettings = Field(default_factory=DecodeSettings)


class ModelSettings(_Section):
    """The classifier run on every image (none by default) and how its outputs are summarised."""

    path: Path | None = Field(
        None,
        description="ONNX or TFLite classifier to run on every image (predictions, confidence, "
        "class mix and output drift). See 'visiondrift inspect-model MODEL'.",
    )
    config: Path | None = Field(
        None,
        description="JSON or TOML file of model options (path, preprocessing, output, "
        "labels_file, embedding); the options below override it.",
    )
    size: str | None = Field(
        None,
        pattern=r"^\s*\d+\s*([xX]\s*\d+\s*)?$",
        description="Resize images to HEIGHTxWIDTH (e.g. 224x224) for the model; default: read "
        "from the model.",
    )
    output: str | None = Field(
        None,
        description="Name of the output holding class scores (models with several outputs).",
    )
    labels_file: Path | None = Field(
        None,
        description="File of class names in output order, one per line or a JSON list (not to "
        "be confused with --labels, which reads labels from folder names).",
    )
    embedding: str | None = Field(
        None,
        description="Tensor to keep as an embedding (randomly projected to at most "
        "model.embedding_components dimensions).",
    )
    scaling: Scaling | None = Field(
        None,
        description="Pixel value scaling the model was trained with [default: auto].",
    )
    low_confidence: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Top-1 probability below which a prediction counts as low-confidence.",
    )
    embedding_components: int = Field(
        64,
        ge=1,
        description="Most dimensions kept of the model's embedding (seeded random projection).",
    )


class DriftSettings(_Section):
    """How a comparison decides: significance, correction, severity bands, exit status."""

    alpha: float = Field(
        0.05, gt=0.0, lt=1.0, description="Family-wise false-alarm rate of the whole comparison."
    )
    correction: Correction = Field("holm", description="Multiple-testing correction.")
    fail_on: FailOn = Field(
        "low", description="Exit with code 1 when drift of this severity or higher is found."
    )
    power: float = Field(
        0.8,
        gt=0.0,
        lt=1.0,
        description="Power used to estimate the sample size that would settle an inconclusive "
        "large effect.",
    )
    permutations: int = Field(
        2000, ge=99, description="Resamples of the Monte-Carlo null of the categorical tests."
    )
    n_atypical: int = Field(
        12,
        ge=0,
        description="How many of the current images most responsible for the drift the report "
        "lists.",
    )
    seed: int = Field(
        0, description="Seed of every resampling, so that a comparison is reproducible."
    )
    bands: dict[str, tuple[float, float, float]] = Field(
        default_factory=dict,
        description="Severity bands (low, medium, high) per metric family, overriding the "
        "built-in bands family by family, e.g. {pixel_mean = [0.02, 0.04, 0.08]}.",
    )
    class_cost: tuple[tuple[float, ...], ...] | None = Field(
        None,
        description="Square matrix of the cost of mistaking one class for another, in the order "
        "of the model's class names (zero diagonal).",
    )

    def to_config(self) -> DriftConfig:
        """These settings as the :class:`~visiondrift.drift.DriftConfig` of ``compare``."""
        from visiondrift.drift._config import DriftConfig

        return DriftConfig(
            alpha=self.alpha,
            correction=self.correction,
            bands=dict(self.bands),
            power=self.power,
            permutations=self.permutations,
            n_atypical=self.n_atypical,
            seed=self.seed,
            class_cost=self.class_cost,
        )

    @field_validator("bands")
    @classmethod
    def _known_families(
        cls, bands: dict[str, tuple[float, float, float]]
    ) -> dict[str, tuple[float, float, float]]:
        if not bands:
            return bands
        from visiondrift.drift._config import DEFAULT_BANDS  # the metric families (lazy: cycle)

        for family, values in bands.items():
            if family not in DEFAULT_BANDS:
                raise ValueError(
                    f"unknown metric family {family!r}; expected one of {sorted(DEFAULT_BANDS)}"
                )
            if not 0 <= values[0] <= values[1] <= values[2]:
                raise ValueError(
                    f"the bands of {family!r} must be three increasing non-negative numbers "
                    f"(low, medium, high); got {list(values)}"
                )
        return bands


class Settings(BaseSettings):
    """The whole settings tree; ``Settings()`` is the defaults (it reads no file, no variable).

    Read the effective settings of a run with :func:`load_settings`.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        case_sensitive=False,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    profile: ProfileSettings = Field(default_factory=ProfileSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given in code: files and variables are read by load_settings."""
        return (init_settings,)


#: The defaults, built once. Every default of visiondrift is read from this tree.
DEFAULTS: Final = Settings()


# --- keys of a tree ---------------------------------------------------------------------------


def _section_type(annotation: Any) -> type[BaseModel] | None:
    """The model class of a sub-section field, or ``None`` for a value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_secret(annotation: Any) -> bool:
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


def settings_keys(model: type[BaseModel] = Settings, prefix: str = "") -> list[str]:
    """Every leaf key of a settings tree as a dotted name (``"drift.alpha"``), in tree order."""
    keys: list[str] = []
    for name, info in model.model_fields.items():
        sub = _section_type(info.annotation)
        if sub is not None:
            keys.extend(settings_keys(sub, f"{prefix}{name}."))
        else:
            keys.append(prefix + name)
    return keys


def _field_info(key: str, model: type[BaseModel] = Settings) -> Any:
    parts = key.split(".")
    current: type[BaseModel] = model
    for part in parts[:-1]:
        sub = _section_type(current.model_fields[part].annotation)
        assert sub is not None, key
        current = sub
    return current.model_fields[parts[-1]]


def setting_default(key: str) -> Any:
    """The default of a dotted key of :class:`Settings` (``setting_default("drift.alpha")``)."""
    value: Any = DEFAULTS
    for part in key.split("."):
        value = getattr(value, part)
    return value


def setting_description(key: str) -> str:
    """The documented meaning of a dotted key of :class:`Settings`."""
    return str(_field_info(key).description or "")


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
            secret = current is None and _is_secret(_field_info(key, model).annotation)
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
    model: type[BaseModel] = Settings,
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
        The tree to fill (:class:`Settings`; tests pass their own).

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


def _shown(value: Any) -> Any:
    """A value as shown: secrets masked, paths as text, tuples as lists."""
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, Path):
        return str(value)
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
