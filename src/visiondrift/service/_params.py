"""Path parameters the routes share: dataset names and ids, validated before any route runs."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Path

__all__ = ["DATASET_PATTERN", "ID_PATTERN", "DatasetName", "Id32"]

#: A dataset's name: a letter or digit, then letters, digits, '.', '_' or '-' (200 at most).
DATASET_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
#: A run, job or baseline id: 32 lowercase hex digits.
ID_PATTERN: Final = r"^[0-9a-f]{32}$"

DatasetName = Annotated[
    str,
    Path(
        pattern=DATASET_PATTERN,
        description="The dataset: a letter or digit, then letters, digits, '.', '_' or '-' "
        "(200 at most).",
        examples=["skin-lesions"],
    ),
]
Id32 = Annotated[str, Path(pattern=ID_PATTERN, description="32 lowercase hex digits.")]
