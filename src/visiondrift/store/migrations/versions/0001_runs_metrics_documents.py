"""Runs, metric rows and documents.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vd_runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("dataset", sa.String(200), nullable=True),
        sa.Column("ran_at", TZ, nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("window_start", TZ, nullable=True),
        sa.Column("window_end", TZ, nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("drift", sa.Boolean, nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("alpha", sa.Float, nullable=False),
        sa.Column("correction", sa.String(16), nullable=False),
        sa.Column("n_tests", sa.Integer, nullable=False),
        sa.Column("n_drifted", sa.Integer, nullable=False),
        sa.Column("n_files", sa.Integer, nullable=False),
        sa.Column("n_images", sa.Integer, nullable=False),
        sa.Column("n_bad", sa.Integer, nullable=False),
        sa.Column("baseline_name", sa.String(500), nullable=False),
        sa.Column("baseline_hash", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(500), nullable=True),
        sa.Column("model_hash", sa.String(64), nullable=True),
        sa.Column("package_version", sa.String(40), nullable=False),
    )
    op.create_index("ix_vd_runs_dataset_ran_at", "vd_runs", ["dataset", "ran_at"])
    op.create_index("ix_vd_runs_ran_at", "vd_runs", ["ran_at"])
    op.create_table(
        "vd_metrics",
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("vd_runs.run_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ran_at", TZ, nullable=False),
        sa.Column("dataset", sa.String(200), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("family", sa.String(40), nullable=False),
        sa.Column("test", sa.String(80), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("statistic", sa.Float, nullable=True),
        sa.Column("p_value", sa.Float, nullable=True),
        sa.Column("p_adjusted", sa.Float, nullable=True),
        sa.Column("effect_size", sa.Float, nullable=True),
        sa.Column("effect_unit", sa.String(80), nullable=False),
        sa.Column("unit", sa.String(80), nullable=False),
        sa.Column("baseline_value", sa.Float, nullable=True),
        sa.Column("current_value", sa.Float, nullable=True),
        sa.Column("band_low", sa.Float, nullable=False),
        sa.Column("band_medium", sa.Float, nullable=False),
        sa.Column("band_high", sa.Float, nullable=False),
        sa.Column("n_baseline", sa.Integer, nullable=False),
        sa.Column("n_current", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "name", "ran_at", name="pk_vd_metrics"),
    )
    op.create_index(
        "ix_vd_metrics_dataset_name_ran_at", "vd_metrics", ["dataset", "name", "ran_at"]
    )
    op.create_index("ix_vd_metrics_name_ran_at", "vd_metrics", ["name", "ran_at"])
    op.create_table(
        "vd_documents",
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("vd_runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("report", sa.LargeBinary, nullable=True),
        sa.Column("profile", sa.LargeBinary, nullable=True),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from visiondrift.store._migrate import make_hypertable

        make_hypertable(bind)


def downgrade() -> None:
    op.drop_table("vd_documents")
    op.drop_table("vd_metrics")
    op.drop_table("vd_runs")
