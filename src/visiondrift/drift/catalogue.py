"""The metric catalogue: every metric family of a comparison is a producer registered here.

A producer is a function ``producer(baseline, current, config) -> list[Candidate]``: it tests
what it measures between two profiles, always with a detector of :mod:`visiondrift.detectors`,
and returns its metrics before the family-wise correction (an empty list when the profiles do
not hold what it needs). :func:`~visiondrift.drift.compare` runs every registered producer, in
registration order, and puts all their metrics under one family-wise correction, one set of
severity bands and one report.

The built-in families are registered below with the same :func:`register` a user's own metric
uses. A per-image value (for example the share of pure-white pixels in each image) needs no
producer of its own: register it with :func:`visiondrift.measure.custom.register_image_metric`;
it is then measured while profiling, kept in the reservoir and tested here by the
``image_metrics`` producer, like the built-in image properties.

May import numpy, the profiles, the detectors and the other ``drift`` modules; nothing that
decodes images or runs a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from visiondrift.drift._config import DriftConfig
from visiondrift.drift._details import MetricFamily
from visiondrift.drift._input import (
    Candidate,
    category_candidates,
    integrity_candidates,
    property_candidate,
    property_candidates,
)
from visiondrift.drift._multi import domain_candidates, embedding_candidates
from visiondrift.drift._output import (
    accuracy_candidates,
    class_mix_candidates,
    confidence_candidates,
    outputs_candidates,
)
from visiondrift.errors import ConfigError
from visiondrift.measure.custom import image_metric_spec, registered_image_metrics
from visiondrift.profiles import Profile

__all__ = [
    "Candidate",
    "MetricProducer",
    "Producer",
    "candidates",
    "image_metric_candidates",
    "producers",
    "register",
    "unregister",
]

#: ``producer(baseline, current, config)``: the metrics of one family (or a few related ones)
#: between two profiles, before the family-wise correction.
MetricProducer = Callable[[Profile, Profile, DriftConfig], list[Candidate]]


@dataclass(frozen=True)
class Producer:
    """One registered producer: its name, the families its metrics belong to, the function."""

    name: str
    families: tuple[MetricFamily, ...]
    produce: MetricProducer


_CATALOGUE: dict[str, Producer] = {}


def register(
    name: str,
    produce: MetricProducer,
    *,
    families: Sequence[MetricFamily],
    replace: bool = False,
) -> Producer:
    """Add a metric producer to the catalogue.

    Parameters
    ----------
    name
        Unique name of the producer (``"image_properties"``, ``"integrity"``, ...).
    produce
        ``produce(baseline, current, config) -> list[Candidate]``.
    families
        The metric families of the candidates it returns (each has its severity bands in
        :data:`~visiondrift.drift.DEFAULT_BANDS`).
    replace
        Replace a producer registered under the same name instead of refusing.

    Returns
    -------
    The registration.

    Raises
    ------
    ConfigError
        The name is taken (and ``replace`` is false), or a family is unknown.
    """
    from visiondrift.drift._details import METRIC_FAMILIES

    if not name or not isinstance(name, str):
        raise ConfigError(f"A metric producer needs a non-empty name. Got {name!r} instead.")
    if name in _CATALOGUE and not replace:
        raise ConfigError(
            f"A metric producer named {name!r} is already registered; pass replace=True to "
            "replace it, or choose another name."
        )
    unknown = [f for f in families if f not in METRIC_FAMILIES]
    if unknown or not families:
        raise ConfigError(
            f"The families of the metric producer {name!r} must be among {list(METRIC_FAMILIES)}. "
            f"Got {list(families)!r} instead."
        )
    entry = Producer(name, tuple(families), produce)
    _CATALOGUE[name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a producer from the catalogue (a :class:`ConfigError` when none has the name)."""
    if name not in _CATALOGUE:
        raise ConfigError(
            f"No metric producer named {name!r} is registered; registered: {list(_CATALOGUE)}."
        )
    del _CATALOGUE[name]


def producers() -> tuple[Producer, ...]:
    """The registered producers, in the order :func:`candidates` runs them."""
    return tuple(_CATALOGUE.values())


def candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """Every metric of every registered producer, checked against the producer's families."""
    out: list[Candidate] = []
    for entry in _CATALOGUE.values():
        for cand in entry.produce(base, cur, config):
            if cand.family not in entry.families:
                raise ConfigError(
                    f"The metric producer {entry.name!r} returned the metric {cand.name!r} of "
                    f"family {cand.family!r}, which it did not register; registered: "
                    f"{list(entry.families)}."
                )
            out.append(cand)
    return out


def image_metric_candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """The registered per-image metrics that both profiles measured: Kolmogorov-Smirnov on
    their per-image values, effect as for the built-in properties of the same family."""
    out: list[Candidate] = []
    for name in sorted(base.config.image_metrics):
        if name not in cur.config.image_metrics:
            continue
        if name not in base.reservoir.values or name not in cur.reservoir.values:
            continue  # a profile made from a predictions file measured no image
        spec = image_metric_spec(name)
        metric = registered_image_metrics().get(name)
        family: MetricFamily = "property" if metric is None else metric.family
        cand = property_candidate(spec, base, cur, family=family)
        if cand is not None:
            out.append(cand)
    return out


_VALUE_FAMILIES: Final[tuple[MetricFamily, ...]] = (
    "pixel_mean",
    "pixel_std",
    "property",
    "texture",
    "size",
)

# The built-in families, registered like a user's own producer would be.
register("image_properties", property_candidates, families=_VALUE_FAMILIES)
register("image_metrics", image_metric_candidates, families=("property", "texture", "size"))
register("integrity", integrity_candidates, families=("integrity",))
register("category_mixes", category_candidates, families=("categorical",))
register("confidence", confidence_candidates, families=("confidence",))
register("class_mix", class_mix_candidates, families=("class_mix",))
register("outputs", outputs_candidates, families=("outputs",))
register("accuracy", accuracy_candidates, families=("accuracy",))
register("embedding", embedding_candidates, families=("embedding",))
register("domain", domain_candidates, families=("domain", "contamination"))
