"""The tables of the history store (SQLAlchemy Core), as the latest migration leaves them.

Long and time-indexed, so SQL and Grafana can read them directly::

    vd_runs         one row per run: dataset, window, when, baseline and model identity, verdict
    vd_bad_counts   one row per run and bad-file reason: how many files were unusable, and why
    vd_metrics      one row per run and metric: status, statistic, p-values, effect, values
    vd_documents    one row per run: the report JSON and the batch profile, zlib-compressed, and
                    the few values the slow-drift check reads (compact binary)
    vd_alerts       the alert outbox: every message to a channel, pending until delivered, with
                    its attempts, next attempt, the receiver's answer and the message (no secret)
    vd_alert_state  one row per (dataset, channel): what that channel was last told (firing at a
                    severity, or clear) and when, for cooldown, de-duplication and "resolved"
    vd_claims       one row per batch a watcher took: who took it, its heartbeat, and how it ended
                    (done with its run, or failed with the reason), so a batch is processed once
    vd_api_keys     one row per API key of the service: its public id, name, scopes and the
                    SHA-256 of its secret (never the secret), when created, revoked, last used
    vd_baselines    one row per baseline uploaded to the service: dataset, name, identity, the
                    profile (zlib-compressed JSON); one active baseline per dataset
    vd_windows      one row per window of records the service opened: dataset, baseline, status
                    (open, closing, closed, failed), when it closes, how many records, its run
    vd_records      one row per record with an image (or unusable) posted to the service, written
                    before it is acknowledged: its probabilities (float32), the measurements of
                    its image (no pixels), its label (joined later by record id), metadata
    vd_record_blocks one row per request of probability records, written before it is
                    acknowledged: the records' probabilities as one float32 matrix, and their
                    ids, labels, timestamps and metadata as JSON arrays
    vd_record_ids   one row per record id of a block: where the record is (window, block, place),
                    so that a label posted later finds it. Records of every kind are kept
                    ``service.keep_records``
    vd_jobs         one row per batch run or baseline the service was asked to build: queued,
                    running, done or failed, and why

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

__all__ = [
    "ALERTS",
    "ALERT_STATE",
    "API_KEYS",
    "BAD_COUNTS",
    "BASELINES",
    "CLAIMS",
    "DOCUMENTS",
    "JOBS",
    "METADATA",
    "METRICS",
    "RECORDS",
    "RECORD_BLOCKS",
    "RECORD_IDS",
    "RUNS",
    "WINDOWS",
]

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

# Alerts outlive the runs they tell of (a pruned run keeps its alerts): no foreign key on run_id.
ALERTS = Table(
    "vd_alerts",
    METADATA,
    Column("alert_id", String(32), primary_key=True),
    Column("run_id", String(32), nullable=True),
    Column("dataset", String(200), nullable=True),
    Column("channel", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    # trigger | resolve | test
    Column("event", String(16), nullable=False),
    Column("severity", String(8), nullable=False),
    # pending | sent | rejected (a 4xx that will not heal) | expired (gave up) | suppressed
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    # A sender takes a pending alert for a while, so two processes never send it both.
    Column("claimed_by", String(100), nullable=True),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("response", Text, nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Index("ix_vd_alerts_status_next", "status", "next_attempt_at"),
    Index("ix_vd_alerts_dataset_channel_created", "dataset", "channel", "created_at"),
    Index("ix_vd_alerts_created_at", "created_at"),
)

ALERT_STATE = Table(
    "vd_alert_state",
    METADATA,
    # '' stands for "no dataset" (a key column cannot be NULL).
    Column("dataset", String(200), nullable=False),
    Column("channel", String(100), nullable=False),
    # firing | clear
    Column("state", String(16), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("last_sent_at", DateTime(timezone=True), nullable=True),
    Column("last_alert_id", String(32), nullable=True),
    Column("last_run_id", String(32), nullable=True),
    PrimaryKeyConstraint("dataset", "channel", name="pk_vd_alert_state"),
)

CLAIMS = Table(
    "vd_claims",
    METADATA,
    Column("batch_key", String(500), primary_key=True),
    Column("dataset", String(200), nullable=True),
    Column("source", Text, nullable=False),
    # running | done | failed
    Column("status", String(16), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("run_id", String(32), nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_vd_claims_status", "status", "heartbeat_at"),
)

API_KEYS = Table(
    "vd_api_keys",
    METADATA,
    # The public part of a key (``vd_<key_id>_<secret>``): it finds the row; the secret is
    # checked against its SHA-256 in constant time.
    Column("key_id", String(16), primary_key=True),
    Column("name", String(100), nullable=False),
    # Comma-separated: read, write, admin
    Column("scopes", String(40), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
)

BASELINES = Table(
    "vd_baselines",
    METADATA,
    Column("baseline_id", String(32), primary_key=True),
    Column("dataset", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    # images | predictions
    Column("kind", String(16), nullable=False),
    Column("n_images", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("profile", LargeBinary, nullable=False),
    Index("ix_vd_baselines_dataset_active", "dataset", "active"),
)

WINDOWS = Table(
    "vd_windows",
    METADATA,
    Column("window_id", String(32), primary_key=True),
    Column("dataset", String(200), nullable=False),
    Column("baseline_id", String(32), nullable=False),
    # open | closing | closed | failed
    Column("status", String(16), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    # When a time-limited window closes (None: by count only).
    Column("deadline", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("n_records", Integer, nullable=False),
    Column("n_bad", Integer, nullable=False),
    Column("run_id", String(32), nullable=True),
    # The process closing it, and until when (a closer that died is replaced after that).
    Column("claimed_by", String(100), nullable=True),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_vd_windows_dataset_status", "dataset", "status"),
    Index("ix_vd_windows_status_deadline", "status", "deadline"),
)

RECORDS = Table(
    "vd_records",
    METADATA,
    Column("window_id", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("dataset", String(200), nullable=False),
    Column("record_id", String(200), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("ts", DateTime(timezone=True), nullable=True),
    Column("label", String(200), nullable=True),
    # float32 probabilities, little-endian
    Column("probs", LargeBinary, nullable=True),
    # The image's measurements (histograms and property values), zlib-compressed; no pixels.
    Column("measured", LargeBinary, nullable=True),
    # Why the record was unusable (an image that did not decode...), or None.
    Column("bad_reason", String(40), nullable=True),
    Column("detail", Text, nullable=True),
    # JSON of the record's metadata (device, site...)
    Column("meta", Text, nullable=True),
    PrimaryKeyConstraint("window_id", "seq", name="pk_vd_records"),
    Index("ix_vd_records_dataset_record_id", "dataset", "record_id"),
)

RECORD_BLOCKS = Table(
    "vd_record_blocks",
    METADATA,
    Column("window_id", String(32), nullable=False),
    # The seq of its first record in the window (seqs are shared with vd_records).
    Column("seq", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Column("dataset", String(200), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("classes", Integer, nullable=False),
    # (n, classes) float32 probabilities, little-endian, row after row
    Column("probs", LargeBinary, nullable=False),
    # JSON arrays of n items (NULL: no record has one); ts as ISO 8601 texts, meta as objects
    Column("ids", Text, nullable=True),
    Column("labels", Text, nullable=True),
    Column("ts", Text, nullable=True),
    Column("meta", Text, nullable=True),
    PrimaryKeyConstraint("window_id", "seq", name="pk_vd_record_blocks"),
)

RECORD_IDS = Table(
    "vd_record_ids",
    METADATA,
    Column("dataset", String(200), nullable=False),
    Column("record_id", String(200), nullable=False),
    Column("window_id", String(32), nullable=False),
    # The block's seq and the record's place in it (the record's seq is their sum).
    Column("seq", Integer, nullable=False),
    Column("pos", Integer, nullable=False),
    PrimaryKeyConstraint(
        "dataset", "record_id", "window_id", "seq", "pos", name="pk_vd_record_ids"
    ),
    # The key is the table: SQLite keeps no second B-tree of rowids for it.
    sqlite_with_rowid=False,
)

JOBS = Table(
    "vd_jobs",
    METADATA,
    # A batch run's job id is its run id.
    Column("job_id", String(32), primary_key=True),
    Column("dataset", String(200), nullable=False),
    # run | baseline
    Column("kind", String(16), nullable=False),
    # queued | running | done | failed
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("owner", String(100), nullable=True),
    Column("baseline_id", String(32), nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_vd_jobs_dataset_created", "dataset", "created_at"),
)
