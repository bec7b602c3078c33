"""Metric texts kept whole: a metric's test and units as long as its report has them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Reports name tests of up to 104 characters and effect units of up to 138; ``vd_metrics`` held 80
of them. PostgreSQL enforces a VARCHAR's length, so those columns become TEXT there (no rewrite
of the table: the change is binary-compatible); SQLite never enforced it and needs nothing. Rows
recorded before keep their cut text (the run's stored report has it whole).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("test", "effect_unit", "unit")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.alter_column(
            "vd_metrics",
            column,
            type_=sa.Text(),
            existing_type=sa.String(80),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.alter_column(
            "vd_metrics",
            column,
            type_=sa.String(80),
            existing_type=sa.Text(),
            existing_nullable=False,
            postgresql_using=f"left({column}, 80)",
        )
