"""Profiles: everything visiondrift keeps about a set of images, and nothing of the images.

The package owns the saved, mergeable view and the one builder that ingests:

- :mod:`._profile`: :class:`Profile`, the immutable view (merge, zero, save / load);
- :mod:`.config`: :class:`ProfileConfig`, the settings a profile is built with;
- :mod:`.sketches`, :mod:`.model_summary`, :mod:`.provenance`: the mergeable parts (moments,
  counts, reservoir; what the model said; dataset, time window and sources);
- :mod:`._checks`: the consistency checks of a loaded profile;
- :mod:`.builder`: :class:`ProfileBuilder`, which sees images and prediction records;
- :mod:`.predictions`: the reader of predictions files (CSV / JSON Lines / Parquet) that feeds
  the builder;
- :mod:`.schema`: the JSON Schema of the saved document (imports pydantic; not imported here).

The view modules may import numpy, :mod:`visiondrift.errors` and other plain modules only (the
decoding records, the measurement and model settings, the source record); reading and comparing
profiles never imports Pillow, a decoder, a model runtime or matplotlib. The builder imports the
(Pillow-using) measurer only when it is handed an image. Nothing here imports the drift, report,
CLI or application layers.
"""

from __future__ import annotations

from visiondrift.profiles._profile import (
    PROFILE_FORMAT,
    PROFILE_FORMAT_VERSION,
    SUPPORTED_PROFILE_VERSIONS,
    ChannelStats,
    Profile,
)
from visiondrift.profiles.builder import Prediction, ProfileBuilder
from visiondrift.profiles.config import ProfileConfig
from visiondrift.profiles.provenance import MAX_LISTED_SOURCES, Window

__all__ = [
    "MAX_LISTED_SOURCES",
    "PROFILE_FORMAT",
    "PROFILE_FORMAT_VERSION",
    "SUPPORTED_PROFILE_VERSIONS",
    "ChannelStats",
    "Prediction",
    "Profile",
    "ProfileBuilder",
    "ProfileConfig",
    "Window",
]
