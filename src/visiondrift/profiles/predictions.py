"""Profiles of predictions made elsewhere: a file of per-image probabilities, no images.

For teams whose model runs outside visiondrift, :func:`profile_predictions` reads a CSV, JSON
Lines or Parquet file with one row per image and feeds each row to the one
:class:`~visiondrift.profiles.ProfileBuilder` (:meth:`~ProfileBuilder.add_prediction`; bad rows
through :meth:`~ProfileBuilder.add_bad`), which builds a :class:`~visiondrift.profiles.Profile`
with the same model summary and per-image model columns as a profile made by running a model on
images (predicted class, confidence, margin, entropy, probability vector), so that
:func:`visiondrift.compare` tests confidence drift, class-mix drift, per-class output drift and,
with labels, accuracy the same way. The profile has no image properties; the input metrics of a
comparison are skipped.

File layout (one row per image):

- the class probabilities, either one column per class, named ``prob_<class>`` (or named by the
  class names when ``class_names`` is given), or one ``probs`` column holding a list (a JSON list
  in JSON Lines and Parquet; in a CSV, ``"[0.1, 0.9]"`` or values separated by spaces, ``;`` or
  ``|``);
- optionally ``label``: the true class (a class name, or a class index);
- optionally ``image_id`` or ``name``: the image's identifier, used in reports.

Rows are validated: the right number of finite values, and with ``activation="none"`` (the
default) non-negative values that sum to 1 within ``tolerance`` (they are then renormalised).
With ``activation="softmax"`` the values are logits and softmax is applied. A bad row is counted
and listed like an unreadable image (reason ``"bad_row"``, with the file, the line or row and the
field in the detail) and the run continues.

Parquet needs ``pyarrow`` (the ``parquet`` extra). This module is a reader: it imports the
standard library, numpy, the plain profile modules and (lazily) pyarrow.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from visiondrift._defaults import DEFAULTS
from visiondrift.decode._records import BadFile
from visiondrift.errors import ConfigError, MissingExtraError, NoReadableImagesError, SourceError
from visiondrift.names import NamePolicy, NamesKey, check_policy, record_location, recorded_names
from visiondrift.profiles._profile import Profile
from visiondrift.profiles.builder import ProfileBuilder
from visiondrift.profiles.config import ProfileConfig
from visiondrift.sources import SourceInfo

__all__ = [
    "BAD_ROW",
    "PREDICTION_EXTENSIONS",
    "Activation",
    "is_predictions_file",
    "profile_predictions",
]

Activation = Literal["none", "softmax"]
#: Reason given to rows that cannot be used (counted and listed like unreadable image files).
BAD_ROW: Final = "bad_row"
#: Extensions read as prediction files, by format.
PREDICTION_EXTENSIONS: Final[Mapping[str, str]] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
LABEL_COLUMN: Final = "label"
ID_COLUMNS: Final = ("image_id", "name")
LIST_COLUMN: Final = "probs"
PREFIX: Final = "prob_"
_LOGITS_HINT: Final = "; for logits use activation='softmax' (--activation softmax)"
_SPLIT = re.compile(r"[\s;|,]+")


class _BadRow(Exception):
    """A row that cannot be used: the field at fault and what is wrong with it."""

    def __init__(self, field: str | None, what: str) -> None:
        super().__init__(what)
        self.field = field
        self.what = what


@dataclass(frozen=True)
class _Layout:
    """Where the probabilities of a row are: one list column, or one column per class."""

    fields: tuple[str, ...]
    is_list: bool
    class_names: tuple[str, ...] | None


def is_predictions_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a file to read as predictions rather than a folder or image list.

    ``.jsonl``, ``.ndjson``, ``.parquet`` and ``.pq`` files always are; a ``.csv`` file is when
    its header has a ``probs`` column or ``prob_<class>`` columns (otherwise it is a list of image
    paths, as before).
    """
    p = Path(path)
    kind = PREDICTION_EXTENSIONS.get(p.suffix.lower())
    if kind is None or not p.is_file():
        return False
    if kind != "csv":
        return True
    try:
        with p.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    names = [h.strip() for h in header]
    return LIST_COLUMN in names or any(h.startswith(PREFIX) for h in names)


def _layout(columns: Sequence[str], class_names: Sequence[str] | None, origin: str) -> _Layout:
    names = None if class_names is None else tuple(str(c) for c in class_names)
    if LIST_COLUMN in columns:
        return _Layout((LIST_COLUMN,), True, names)
    if names is not None:
        fields = []
        for name in names:
            if f"{PREFIX}{name}" in columns:
                fields.append(f"{PREFIX}{name}")
            elif name in columns:
                fields.append(name)
            else:
                raise ConfigError(
                    f"'{origin}' has no column for class {name!r}: expected '{PREFIX}{name}' or "
                    f"'{name}' among its columns {list(columns)}. Check the class names, or "
                    f"put the probabilities in one '{LIST_COLUMN}' list column."
                )
        return _Layout(tuple(fields), False, names)
    fields = [c for c in columns if c.startswith(PREFIX) and len(c) > len(PREFIX)]
    if not fields:
        raise ConfigError(
            f"'{origin}' has no probability columns (its columns: {list(columns)}). Expected a "
            f"'{LIST_COLUMN}' column holding a list per row, or one '{PREFIX}<class>' column per "
            "class, or pass the class names (class_names=..., --class-names) when the columns "
            "are named after the classes."
        )
    return _Layout(tuple(fields), False, tuple(f[len(PREFIX) :] for f in fields))


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or value is None:
        raise _BadRow(field, "missing value" if value is None else f"not a number: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if not text:
        raise _BadRow(field, "missing value")
    try:
        return float(text)
    except ValueError:
        raise _BadRow(field, f"not a number: {text!r}") from None


def _list_values(value: Any) -> list[float]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise _BadRow(LIST_COLUMN, f"not a list of numbers: {text[:60]!r}") from None
        else:
            value = [v for v in _SPLIT.split(text) if v]
    if isinstance(value, Mapping) or not isinstance(value, Sequence) or isinstance(value, str):
        if hasattr(value, "tolist"):  # a numpy array from Parquet
            value = value.tolist()
        else:
            raise _BadRow(LIST_COLUMN, f"not a list of numbers: {value!r}")
    return [_number(v, LIST_COLUMN) for v in value]


def _scores(row: Mapping[str, Any], layout: _Layout) -> tuple[list[float], tuple[str, ...]]:
    if layout.is_list:
        if LIST_COLUMN not in row:
            raise _BadRow(LIST_COLUMN, "missing")
        values = _list_values(row[LIST_COLUMN])
        return values, tuple(LIST_COLUMN for _ in values)
    values = []
    for field in layout.fields:
        if field not in row:
            raise _BadRow(field, "missing")
        values.append(_number(row[field], field))
    return values, layout.fields


def _probabilities(
    values: list[float],
    fields: tuple[str, ...],
    n_classes: int,
    activation: Activation,
    tolerance: float,
) -> NDArray[np.float64]:
    if len(values) != n_classes:
        raise _BadRow(
            fields[0] if fields else LIST_COLUMN,
            f"{len(values)} values where {n_classes} classes were expected",
        )
    arr = np.asarray(values, dtype=np.float64)
    for value, field in zip(values, fields, strict=True):
        if not math.isfinite(value):
            raise _BadRow(field, f"not a finite number: {value!r}")
    if activation == "softmax":
        z = np.exp(arr - arr.max())
        out: NDArray[np.float64] = z / z.sum()
        return out
    for i, value in enumerate(values):
        if value < 0:
            name = fields[i] if fields[i] != LIST_COLUMN else f"{LIST_COLUMN}[{i}]"
            raise _BadRow(name, f"negative probability {value:g}{_LOGITS_HINT}")
    total = float(arr.sum())
    if abs(total - 1.0) > tolerance:
        field = fields[0] if len(set(fields)) == 1 else "+".join(fields)
        raise _BadRow(
            field,
            f"the probabilities sum to {total:.6g}, not 1 (tolerance {tolerance:g}){_LOGITS_HINT}",
        )
    return arr / total


_Rows = tuple[list[str], Iterator[tuple[str, Any]], Callable[[], None]]


def _read_rows(path: Path, kind: str) -> _Rows:
    """Column names, an iterator of (``line N`` / ``row N``, row or error) pairs, and a closer."""
    if kind == "csv":
        return _read_csv(path)
    if kind == "jsonl":
        return _read_jsonl(path)
    return _read_parquet(path)


def _open_text(path: Path) -> Any:
    try:
        return path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError as err:
        raise SourceError(f"The predictions file '{path}' does not exist.") from err
    except OSError as err:
        raise SourceError(f"Cannot read the predictions file '{path}': {err}") from err


def _read_csv(path: Path) -> _Rows:
    handle = _open_text(path)
    reader = csv.reader(handle)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        handle.close()
        raise SourceError(f"The predictions file '{path}' is empty (no header line).") from None
    except (csv.Error, UnicodeDecodeError) as err:
        handle.close()
        raise SourceError(f"'{path}' is not a readable CSV file: {err}") from err

    def rows() -> Iterator[tuple[str, Any]]:
        with handle:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except (csv.Error, UnicodeDecodeError) as err:
                    yield f"line {reader.line_num}", _BadRow(None, f"unreadable CSV: {err}")
                    continue
                if not cells or all(not c.strip() for c in cells):
                    continue
                where = f"line {reader.line_num}"
                if len(cells) != len(header):
                    yield (
                        where,
                        _BadRow(None, f"{len(cells)} fields where the header has {len(header)}"),
                    )
                    continue
                yield where, dict(zip(header, cells, strict=True))

    return header, rows(), handle.close


def _read_jsonl(path: Path) -> _Rows:
    handle = _open_text(path)
    columns: list[str] = []
    try:
        # The columns of the first line holding a JSON object (bad lines are reported later).
        for line in handle:
            try:
                obj = json.loads(line) if line.strip() else None
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                columns = [str(k) for k in obj]
                break
        handle.seek(0)
    except (OSError, UnicodeDecodeError) as err:
        handle.close()
        raise SourceError(f"Cannot read the predictions file '{path}': {err}") from err

    def rows() -> Iterator[tuple[str, Any]]:
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"line {number}"
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    yield where, _BadRow(None, f"not valid JSON ({err.msg}, column {err.colno})")
                    continue
                if not isinstance(obj, dict):
                    yield where, _BadRow(None, f"not a JSON object but {type(obj).__name__}")
                    continue
                yield where, obj

    return columns, rows(), handle.close


def _read_parquet(path: Path) -> _Rows:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise MissingExtraError(
            f"Reading the Parquet file '{path}' needs pyarrow, in the 'parquet' extra: "
            "pip install 'visiondrift[parquet]' (or write the predictions as CSV or JSON Lines)."
        ) from err
    if not path.exists():
        raise SourceError(f"The predictions file '{path}' does not exist.")
    try:
        parquet = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises its own ArrowInvalid / OSError types
        raise SourceError(f"'{path}' is not a readable Parquet file: {err}") from err
    columns = [str(c) for c in parquet.schema_arrow.names]

    def rows() -> Iterator[tuple[str, Any]]:
        number = 0
        for batch in parquet.iter_batches(batch_size=65_536):
            for row in batch.to_pylist():
                number += 1
                yield f"row {number}", row

    return columns, rows(), lambda: None


def _label_of(value: Any, names: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value).strip()
    if not text:
        return None
    if text in names:
        return text
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    if text.isdigit() and int(text) < len(names):
        return names[int(text)]
    return text


def profile_predictions(
    path: str | os.PathLike[str],
    *,
    class_names: Sequence[str] | None = None,
    activation: Activation = "none",
    tolerance: float = 1e-3,
    low_confidence: float = DEFAULTS.model.low_confidence,
    reservoir_size: int = DEFAULTS.profile.reservoir_size,
    seed: int = DEFAULTS.profile.seed,
    max_listed_bad_files: int = DEFAULTS.profile.max_listed_bad_files,
    config: ProfileConfig | None = None,
    names: NamePolicy | None = None,
    names_key: NamesKey | bytes | None = None,
    names_root: str | os.PathLike[str] | None = None,
) -> Profile:
    """Profile a file of per-image probabilities (CSV, JSON Lines or Parquet) made elsewhere.

    Parameters
    ----------
    path
        A ``.csv``, ``.jsonl`` / ``.ndjson`` or ``.parquet`` / ``.pq`` file, one row per image
        (see the module documentation for the columns).
    class_names
        The classes in output order. Needed when the probability columns are named after the
        classes (not ``prob_<class>``); with a ``probs`` list column, without it the classes are
        named ``"0"``, ``"1"``... To monitor against a baseline, pass the baseline's class names.
    activation
        ``"none"``: the values are probabilities (non-negative, summing to 1 within
        ``tolerance``); ``"softmax"``: the values are logits.
    tolerance
        How far from 1 the sum of a row's probabilities may be.
    low_confidence
        Top-1 probability below which a prediction counts as low-confidence.
    reservoir_size, seed, max_listed_bad_files
        As for :func:`visiondrift.profile`.
    config
        A complete configuration (e.g. a baseline's ``profile.config``); when given, its
        reservoir size, seed, low-confidence threshold and listing limit replace the options.
    names, names_key, names_root
        What is recorded of image ids and of the file's location, as in :func:`visiondrift.profile`.

    Returns
    -------
    Profile
        A profile with a model summary and per-row model columns but no image properties. Bad
        rows are counted and listed with reason ``"bad_row"``.

    Raises
    ------
    SourceError
        The file is missing or unreadable, or (:class:`NoReadableImagesError`) no row is usable.
    ConfigError
        Unknown extension, no probability columns, or a bad option.
    MissingExtraError
        A Parquet file without pyarrow installed (the ``parquet`` extra).

    Examples
    --------
    ::

        import visiondrift
        baseline = visiondrift.profile_predictions("val_predictions.csv")
        batch = visiondrift.profile_predictions(
            "today.jsonl", class_names=baseline.model.class_names
        )
        report = visiondrift.compare(baseline, batch)
    """
    p = Path(path)
    kind = PREDICTION_EXTENSIONS.get(p.suffix.lower())
    if kind is None:
        raise ConfigError(
            f"'{p}' is not a predictions file visiondrift reads: expected one of "
            f"{sorted(PREDICTION_EXTENSIONS)} (CSV, JSON Lines or Parquet), got "
            f"{p.suffix or 'no extension'!r}."
        )
    if activation not in ("none", "softmax"):
        raise ConfigError(
            f"The 'activation' option must be 'none' or 'softmax'. Got {activation!r} instead."
        )
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance <= 0:
        raise ConfigError(
            f"The 'tolerance' option must be a positive number. Got {tolerance!r} instead."
        )
    if p.is_dir():
        raise SourceError(f"'{p}' is a folder, not a predictions file.")
    if not p.exists():
        raise SourceError(f"The predictions file '{p}' does not exist.")
    if config is None:
        config = ProfileConfig(
            reservoir_size=reservoir_size,
            seed=seed,
            max_listed_bad_files=max_listed_bad_files,
            low_confidence=low_confidence,
        )
    if names is not None and check_policy(names) != config.names:
        config = replace(config, names=names)
    key = NamesKey(names_key) if isinstance(names_key, bytes) else names_key
    recorded_names([], config.names, key)  # a missing key is refused before reading
    shown = record_location(str(p), config.names, names_root)
    columns, rows, close = _read_rows(p, kind)
    try:
        return _profile_rows(
            p, kind, columns, rows, class_names, activation, tolerance, config, (key, shown)
        )
    finally:
        close()


def _profile_rows(
    p: Path,
    kind: str,
    columns: list[str],
    rows: Iterator[tuple[str, Any]],
    class_names: Sequence[str] | None,
    activation: Activation,
    tolerance: float,
    config: ProfileConfig,
    privacy: tuple[NamesKey | None, str],
) -> Profile:
    key, shown = privacy  # the names key, and the file's location as recorded
    layout = _layout(columns, class_names, str(p)) if columns else None
    id_column = next((c for c in ID_COLUMNS if c in columns), None)
    builder = ProfileBuilder(config)
    first_bad: BadFile | None = None
    bad_count = 0
    n_rows = 0
    names: tuple[str, ...] | None = None if layout is None else layout.class_names
    description: dict[str, Any] = {
        "path": str(p.absolute()) if shown == str(p) else shown,
        "format": f"predictions ({kind})",
        "activation": activation,
        "columns": [] if layout is None else list(layout.fields),
    }
    for where, row in rows:
        n_rows += 1
        ident = None
        if isinstance(row, Mapping) and id_column is not None and row.get(id_column) is not None:
            ident = str(row[id_column])
        if ident is not None and config.names != "keep":
            ident = None if config.names == "drop" else recorded_names([ident], "hash", key)[0]
        name = ident or where
        try:
            if isinstance(row, _BadRow):
                raise row
            if layout is None:
                raise _BadRow(None, "no probability columns")
            values, fields = _scores(row, layout)
            if names is None:  # a 'probs' list without class names: classes "0", "1", ...
                names = tuple(str(i) for i in range(len(values)))
            probs = _probabilities(values, fields, len(names), activation, float(tolerance))
        except _BadRow as err:
            bad_count += 1
            field = f", field '{err.field}'" if err.field else ""
            bad = BadFile(name, "bad_row", f"'{shown}', {where}{field}: {err.what}.")
            first_bad = first_bad or bad
            builder.add_bad(bad)
            continue
        if builder.n_images == 0:
            builder.set_model(names, description)
        label = _label_of(row.get(LABEL_COLUMN), names) if isinstance(row, Mapping) else None
        # The sampling key is stored: with names not kept it must not hash a guessable name.
        identity = {"keep": f"{p.name}\x00{ident or where}", "hash": name}.get(
            config.names, probs.tobytes().hex()
        )
        builder.add_prediction(identity, probs, label, name=name)
    if builder.n_images == 0:
        example = f" For example: {first_bad.detail}" if first_bad else ""
        raise NoReadableImagesError(
            f"No usable row in the predictions file '{p}' ({n_rows} rows, {bad_count} bad)."
            f"{example}"
        )
    info = SourceInfo("predictions", shown, n_rows, n_rows, None, config.seed)
    extra = {"predictions": {"activation": activation, "columns": description["columns"]}}
    return replace(builder.build(info), extra=extra)
