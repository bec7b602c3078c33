"""The rows of the service's windows and records (``vd_windows``, ``vd_records``): the records
of :class:`~visiondrift.store.Windows`, and how a record's probabilities and image measurements
are kept (float32 probabilities; histograms and property values, zlib-compressed; no pixels)."""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from visiondrift.store._rows import utc

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from sqlalchemy.engine import RowMapping

__all__ = [
    "AppendRequest",
    "AppendResult",
    "LabelResult",
    "Measured",
    "NewRecord",
    "RecordBlock",
    "StoredRecord",
    "Window",
    "WindowStatus",
    "decode_measured",
    "decode_probs",
    "encode_measured",
    "encode_probs",
    "encode_probs_matrix",
    "record_of",
    "window_of",
]

WindowStatus = Literal["open", "closing", "closed", "failed"]


@dataclass(frozen=True)
class Window:
    """One row of ``vd_windows``.

    Attributes
    ----------
    window_id
        32 hex digits; the id of its run too.
    dataset, baseline_id
        The dataset, and the baseline its records are compared with.
    status
        ``open`` (taking records), ``closing`` (full or due, waiting for its verdict),
        ``closed`` (its run is ``run_id``) or ``failed`` (``reason`` says why).
    opened_at
        When its first record arrived.
    deadline
        Open: when it closes by time (``None``: by count only). Closing, closed, failed: the
        window's end.
    closed_at
        When its verdict (or failure) was recorded.
    n_records, n_bad
        Records it holds, and how many of them are unusable.
    run_id, reason
        Its run; why it failed.
    claimed_by, claimed_until
        The process closing it, and until when its claim holds.
    """

    window_id: str
    dataset: str
    baseline_id: str
    status: WindowStatus
    opened_at: datetime
    deadline: datetime | None
    closed_at: datetime | None
    n_records: int
    n_bad: int
    run_id: str | None = None
    reason: str | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None

    @property
    def end(self) -> datetime | None:
        """The end of a window no longer open (``None`` while it is open)."""
        return None if self.status == "open" else self.deadline


class NewRecord(NamedTuple):
    """A record as it is written: already validated and encoded (see :func:`encode_probs`,
    :func:`encode_measured`)."""

    record_id: str | None = None
    ts: datetime | None = None
    label: str | None = None
    probs: bytes | None = None
    measured: bytes | None = None
    bad_reason: str | None = None
    detail: str | None = None
    meta: str | None = None


#: How a block's per-record fields (ids, labels) are kept: a compact JSON array.
BLOCK_JSON = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class RecordBlock:
    """Probability records of one request, written as ONE row of ``vd_record_blocks`` (and a
    row per record id in ``vd_record_ids``, so that a label posted later finds its record).

    A row per record cost the record writer three to four times the CPU of a row per request
    (``benchmarks/record_storage.py``); records with images, and unusable records, stay a row
    each in ``vd_records``.

    Attributes
    ----------
    probs
        The ``(records, classes)`` probabilities, float32, little-endian, row after row.
    classes
        Probabilities per record.
    ids, labels, ts, meta
        Per record (``None`` for the whole field when no record has one): its id, its label,
        its timestamp (UTC), its metadata as JSON text.
    """

    probs: bytes
    classes: int
    ids: tuple[str | None, ...] | None = None
    labels: tuple[str | None, ...] | None = None
    ts: tuple[datetime | None, ...] | None = None
    meta: tuple[str | None, ...] | None = None

    def __len__(self) -> int:
        return len(self.probs) // (4 * self.classes)

    def __getitem__(self, part: slice) -> RecordBlock:
        start, stop, step = part.indices(len(self))
        if step != 1:
            raise ValueError("a block of records is cut into runs of records only")
        width = 4 * self.classes

        def cut(values: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
            return None if values is None else values[start:stop]

        return RecordBlock(
            self.probs[start * width : stop * width],
            self.classes,
            cut(self.ids),
            cut(self.labels),
            cut(self.ts),
            cut(self.meta),
        )

    @classmethod
    def of_rows(cls, rows: Sequence[NewRecord]) -> RecordBlock | None:
        """``rows`` as one block, when each is a usable record of probabilities only, all of
        as many classes; ``None`` otherwise."""
        if not rows or any(
            r.probs is None or r.measured is not None or r.bad_reason is not None for r in rows
        ):
            return None
        width = len(rows[0].probs or b"")
        if width == 0 or width % 4 or any(len(r.probs or b"") != width for r in rows):
            return None
        return cls.of_columns(
            b"".join(r.probs or b"" for r in rows),
            width // 4,
            [r.record_id for r in rows],
            [r.label for r in rows],
            [r.ts for r in rows],
            [r.meta for r in rows],
        )

    @classmethod
    def of_columns(
        cls,
        probs: bytes,
        classes: int,
        ids: Sequence[str | None],
        labels: Sequence[str | None],
        ts: Sequence[datetime | None],
        meta: Sequence[str | None],
    ) -> RecordBlock:
        """A block of these records' values, each field ``None`` when no record has one."""

        def field(values: Sequence[Any]) -> tuple[Any, ...] | None:
            return None if values.count(None) == len(values) else tuple(values)

        return cls(probs, classes, field(ids), field(labels), field(ts), field(meta))


@dataclass(frozen=True)
class Measured:
    """What was measured of a record's image: histograms, property values, format and mode."""

    histograms: NDArray[np.int64]
    values: NDArray[np.float64]
    format: str
    mode: str


@dataclass(frozen=True)
class StoredRecord:
    """One stored record, decoded.

    ``probs`` is a float32 vector or ``None``; ``measured`` the image's measurements or
    ``None``; ``bad_reason`` (with ``detail``) says why a record is unusable; ``meta`` is the
    metadata posted with it.
    """

    window_id: str
    seq: int
    dataset: str
    record_id: str | None
    received_at: datetime
    ts: datetime | None
    label: str | None
    probs: NDArray[np.float32] | None
    measured: Measured | None
    bad_reason: str | None
    detail: str | None
    meta: dict[str, Any] | None


@dataclass(frozen=True)
class AppendRequest:
    """Records for one dataset's windows (one request to the service): a row each, or one
    :class:`RecordBlock` of probability records."""

    dataset: str
    baseline_id: str
    rows: Sequence[NewRecord] | RecordBlock
    count_limit: int | None = None
    seconds_limit: float | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled (to the service's writer process) with its rows as plain tuples: a named
        # tuple is pickled through a Python call per row.
        rows = self.rows if isinstance(self.rows, RecordBlock) else [tuple(r) for r in self.rows]
        limits = (self.count_limit, self.seconds_limit)
        return (_append_request, (self.dataset, self.baseline_id, rows, *limits))


def _append_request(
    dataset: str,
    baseline_id: str,
    rows: list[tuple[Any, ...]] | RecordBlock,
    count_limit: int | None,
    seconds_limit: float | None,
) -> AppendRequest:
    if isinstance(rows, RecordBlock):
        return AppendRequest(dataset, baseline_id, rows, count_limit, seconds_limit)
    make = NewRecord._make
    return AppendRequest(dataset, baseline_id, [make(r) for r in rows], count_limit, seconds_limit)


@dataclass(frozen=True)
class AppendResult:
    """What an append did.

    Attributes
    ----------
    accepted, bad
        Records written, and how many of them are unusable.
    window
        The window the last record went into, as the append left it.
    windows
        Every window that took records, in order.
    closing
        The windows this append made ``closing`` (count reached, deadline passed, baseline
        changed).
    """

    accepted: int
    bad: int
    window: Window | None
    windows: tuple[str, ...]
    closing: tuple[str, ...]


@dataclass(frozen=True)
class LabelResult:
    """Labels joined to records: in open windows, in windows whose verdict is already being or
    was recorded (``late``: stored, but the verdict does not change), and ids not found."""

    joined: int
    late: int
    unknown: int


# ---------------------------------------------------------------- encoding
def encode_probs(probabilities: Sequence[float]) -> bytes:
    """Probabilities as stored: float32, little-endian."""
    values = array("f", probabilities)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tobytes()


def encode_probs_matrix(matrix: NDArray[np.floating[Any]]) -> list[bytes]:
    """The rows of a ``(records, classes)`` array, each as :func:`encode_probs` stores it (one
    conversion for all)."""
    import numpy as np

    blob = np.asarray(matrix).astype("<f4").tobytes()
    step = matrix.shape[1] * 4
    return [blob[i : i + step] for i in range(0, len(blob), step)]


def decode_probs(blob: bytes) -> NDArray[np.float32]:
    """Stored probabilities as a float32 vector."""
    import numpy as np

    return np.frombuffer(bytes(blob), dtype="<f4").astype(np.float32)


def encode_measured(
    histograms: NDArray[Any], values: NDArray[Any], *, format: str, mode: str
) -> bytes:
    """An image's measurements as stored (zlib): a JSON header, uint32 histograms, float64
    values; no pixels."""
    import zlib

    import numpy as np

    head = json.dumps(
        {"format": format, "mode": mode, "n": int(np.asarray(values).size)}, separators=(",", ":")
    ).encode()
    body = np.asarray(histograms, dtype="<u4").tobytes() + np.asarray(values, dtype="<f8").tobytes()
    return zlib.compress(len(head).to_bytes(2, "little") + head + body, 1)


def decode_measured(blob: bytes) -> Measured:
    """Stored measurements (see :func:`encode_measured`)."""
    import zlib

    import numpy as np

    raw = zlib.decompress(bytes(blob))
    size = int.from_bytes(raw[:2], "little")
    head = json.loads(raw[2 : 2 + size])
    hist_end = 2 + size + 4 * 4 * 256
    hist = np.frombuffer(raw[2 + size : hist_end], dtype="<u4").astype(np.int64).reshape(4, 256)
    values = np.frombuffer(raw[hist_end:], dtype="<f8").astype(np.float64)
    if values.size != int(head["n"]):
        raise ValueError(f"stored measurements hold {values.size} values, not {head['n']}")
    return Measured(hist, values, str(head["format"]), str(head["mode"]))


# ---------------------------------------------------------------- rows
def window_of(row: Mapping[Any, Any]) -> Window:
    opened = utc(row["opened_at"])
    assert opened is not None
    return Window(
        window_id=row["window_id"],
        dataset=row["dataset"],
        baseline_id=row["baseline_id"],
        status=row["status"],
        opened_at=opened,
        deadline=utc(row["deadline"]),
        closed_at=utc(row["closed_at"]),
        n_records=int(row["n_records"]),
        n_bad=int(row["n_bad"]),
        run_id=row["run_id"],
        reason=row["reason"],
        claimed_by=row["claimed_by"],
        claimed_until=utc(row["claimed_until"]),
    )


def record_of(row: RowMapping) -> StoredRecord:
    received = utc(row["received_at"])
    assert received is not None
    return StoredRecord(
        window_id=row["window_id"],
        seq=int(row["seq"]),
        dataset=row["dataset"],
        record_id=row["record_id"],
        received_at=received,
        ts=utc(row["ts"]),
        label=row["label"],
        probs=None if row["probs"] is None else decode_probs(row["probs"]),
        measured=None if row["measured"] is None else decode_measured(row["measured"]),
        bad_reason=row["bad_reason"],
        detail=row["detail"],
        meta=None if row["meta"] is None else json.loads(row["meta"]),
    )
