"""Turn what a front end was given into a profile: a saved profile, a predictions file, or images.

One function, :func:`open_batch`, so that every front end reads its inputs the same way: a
``.json`` file is a saved profile, a predictions file (CSV / JSON Lines / Parquet with probability
columns) is read by the predictions reader, and anything else is profiled as images.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from visiondrift.errors import ConfigError

if TYPE_CHECKING:
    from visiondrift.profiler import ProgressCallback
    from visiondrift.profiles import Profile, ProfileConfig

__all__ = ["open_batch", "prediction_defaults"]


def _is_saved_profile(source: object) -> bool:
    if not isinstance(source, str | os.PathLike):
        return False
    path = Path(source)
    return path.suffix.lower() == ".json" and path.is_file()


def is_predictions_source(source: object) -> bool:
    """Whether ``source`` is a predictions file (not a saved profile, not images)."""
    if not isinstance(source, str | os.PathLike) or _is_saved_profile(source):
        return False
    from visiondrift.profiles.predictions import is_predictions_file

    return is_predictions_file(source)


def open_batch(
    source: Any,
    *,
    config: ProfileConfig | None = None,
    predictions: bool | None = None,
    class_names: Sequence[str] | None = None,
    activation: Literal["none", "softmax"] | None = None,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> Profile:
    """The profile of ``source``.

    Parameters
    ----------
    source
        A :class:`~visiondrift.profiles.Profile` (returned as is), the path of a saved profile
        (``.json``), a predictions file, a folder or list file of images, or a source object.
    config
        Profile settings to use (a baseline's); ``None`` builds them from ``options``.
    predictions
        Whether ``source`` is a predictions file; ``None`` detects it.
    class_names, activation
        Of a predictions file (see :func:`visiondrift.profile_predictions`).
    progress
        Called as ``progress(done, total)`` while images are profiled.
    **options
        Passed to :func:`visiondrift.profile` or :func:`visiondrift.profile_predictions`.
    """
    from visiondrift.profiles import Profile

    if isinstance(source, Profile):
        return source
    if _is_saved_profile(source):
        return Profile.load(source)
    if predictions is None:
        predictions = is_predictions_source(source)
    if predictions:
        return _read_predictions(
            source, config=config, class_names=class_names, activation=activation, options=options
        )
    if class_names is not None or activation is not None:
        raise ConfigError(
            "The 'class_names' and 'activation' options apply to a predictions file, not to images."
        )
    from visiondrift.profiler import profile

    return profile(source, progress=progress, config=config, **options)


def _read_predictions(
    path: Any,
    *,
    config: ProfileConfig | None,
    class_names: Sequence[str] | None,
    activation: Literal["none", "softmax"] | None,
    options: dict[str, Any],
) -> Profile:
    from visiondrift.profiles.predictions import profile_predictions

    if options.get("max_images") is not None:
        raise ConfigError("The 'max_images' option applies to images, not to a predictions file.")
    if options.get("model") is not None:
        raise ConfigError(
            "A model runs on images; a predictions file already holds its outputs. Drop the "
            "model option."
        )
    kwargs: dict[str, Any] = {
        k: options[k] for k in ("names", "names_key", "names_root") if options.get(k) is not None
    }
    if config is None:
        kwargs |= {
            k: options[k]
            for k in ("reservoir_size", "seed", "low_confidence")
            if options.get(k) is not None
        }
    return profile_predictions(
        path,
        class_names=class_names,
        activation=activation or "none",
        config=config,
        **kwargs,
    )


def prediction_defaults(
    baseline: Profile,
) -> tuple[list[str] | None, Literal["none", "softmax"] | None]:
    """Class names and activation a baseline made from predictions recorded."""
    names = list(baseline.model.class_names) if baseline.model is not None else None
    recorded = baseline.extra.get("predictions") if isinstance(baseline.extra, dict) else None
    activation = recorded.get("activation") if isinstance(recorded, dict) else None
    return names, activation if activation in ("none", "softmax") else None
