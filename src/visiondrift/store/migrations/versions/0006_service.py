"""The service's tables: API keys, baselines, windows of records, records and jobs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

``vd_api_keys`` holds the service's keys (the SHA-256 of each secret, never the secret);
``vd_baselines`` the baselines uploaded to it, one active per dataset; ``vd_windows`` and
``vd_records`` the windows of posted records (each record written before it is acknowledged, so
a killed service loses none); ``vd_jobs`` the batch runs and baselines it was asked to build.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vd_api_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scopes", sa.String(40), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("revoked_at", _TZ, nullable=True),
        sa.Column("last_used_at", _TZ, nullable=True),
    )
    op.create_table(
        "vd_baselines",
        sa.Column("baseline_id", sa.String(32), primary_key=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("n_images", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("profile", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_vd_baselines_dataset_active", "vd_baselines", ["dataset", "active"])
    op.create_table(
        "vd_windows",
        sa.Column("window_id", sa.String(32), primary_key=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("baseline_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", _TZ, nullable=False),
        sa.Column("deadline", _TZ, nullable=True),
        sa.Column("closed_at", _TZ, nullable=True),
        sa.Column("n_records", sa.Integer, nullable=False),
        sa.Column("n_bad", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("claimed_until", _TZ, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_vd_windows_dataset_status", "vd_windows", ["dataset", "status"])
    op.create_index("ix_vd_windows_status_deadline", "vd_windows", ["status", "deadline"])
    op.create_table(
        "vd_records",
        sa.Column("window_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=True),
        sa.Column("received_at", _TZ, nullable=False),
        sa.Column("ts", _TZ, nullable=True),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("probs", sa.LargeBinary, nullable=True),
        sa.Column("measured", sa.LargeBinary, nullable=True),
        sa.Column("bad_reason", sa.String(40), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("meta", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("window_id", "seq", name="pk_vd_records"),
    )
    op.create_index("ix_vd_records_dataset_record_id", "vd_records", ["dataset", "record_id"])
    op.create_index("ix_vd_records_received_at", "vd_records", ["received_at"])
    op.create_table(
        "vd_jobs",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("started_at", _TZ, nullable=True),
        sa.Column("finished_at", _TZ, nullable=True),
        sa.Column("owner", sa.String(100), nullable=True),
        sa.Column("baseline_id", sa.String(32), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_vd_jobs_dataset_created", "vd_jobs", ["dataset", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_vd_jobs_dataset_created", table_name="vd_jobs")
    op.drop_table("vd_jobs")
    op.drop_index("ix_vd_records_dataset_record_id", table_name="vd_records")
    op.drop_index("ix_vd_records_received_at", table_name="vd_records")
    op.drop_table("vd_records")
    op.drop_index("ix_vd_windows_dataset_status", table_name="vd_windows")
    op.drop_index("ix_vd_windows_status_deadline", table_name="vd_windows")
    op.drop_table("vd_windows")
    op.drop_index("ix_vd_baselines_dataset_active", table_name="vd_baselines")
    op.drop_table("vd_baselines")
    op.drop_table("vd_api_keys")
