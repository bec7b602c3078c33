"""Exceptions raised by visiondrift.

The library raises these domain errors; only the command line and the HTTP layer translate them
into exit codes and status codes. Every message names the file or field, says what was expected
and what was found, and gives the fix when there is one.

Hierarchy::

    VisionDriftError
    ├── ConfigError (ValueError)            a parameter or option has an invalid value
    ├── NotFittedError (ValueError, AttributeError)
    │                                       a detector was used before fit()
    ├── SourceError                         the images cannot be listed or none can be read
    │   └── NoReadableImagesError           every image of a source was unusable
    ├── ProfileFormatError                  a profile or report file cannot be loaded
    │   └── UnsupportedVersionError         its format version is not one this release reads
    ├── MeasureError (ValueError)           a registered per-image metric failed on one image
    ├── OutputFileError                     a result file cannot be written
    ├── ModelError                          a model cannot be loaded or run
    │   └── MissingExtraError (ImportError) an optional dependency is not installed
    ├── IncompatibleProfilesError           two profiles cannot be merged or compared
    ├── StoreError                          the history store cannot be opened, read or written
    │   └── RunNotFoundError (KeyError)     no stored run has the id asked for
    └── ServiceError                        the service refused a request or cannot be reached
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "IncompatibleProfilesError",
    "MeasureError",
    "MissingExtraError",
    "ModelError",
    "NoReadableImagesError",
    "NotFittedError",
    "OutputFileError",
    "ProfileFormatError",
    "RunNotFoundError",
    "ServiceError",
    "SourceError",
    "StoreError",
    "UnsupportedVersionError",
    "VisionDriftError",
]


class VisionDriftError(Exception):
    """Base class of every error visiondrift raises on purpose."""


class ConfigError(VisionDriftError, ValueError):
    """A parameter, option or configuration value is invalid."""


class NotFittedError(VisionDriftError, ValueError, AttributeError):
    """A detector's ``test`` was called before ``fit``."""


class SourceError(VisionDriftError):
    """The images of a source cannot be listed (missing folder, unreadable list file...)."""


class NoReadableImagesError(SourceError):
    """No image of a source could be decoded; the run cannot produce a profile."""


class ProfileFormatError(VisionDriftError):
    """A profile or report file is damaged, truncated or not a visiondrift document."""


class UnsupportedVersionError(ProfileFormatError):
    """A document has a format version this release cannot read."""


class MeasureError(VisionDriftError, ValueError):
    """A registered per-image metric failed on one image (that image is counted as unusable)."""


class OutputFileError(VisionDriftError):
    """A profile, report or page cannot be written (missing folder, permissions, disk full)."""


class ModelError(VisionDriftError):
    """A model cannot be loaded, inspected or run on the images."""


class MissingExtraError(ModelError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class IncompatibleProfilesError(VisionDriftError):
    """Two profiles were built with settings that make merging or comparing them meaningless."""


class StoreError(VisionDriftError):
    """The history store cannot be reached, is locked past its timeout, or holds a bad record."""


class RunNotFoundError(StoreError, KeyError):
    """No run in the history store has the id (or id prefix) asked for."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ServiceError(VisionDriftError):
    """The visiondrift service answered a request with an error, or could not be reached.

    Attributes
    ----------
    status
        The HTTP status (``None`` when the service was not reached).
    problem
        The RFC 9457 problem details the service answered with (``{}`` when none).
    """

    def __init__(
        self, message: str, *, status: int | None = None, problem: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.problem = dict(problem or {})
