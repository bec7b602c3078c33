"""Path parameters the routes share: dataset names and ids, validated before any route runs."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Path
from starlette.convertors import Convertor, register_url_convertor

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


class _Hex32(Convertor[str]):
    """``{name:hex32}`` in a route's path: only 32 lowercase hex digits match, so that
    ``/v1/baselines/images`` is never taken for a baseline id (a GET there is a 405)."""

    regex = "[0-9a-f]{32}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("hex32", _Hex32())
