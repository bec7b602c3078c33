"""The alert outbox, each channel's alert state, and the watcher's batch claims.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

``vd_alerts`` holds every message to an alert channel before it is sent (the outbox) and after
(what the receiver answered); ``vd_alert_state`` what each (dataset, channel) was last told, for
cooldown, de-duplication and "resolved" messages; ``vd_claims`` which batches a ``watch`` process
took, so that each batch is processed exactly once across restarts and several watchers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vd_alerts",
        sa.Column("alert_id", sa.String(32), primary_key=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("dataset", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("next_attempt_at", _TZ, nullable=True),
        sa.Column("sent_at", _TZ, nullable=True),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("claimed_until", _TZ, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_vd_alerts_status_next", "vd_alerts", ["status", "next_attempt_at"])
    op.create_index(
        "ix_vd_alerts_dataset_channel_created", "vd_alerts", ["dataset", "channel", "created_at"]
    )
    op.create_index("ix_vd_alerts_created_at", "vd_alerts", ["created_at"])
    op.create_table(
        "vd_alert_state",
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("since", _TZ, nullable=False),
        sa.Column("last_sent_at", _TZ, nullable=True),
        sa.Column("last_alert_id", sa.String(32), nullable=True),
        sa.Column("last_run_id", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("dataset", "channel", name="pk_vd_alert_state"),
    )
    op.create_table(
        "vd_claims",
        sa.Column("batch_key", sa.String(500), primary_key=True),
        sa.Column("dataset", sa.String(200), nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_at", _TZ, nullable=False),
        sa.Column("heartbeat_at", _TZ, nullable=False),
        sa.Column("finished_at", _TZ, nullable=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_vd_claims_status", "vd_claims", ["status", "heartbeat_at"])


def downgrade() -> None:
    op.drop_table("vd_claims")
    op.drop_table("vd_alert_state")
    op.drop_index("ix_vd_alerts_created_at", table_name="vd_alerts")
    op.drop_index("ix_vd_alerts_dataset_channel_created", table_name="vd_alerts")
    op.drop_index("ix_vd_alerts_status_next", table_name="vd_alerts")
    op.drop_table("vd_alerts")
