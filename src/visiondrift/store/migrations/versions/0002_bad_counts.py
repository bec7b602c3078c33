"""Bad files by reason, one row per run and reason, filled from the stored reports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bad_counts = op.create_table(
        "vd_bad_counts",
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("vd_runs.run_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "reason", name="pk_vd_bad_counts"),
    )
    # Runs recorded before this revision: their counts are in the stored report.
    from visiondrift.store._codec import bad_counts_of_report

    bind = op.get_bind()
    documents = sa.table("vd_documents", sa.column("run_id"), sa.column("report"))
    rows = bind.execute(sa.select(documents.c.run_id, documents.c.report)).all()
    values = [
        {"run_id": run_id, "reason": reason, "count": count}
        for run_id, blob in rows
        if blob is not None
        for reason, count in bad_counts_of_report(blob).items()
    ]
    if values:
        op.bulk_insert(bad_counts, values)


def downgrade() -> None:
    op.drop_table("vd_bad_counts")
