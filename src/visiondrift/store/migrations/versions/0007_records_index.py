"""Records lose their index on ``received_at``: nothing reads records by the time they
arrived (old records are deleted by window), and every posted record paid for it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_vd_records_received_at", table_name="vd_records")


def downgrade() -> None:
    op.create_index("ix_vd_records_received_at", "vd_records", ["received_at"])
