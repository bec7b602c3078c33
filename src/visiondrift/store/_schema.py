"""The tables of the history store (SQLAlchemy Core), as the latest migration leaves them.

Long and time-indexed, so SQL and Grafana can read them directly::

    vd_runs         one row per run: dataset, window, when, baseline and model identity, verdict
    vd_bad_counts   one row per run and bad-file reason: how many files were unusable, and why
    vd_metrics      one row per run and metric: status, statistic, p-values, effect, values
    vd_documents    one row per run: the report JSON and the batch profile, zlib-compressed, and
                    the few values the slow-drift check reads (compact binary)

Every timestamp is UTC. ``vd_metrics`` repeats the run's dataset and time so a trend is one
indexed query without a join (and so TimescaleDB can partition it by time). Nothing of the images
is kept: no pixels, no thumbnails, no EXIF; the profile holds per-image measurements only.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

__all__ = ["BAD_COUNTS", "DOCUMENTS", "METADATA", "METRICS", "RUNS"]

METADATA = MetaData()

RUNS = Table(
    "vd_runs",
    METADATA,
    Column("run_id", String(32), primary_key=True),
    Column("dataset", String(200), nullable=True),
    Column("ran_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=True),
    Column("window_end", DateTime(timezone=True), nullable=True),
    Column("mode", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("drift", Boolean, nullable=False),
    Column("severity", String(8), nullable=False),
    Column("alpha", Float, nullable=False),
    Column("correction", String(16), nullable=False),
    Column("n_tests", Integer, nullable=False),
    Column("n_drifted", Integer, nullable=False),
    Column("n_files", Integer, nullable=False),
    Column("n_images", Integer, nullable=False),
    Column("n_bad", Integer, nullable=False),
    Column("baseline_name", String(500), nullable=False),
    Column("baseline_hash", String(64), nullable=False),
    Column("model_name", String(500), nullable=True),
    Column("model_hash", String(64), nullable=True),
    Column("package_version", String(40), nullable=False),
    Column("slow_drift", Boolean, nullable=True),
    Index("ix_vd_runs_dataset_ran_at", "dataset", "ran_at"),
    Index("ix_vd_runs_ran_at", "ran_at"),
)

BAD_COUNTS = Table(
    "vd_bad_counts",
    METADATA,
    Column("run_id", String(32), ForeignKey("vd_runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("run_id", "reason", name="pk_vd_bad_counts"),
)

METRICS = Table(
    "vd_metrics",
    METADATA,
    Column("run_id", String(32), ForeignKey("vd_runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("ran_at", DateTime(timezone=True), nullable=False),
    Column("dataset", String(200), nullable=True),
    Column("name", String(200), nullable=False),
    Column("label", String(200), nullable=False),
    Column("family", String(40), nullable=False),
    Column("test", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("statistic", Float, nullable=True),
    Column("p_value", Float, nullable=True),
    Column("p_adjusted", Float, nullable=True),
    Column("effect_size", Float, nullable=True),
    Column("effect_unit", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("baseline_value", Float, nullable=True),
    Column("current_value", Float, nullable=True),
    Column("band_low", Float, nullable=False),
    Column("band_medium", Float, nullable=False),
    Column("band_high", Float, nullable=False),
    Column("n_baseline", Integer, nullable=False),
    Column("n_current", Integer, nullable=False),
    # The time column is in the key so that TimescaleDB can make this table a hypertable.
    PrimaryKeyConstraint("run_id", "name", "ran_at", name="pk_vd_metrics"),
    Index("ix_vd_metrics_dataset_name_ran_at", "dataset", "name", "ran_at"),
    Index("ix_vd_metrics_name_ran_at", "name", "ran_at"),
)

DOCUMENTS = Table(
    "vd_documents",
    METADATA,
    Column(
        "run_id", String(32), ForeignKey("vd_runs.run_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("report", LargeBinary, nullable=True),
    Column("profile", LargeBinary, nullable=True),
    Column("slow_values", LargeBinary, nullable=True),
)
