"""Each run's slow-drift verdict, beside its batch verdict; the values the check reads.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

``vd_runs.slow_drift`` is true when the run's slow-drift check over the dataset's recent runs
raised an alarm, false when it found none, and NULL when no check was made (runs recorded before
this revision, runs without a history). Filled for older runs from their stored reports.
``vd_documents.slow_values`` keeps, beside the batch profile, the few per-image values the
slow-drift check reads (``visiondrift.drift.RunValues``, compact binary), so that the check after
each run reads kilobytes instead of whole profiles; older runs have NULL there and the check reads
their profiles.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vd_runs") as batch:
        batch.add_column(sa.Column("slow_drift", sa.Boolean, nullable=True))
    with op.batch_alter_table("vd_documents") as batch:
        batch.add_column(sa.Column("slow_values", sa.LargeBinary, nullable=True))
    from visiondrift.store._codec import unpack

    bind = op.get_bind()
    documents = sa.table("vd_documents", sa.column("run_id"), sa.column("report"))
    runs = sa.table("vd_runs", sa.column("run_id"), sa.column("slow_drift"))
    for run_id, blob in bind.execute(sa.select(documents.c.run_id, documents.c.report)).all():
        if blob is None:
            continue
        slow = unpack(blob).get("slow_drift")
        if isinstance(slow, dict) and isinstance(slow.get("drift_detected"), bool):
            bind.execute(
                sa.update(runs)
                .where(runs.c.run_id == run_id)
                .values(slow_drift=slow["drift_detected"])
            )


def downgrade() -> None:
    with op.batch_alter_table("vd_documents") as batch:
        batch.drop_column("slow_values")
    with op.batch_alter_table("vd_runs") as batch:
        batch.drop_column("slow_drift")
