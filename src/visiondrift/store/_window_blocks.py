"""Records kept as blocks (``vd_record_blocks``), as they are read back and labelled."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from visiondrift.store._window_rows import BLOCK_JSON, StoredRecord, decode_probs

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = [
    "PredictionBlock",
    "PredictionRow",
    "StoredBlock",
    "first_seq",
    "label_blocks",
    "label_rows",
    "seq_of",
]


#: A record as a profile of predictions needs it: seq, record id, label, probabilities (as
#: stored), the reason it is unusable and its detail.
PredictionRow = tuple[int, str | None, str | None, bytes | None, str | None, str | None]


class PredictionBlock(NamedTuple):
    """A block of records as a profile of predictions needs it: the seq of its first record,
    each record's id and label (``labels``: ``None`` when none has one), and the ``(records,
    classes)`` float32 probabilities (little-endian, row after row)."""

    seq: int
    ids: builtins.list[str | None]
    labels: builtins.list[str | None] | None
    probs: bytes
    classes: int


def label_rows(
    conn: Connection, dataset: str, ids: Sequence[str], labels: Mapping[str, str]
) -> builtins.list[tuple[str, str]]:
    """Label the record rows (``vd_records``) with these ids; returns ``(id, window status)``
    of each row found."""
    from sqlalchemy import bindparam, select, update

    from visiondrift.store._schema import RECORDS, WINDOWS

    found = conn.execute(
        select(RECORDS.c.record_id, WINDOWS.c.status)
        .select_from(RECORDS.join(WINDOWS, WINDOWS.c.window_id == RECORDS.c.window_id))
        .where(RECORDS.c.dataset == dataset, RECORDS.c.record_id.in_(ids))
    ).all()
    if found:
        conn.execute(
            update(RECORDS)
            .where(RECORDS.c.dataset == dataset)
            .where(RECORDS.c.record_id == bindparam("rid"))
            .values(label=bindparam("new_label")),
            [{"rid": rid, "new_label": labels[rid][:200]} for rid in {r[0] for r in found}],
        )
    return [(r[0], r[1]) for r in found]


def label_blocks(
    conn: Connection, dataset: str, ids: Sequence[str], labels: Mapping[str, str]
) -> builtins.list[tuple[str, str]]:
    """Label the records of blocks (``vd_record_blocks``, found through ``vd_record_ids``)
    with these ids: each block's labels read, changed and written once. Returns ``(id, window
    status)`` of each record found."""
    from sqlalchemy import bindparam, select, tuple_, update

    from visiondrift.store._schema import RECORD_BLOCKS, RECORD_IDS, WINDOWS

    c = RECORD_IDS.c
    found = conn.execute(
        select(c.record_id, c.window_id, c.seq, c.pos, WINDOWS.c.status)
        .select_from(RECORD_IDS.join(WINDOWS, WINDOWS.c.window_id == c.window_id))
        .where(c.dataset == dataset, c.record_id.in_(ids))
    ).all()
    places: dict[tuple[str, int], builtins.list[tuple[int, str]]] = {}
    for record_id, window_id, seq, pos, _ in found:
        places.setdefault((window_id, seq), []).append((pos, labels[record_id][:200]))
    if not places:
        return []
    b = RECORD_BLOCKS.c
    blocks = conn.execute(
        select(b.window_id, b.seq, b.n, b.labels).where(
            tuple_(b.window_id, b.seq).in_(builtins.list(places))
        )
    ).all()
    changed = []
    for window_id, seq, n, text in blocks:
        values = [None] * n if text is None else json.loads(text)
        for pos, label in places[(window_id, seq)]:
            values[pos] = label
        changed.append({"w_id": window_id, "b_seq": seq, "new_labels": BLOCK_JSON.encode(values)})
    conn.execute(
        update(RECORD_BLOCKS)
        .where(b.window_id == bindparam("w_id"), b.seq == bindparam("b_seq"))
        .values(labels=bindparam("new_labels")),
        changed,
    )
    return [(r[0], r[4]) for r in found]


class StoredBlock(NamedTuple):
    """A row of ``vd_record_blocks`` as read."""

    window_id: str
    seq: int
    n: int
    dataset: str
    received_at: Any
    classes: int
    probs: bytes
    ids: str | None
    labels: str | None
    ts: str | None
    meta: str | None

    def _items(self, text: str | None) -> builtins.list[Any]:
        return [None] * self.n if text is None else json.loads(text)

    def for_predictions(self) -> PredictionBlock:
        return PredictionBlock(
            self.seq,
            self._items(self.ids),
            None if self.labels is None else json.loads(self.labels),
            bytes(self.probs),
            self.classes,
        )

    def _columns(self) -> Iterator[tuple[str | None, str | None, bytes]]:
        width = 4 * self.classes
        blob = bytes(self.probs)
        probs = (blob[i : i + width] for i in range(0, len(blob), width))
        return zip(self._items(self.ids), self._items(self.labels), probs, strict=True)

    def records(self) -> Iterator[StoredRecord]:
        from visiondrift.store._rows import utc

        received = utc(self.received_at)
        assert received is not None
        items = zip(self._columns(), self._items(self.ts), self._items(self.meta), strict=True)
        for i, ((rid, label, probs), ts, meta) in enumerate(items):
            yield StoredRecord(
                window_id=self.window_id,
                seq=self.seq + i,
                dataset=self.dataset,
                record_id=rid,
                received_at=received,
                ts=None if ts is None else datetime.fromisoformat(ts),
                label=label,
                probs=decode_probs(probs),
                measured=None,
                bad_reason=None,
                detail=None,
                meta=meta,
            )


def seq_of(record: StoredRecord) -> int:
    return record.seq


def first_seq(part: PredictionRow | PredictionBlock) -> int:
    return part[0]
