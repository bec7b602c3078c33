"""Probability records are kept a request per row: ``vd_record_blocks`` (the request's
probabilities as one float32 matrix, its ids, labels, timestamps and metadata as JSON arrays)
and ``vd_record_ids`` (where each record id is, for labels posted later).

A row per record cost the service's record writer three to four times the CPU of a row per
request. Records with images, and unusable records, stay in ``vd_records``. A downgrade writes
every block's records back into ``vd_records`` (nothing is lost) before it drops the tables.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vd_record_blocks",
        sa.Column("window_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("classes", sa.Integer, nullable=False),
        sa.Column("probs", sa.LargeBinary, nullable=False),
        sa.Column("ids", sa.Text, nullable=True),
        sa.Column("labels", sa.Text, nullable=True),
        sa.Column("ts", sa.Text, nullable=True),
        sa.Column("meta", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("window_id", "seq", name="pk_vd_record_blocks"),
    )
    op.create_table(
        "vd_record_ids",
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("window_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("pos", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint(
            "dataset", "record_id", "window_id", "seq", "pos", name="pk_vd_record_ids"
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    conn = op.get_bind()
    meta = sa.MetaData()
    blocks = sa.Table("vd_record_blocks", meta, autoload_with=conn)
    records = sa.Table("vd_records", meta, autoload_with=conn)
    for b in conn.execute(sa.select(blocks)).mappings():
        width = 4 * b["classes"]
        n = b["n"]

        def items(text: str | None, n: int = n) -> list[Any]:
            return [None] * n if text is None else list(json.loads(text))

        rows = [
            {
                "window_id": b["window_id"],
                "seq": b["seq"] + i,
                "dataset": b["dataset"],
                "record_id": rid,
                "received_at": b["received_at"],
                "ts": None if ts is None else datetime.fromisoformat(ts),
                "label": label,
                "probs": bytes(b["probs"][i * width : (i + 1) * width]),
                "measured": None,
                "bad_reason": None,
                "detail": None,
                "meta": None if m is None else json.dumps(m, separators=(",", ":")),
            }
            for i, (rid, label, ts, m) in enumerate(
                zip(
                    items(b["ids"]),
                    items(b["labels"]),
                    items(b["ts"]),
                    items(b["meta"]),
                    strict=True,
                )
            )
        ]
        if rows:
            conn.execute(sa.insert(records), rows)
    op.drop_table("vd_record_ids")
    op.drop_table("vd_record_blocks")
