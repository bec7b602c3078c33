"""The one settings tree: every default of profiling, the model options and drift, in one place.

This module is where visiondrift's defaults are written, once. :data:`DEFAULTS` is the tree built
from them; the configuration objects (``ProfileConfig``, ``MeasureConfig``, ``DecodeLimits``,
``DriftConfig``), the keyword defaults of :func:`visiondrift.profile` and
:func:`visiondrift.compare`, and the command line's option defaults and help texts all read
their defaults from here. Change a default here and nowhere else, then run
``python scripts/settings_defaults.py``: it copies the defaults into the generated, pydantic-free
``visiondrift/_defaults.py`` that the profiling path and the command line's option parsing read
(so that they start without importing pydantic); a test fails while the copy differs.

The tree (:class:`Settings`) has one section per part of the pipeline::

    Settings
    ├── profile      ProfileSettings   how a profile is made (reservoir, seed, labels, names...)
    │   ├── measure  MeasureSettings   the per-image measurements
    │   └── decode   DecodeSettings    limits applied before decoding
    ├── model        ModelSettings     the classifier run on every image, and its summaries
    ├── drift        DriftSettings     how a comparison decides (alpha, correction, bands...)
    ├── store        StoreSettings     the history store every monitor run is recorded in
    ├── alerts       AlertsSettings    channels, routing rules, cooldown and retries of alerts
    │   └── retry    RetrySettings     how an undelivered alert is retried
    ├── watch        WatchSettings     the ``watch`` loop: inbox, settle time, schedule, claims
    └── service      ServiceSettings   ``serve``: address, pool, limits, sources, keys
        └── window   WindowSettings    how records are cut into windows (``datasets`` per name)

Secrets (webhook URLs, passwords, routing keys, HMAC secrets) are ``SecretStr`` fields that hold
a *reference*: ``${VARIABLE}`` anywhere in the value is replaced by that environment variable,
and ``file:PATH`` reads the secret from a file, when the alert is sent
(:func:`visiondrift.alerts.resolve_secret`). :func:`render_settings` and every error message mask
them; the next issue adds a ``service`` section the same way.

Where values come from (:func:`load_settings`), each one overriding the one before:

1. the defaults written below;
2. a settings file: ``--config FILE`` or the ``VISIONDRIFT_CONFIG`` variable, else
   ``visiondrift.toml`` in the working directory, else the ``[tool.visiondrift]`` table of
   ``pyproject.toml`` there (relative paths in a file are relative to the file's folder);
3. ``VISIONDRIFT_*`` environment variables, one per key, nested keys joined with ``__``
   (``VISIONDRIFT_DRIFT__ALPHA=0.01``, ``VISIONDRIFT_PROFILE__MEASURE__WORK_SIZE=96``);
4. command-line options (``--alpha 0.01``).

An unknown key or a bad value is a :class:`~visiondrift.errors.ConfigError` naming where it was
read (file, variable or option), the key, what is allowed and what was given. Building a
:class:`Settings` in code (``Settings()``) reads neither files nor the environment: only
:func:`load_settings` does.

May import: the standard library, pydantic, pydantic-settings, :mod:`visiondrift.errors` and
:mod:`visiondrift._settings_load` (the reading and showing, re-exported here) only, so that
every other module can read its defaults from here without a cycle.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from visiondrift._settings_load import (
    CONFIG_ENV,
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    FILE_NAME,
    MASK,
    LoadedSettings,
    Origin,
    field_info,
    find_settings_file,
    load_settings,
    render_settings,
    settings_keys,
)

if TYPE_CHECKING:
    from visiondrift.drift._config import DriftConfig

__all__ = [
    "CONFIG_ENV",
    "DEFAULTS",
    "ENV_PREFIX",
    "FILE_NAME",
    "MASK",
    "AlertsSettings",
    "ChannelSettings",
    "DecodeSettings",
    "DriftSettings",
    "LoadedSettings",
    "MeasureSettings",
    "ModelSettings",
    "Origin",
    "ProfileSettings",
    "RetrySettings",
    "RouteSettings",
    "Settings",
    "WatchSettings",
    "find_settings_file",
    "load_settings",
    "render_settings",
    "setting_default",
    "setting_description",
    "settings_keys",
]

LabelMode = Literal["auto", "imagefolder", "none"]
NamePolicy = Literal["keep", "hash", "drop"]
Correction = Literal["holm", "bh", "bonferroni"]
FailOn = Literal["low", "medium", "high", "never"]
Scaling = Literal["auto", "raw", "0-1", "-1-1", "imagenet"]
ChannelKind = Literal["slack", "email", "pagerduty", "webhook", "command", "retrain"]
AlertSeverity = Literal["low", "medium", "high"]
_CHANNEL_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,100}")


class _Section(BaseModel):
    """A section of the tree: unknown keys are errors, values are validated and frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class MeasureSettings(_Section):
    """Settings of the per-image measurements; profiles built with different ones don't mix."""

    work_size: int = Field(
        128,
        ge=8,
        le=4096,
        description="Target shorter side, in pixels, of the grey working copy on which "
        "sharpness and noise are measured.",
    )
    colour_size: int = Field(
        32,
        ge=4,
        le=4096,
        description="Samples along the shorter side of the pixel grid on which saturation and "
        "colourfulness are measured.",
    )
    noise_size: int = Field(
        64,
        ge=8,
        le=4096,
        description="Side of the central crop, at native resolution, on which noise is estimated.",
    )
    clip_dark: int = Field(
        5,
        ge=0,
        le=255,
        description="Luminance at or below which a pixel counts as crushed to black (0-255).",
    )
    clip_bright: int = Field(
        250,
        ge=0,
        le=255,
        description="Luminance at or above which a pixel counts as blown to white (0-255).",
    )

    @model_validator(mode="after")
    def _dark_below_bright(self) -> MeasureSettings:
        if self.clip_dark >= self.clip_bright:
            raise ValueError(
                "clip_dark must be smaller than clip_bright; got "
                f"clip_dark={self.clip_dark}, clip_bright={self.clip_bright}"
            )
        return self


class DecodeSettings(_Section):
    """Limits applied before an image is decoded."""

    max_pixels: int = Field(
        89_478_485,
        ge=1,
        description="Reject images with more pixels (decompression-bomb guard; the default is "
        "Pillow's own limit).",
    )
    min_side: int = Field(8, ge=1, description="Reject images whose shorter side is smaller.")


class ProfileSettings(_Section):
    """How a profile is made. Profiles merge only when their settings match."""

    reservoir_size: int = Field(
        10_000, ge=10, description="Per-image records kept for the statistical tests."
    )
    seed: int = Field(
        0,
        ge=-(2**63),
        lt=2**63,
        description="Seed of the sampling, the reservoir and the resampling tests.",
    )
    max_listed_bad_files: int = Field(
        1_000, ge=0, description="Most unusable files listed by name (all are counted)."
    )
    labels: LabelMode = Field(
        "auto", description="Read labels from sub-folder names (ImageFolder layout)."
    )
    names: NamePolicy = Field(
        "keep",
        description="What profiles and reports record of file names: keep them, hash them "
        "(keyed HMAC-SHA256, needs a key; the same file keeps its hash across runs) or drop "
        "them (positions only). Locations are then redacted unless --names-root is given.",
    )
    workers: int | None = Field(
        None, ge=1, description="Worker processes (default: the number of CPU cores)."
    )
    max_images: int | None = Field(
        None, ge=1, description="Profile at most N images, sampled reproducibly with --seed."
    )
    measure: MeasureSettings = Field(default_factory=MeasureSettings)
    decode: DecodeSettings = Field(default_factory=DecodeSettings)


class ModelSettings(_Section):
    """The classifier run on every image (none by default) and how its outputs are summarised."""

    path: Path | None = Field(
        None,
        description="ONNX or TFLite classifier to run on every image (predictions, confidence, "
        "class mix and output drift). See 'visiondrift inspect-model MODEL'.",
    )
    config: Path | None = Field(
        None,
        description="JSON or TOML file of model options (path, preprocessing, output, "
        "labels_file, embedding); the options below override it.",
    )
    size: str | None = Field(
        None,
        pattern=r"^\s*\d+\s*([xX]\s*\d+\s*)?$",
        description="Resize images to HEIGHTxWIDTH (e.g. 224x224) for the model; default: read "
        "from the model.",
    )
    output: str | None = Field(
        None,
        description="Name of the output holding class scores (models with several outputs).",
    )
    labels_file: Path | None = Field(
        None,
        description="File of class names in output order, one per line or a JSON list (not to "
        "be confused with --labels, which reads labels from folder names).",
    )
    embedding: str | None = Field(
        None,
        description="Tensor to keep as an embedding (randomly projected to at most "
        "model.embedding_components dimensions).",
    )
    scaling: Scaling | None = Field(
        None,
        description="Pixel value scaling the model was trained with [default: auto].",
    )
    low_confidence: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Top-1 probability below which a prediction counts as low-confidence.",
    )
    embedding_components: int = Field(
        64,
        ge=1,
        description="Most dimensions kept of the model's embedding (seeded random projection).",
    )


class DriftSettings(_Section):
    """How a comparison decides: significance, correction, severity bands, exit status."""

    alpha: float = Field(
        0.05, gt=0.0, lt=1.0, description="Family-wise false-alarm rate of the whole comparison."
    )
    correction: Correction = Field("holm", description="Multiple-testing correction.")
    fail_on: FailOn = Field(
        "low", description="Exit with code 1 when drift of this severity or higher is found."
    )
    power: float = Field(
        0.8,
        gt=0.0,
        lt=1.0,
        description="Power used to estimate the sample size that would settle an inconclusive "
        "large effect.",
    )
    permutations: int = Field(
        2000, ge=99, description="Resamples of the Monte-Carlo null of the categorical tests."
    )
    n_atypical: int = Field(
        12,
        ge=0,
        description="How many of the current images most responsible for the drift the report "
        "lists.",
    )
    seed: int = Field(
        0, description="Seed of every resampling, so that a comparison is reproducible."
    )
    bands: dict[str, tuple[float, float, float]] = Field(
        default_factory=dict,
        description="Severity bands (low, medium, high) per metric family, overriding the "
        "built-in bands family by family, e.g. {pixel_mean = [0.02, 0.04, 0.08]}.",
    )
    class_cost: tuple[tuple[float, ...], ...] | None = Field(
        None,
        description="Square matrix of the cost of mistaking one class for another, in the order "
        "of the model's class names (zero diagonal).",
    )

    def to_config(self) -> DriftConfig:
        """These settings as the :class:`~visiondrift.drift.DriftConfig` of ``compare``."""
        from visiondrift.drift._config import DriftConfig

        return DriftConfig(
            alpha=self.alpha,
            correction=self.correction,
            bands=dict(self.bands),
            power=self.power,
            permutations=self.permutations,
            n_atypical=self.n_atypical,
            seed=self.seed,
            class_cost=self.class_cost,
        )

    @field_validator("bands")
    @classmethod
    def _known_families(
        cls, bands: dict[str, tuple[float, float, float]]
    ) -> dict[str, tuple[float, float, float]]:
        if not bands:
            return bands
        from visiondrift.drift._config import DEFAULT_BANDS  # the metric families (lazy: cycle)

        for family, values in bands.items():
            if family not in DEFAULT_BANDS:
                raise ValueError(
                    f"unknown metric family {family!r}; expected one of {sorted(DEFAULT_BANDS)}"
                )
            if not 0 <= values[0] <= values[1] <= values[2]:
                raise ValueError(
                    f"the bands of {family!r} must be three increasing non-negative numbers "
                    f"(low, medium, high); got {list(values)}"
                )
        return bands


class StoreSettings(_Section):
    """The history store: where monitor runs are recorded, and what the pages show of it."""

    url: str | None = Field(
        None,
        description="Where runs are recorded: a SQLite file, sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST/DB (password from PGPASSWORD or ~/.pgpass, never in the "
        "URL). Also the VISIONDRIFT_STORE variable. Default: history.sqlite in the user data "
        "folder ('visiondrift history where').",
    )
    enabled: bool = Field(
        True, description="Record every monitor run in the store ('--no-store' skips one run)."
    )
    pg_schema: str | None = Field(
        None,
        description="PostgreSQL schema holding the tables (created if missing); default: the "
        "server's search path.",
    )
    timeout: float = Field(
        30.0,
        gt=0.0,
        description="Seconds to wait for a store locked by another writer, or to connect, "
        "before recording fails (the report files are still written).",
    )
    keep_profiles: bool = Field(
        True,
        description="Keep each run's batch profile (compressed), for rolling baselines "
        "('baseline --from-history') and slow-drift checks.",
    )
    trend_runs: int = Field(
        30, ge=2, le=1000, description="Runs shown per trend on the HTML page and in Markdown."
    )


class RetrySettings(_Section):
    """How an alert that could not be delivered is retried (exponential backoff with jitter)."""

    attempts: int = Field(
        3,
        ge=1,
        le=20,
        description="Attempts per alert within one run or flush before it waits for the next "
        "run or 'alerts flush'.",
    )
    backoff: float = Field(
        1.0, gt=0.0, description="Seconds before the second attempt; doubled after each failure."
    )
    max_backoff: float = Field(
        600.0, gt=0.0, description="The longest wait between two attempts, in seconds."
    )
    jitter: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Share of each wait drawn at random (0: none; 0.5: the wait is 50-100% of "
        "the backoff), so that many senders do not retry in step.",
    )
    max_attempts: int = Field(
        12,
        ge=1,
        description="Attempts in all (over runs and flushes) before an alert is given up "
        "('expired', shown by 'alerts list').",
    )
    max_age: float = Field(
        86400.0,
        gt=0.0,
        description="Seconds after which an undelivered alert is given up: news of yesterday's "
        "drift is not sent tomorrow.",
    )


class ChannelSettings(_Section):
    """One alert channel: where messages go and how (``[alerts.channels.NAME]``).

    Which keys a kind needs (the others must stay unset):

    - ``slack``: ``url`` (the incoming webhook's URL);
    - ``email``: ``host``, ``sender``, ``to``; ``port``, ``security``, ``username``,
      ``password``, ``attach_html``, ``ca_file`` optional;
    - ``pagerduty``: ``routing_key``; ``url`` (the Events API v2 URL) optional;
    - ``webhook``: ``url``; ``secret`` (HMAC-SHA256 signature), ``headers`` optional;
    - ``command``: ``argv`` (the program and its arguments; no shell);
    - ``retrain``: ``url`` or ``argv``; ``format`` (``visiondrift``, ``github``, ``airflow``),
      ``event_type``, ``secret``, ``headers`` optional.
    """

    kind: ChannelKind = Field(description="What the channel is.")
    url: SecretStr | None = Field(
        None,
        description="Where messages are posted (Slack's incoming webhook, the webhook or "
        "trigger receiver, PagerDuty's events URL); a reference such as ${SLACK_WEBHOOK_URL}.",
    )
    routing_key: SecretStr | None = Field(
        None, description="PagerDuty: the integration's routing key (a reference)."
    )
    secret: SecretStr | None = Field(
        None,
        description="Webhook and retrain: the shared secret of the X-Visiondrift-Signature "
        "HMAC-SHA256 header (a reference).",
    )
    headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Extra HTTP headers; values may hold references "
        "(Authorization = 'Bearer ${GITHUB_TOKEN}').",
    )
    format: Literal["visiondrift", "github", "airflow"] = Field(
        "visiondrift",
        description="Retrain: the request's shape (visiondrift's own JSON, a GitHub "
        "repository_dispatch, an Airflow DAG run).",
    )
    event_type: str = Field(
        "visiondrift-retrain", description="Retrain, github format: the dispatch's event_type."
    )
    argv: tuple[str, ...] | None = Field(
        None,
        description="Command and retrain: the program and its arguments, run without a shell; "
        "the report's path and the verdict are in its environment (VISIONDRIFT_*).",
    )
    host: str | None = Field(None, description="Email: the SMTP server.")
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Email: the SMTP port; default 587 with starttls, 465 with tls, 25 without.",
    )
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="Email: STARTTLS, implicit TLS, or none (a local relay only)."
    )
    username: str | None = Field(None, description="Email: the SMTP login.")
    password: SecretStr | None = Field(None, description="Email: the SMTP password (a reference).")
    sender: str | None = Field(None, description="Email: the From address.")
    to: tuple[str, ...] = Field((), description="Email: the recipients.")
    attach_html: bool = Field(False, description="Email: attach the run's HTML page.")
    ca_file: str | None = Field(
        None,
        description="Email: a PEM file of the certificate authorities to trust for the SMTP "
        "server (a private relay's own CA); default: the system's.",
    )
    timeout: float = Field(
        10.0, gt=0.0, description="Seconds one delivery may take before it counts as failed."
    )
    cooldown: float | None = Field(
        None, ge=0.0, description="Overrides alerts.cooldown for this channel."
    )
    resolve: bool = Field(
        True, description="Tell this channel when a drifted dataset comes back clean."
    )

    @model_validator(mode="after")
    def _keys_of_kind(self) -> ChannelSettings:
        needs: dict[str, tuple[str, ...]] = {
            "slack": ("url",),
            "email": ("host", "sender", "to"),
            "pagerduty": ("routing_key",),
            "webhook": ("url",),
            "command": ("argv",),
            "retrain": (),
        }
        allowed: dict[str, set[str]] = {
            "slack": {"url"},
            "email": {
                "host",
                "port",
                "security",
                "username",
                "password",
                "sender",
                "to",
                "attach_html",
                "ca_file",
            },
            "pagerduty": {"routing_key", "url"},
            "webhook": {"url", "secret", "headers"},
            "command": {"argv"},
            "retrain": {"url", "argv", "format", "event_type", "secret", "headers"},
        }
        common = {"kind", "timeout", "cooldown", "resolve"}
        missing = [k for k in needs[self.kind] if not getattr(self, k)]
        if self.kind == "retrain" and (self.url is None) == (self.argv is None):
            missing.append("url or argv (exactly one)")
        if missing:
            raise ValueError(f"a {self.kind} channel needs {', '.join(missing)}")
        stray = sorted(
            k for k in self.model_fields_set if k not in allowed[self.kind] and k not in common
        )
        if stray:
            raise ValueError(
                f"a {self.kind} channel takes no {', '.join(stray)} (it takes "
                f"{', '.join(sorted(allowed[self.kind] | common))})"
            )
        if self.argv is not None and not self.argv:
            raise ValueError("argv needs at least the program to run")
        return self


class RouteSettings(_Section):
    """A routing rule: which runs go to which channels (``[[alerts.routes]]``).

    A run goes to the union of the channels of every rule it matches; a rule matches when the
    run's severity is one of ``severities``, its dataset matches one of ``datasets`` (shell
    patterns; empty: any) and one of its drifted metric families is in ``families`` (empty: any).
    """

    channels: tuple[str, ...] = Field(min_length=1, description="The channels' names.")
    severities: tuple[AlertSeverity, ...] = Field(
        ("low", "medium", "high"), min_length=1, description="The severities that match."
    )
    datasets: tuple[str, ...] = Field((), description="Dataset name patterns; empty: any.")
    families: tuple[str, ...] = Field(
        (), description="Metric families (pixel_mean, property, model...); empty: any."
    )


class AlertsSettings(_Section):
    """Alerts: the channels, the routing rules, cooldown and retries."""

    enabled: bool = Field(
        True, description="Send alerts (when channels and routes are set; '--no-alerts' skips)."
    )
    cooldown: float = Field(
        21600.0,
        ge=0.0,
        description="Seconds during which the same state of a dataset is not re-sent to a "
        "channel, unless its severity rises.",
    )
    base_url: str | None = Field(
        None,
        description="Where the reports are served; a message links base_url + the report's "
        "file name.",
    )
    include_paths: bool = Field(
        False,
        description="Let messages name file paths (the report's, the batch's); by default "
        "they name only the dataset and the report's file name.",
    )
    retry: RetrySettings = Field(default_factory=RetrySettings)
    channels: dict[str, ChannelSettings] = Field(
        default_factory=dict, description="The channels by name ([alerts.channels.NAME])."
    )
    routes: tuple[RouteSettings, ...] = Field(
        (), description="The routing rules ([[alerts.routes]]), in order."
    )

    @model_validator(mode="after")
    def _routes_name_channels(self) -> AlertsSettings:
        for name in self.channels:
            if not _CHANNEL_NAME.fullmatch(name):
                raise ValueError(
                    f"the channel name {name!r} must be letters, digits, '-' or '_' (at most 100)"
                )
        for number, route in enumerate(self.routes, 1):
            unknown = [c for c in route.channels if c not in self.channels]
            if unknown:
                raise ValueError(
                    f"route {number} names the channel(s) {', '.join(map(repr, unknown))}, "
                    f"which are not defined; defined: {sorted(self.channels) or 'none'}"
                )
        return self


class WatchSettings(_Section):
    """The ``watch`` loop: an inbox of batches, or a schedule; claims keep each batch single."""

    inbox: str | None = Field(
        None,
        description="A folder or fsspec URL whose sub-folders are batches (production/20261129/).",
    )
    settle: float = Field(
        60.0,
        ge=0.0,
        description="Seconds without a new or changed file before a batch counts as complete.",
    )
    marker: str | None = Field(
        None,
        description="A file name (such as _SUCCESS) that marks a batch complete; with it, "
        "settle is not waited for.",
    )
    poll: float = Field(10.0, gt=0.0, description="Seconds between two looks at the inbox.")
    cron: str | None = Field(
        None,
        description="A cron expression (5 fields, or 6 with seconds first) on which the "
        "source is monitored.",
    )
    source: str | None = Field(
        None,
        description="With cron: the batch's source, with date placeholders "
        "(production/{date:%Y%m%d}/).",
    )
    timezone: str = Field("UTC", description="The time zone of cron and of the placeholders.")
    lease: float = Field(
        600.0,
        gt=0.0,
        description="Seconds a claim lives without a heartbeat; a batch whose watcher died "
        "is taken again after it.",
    )
    max_attempts: int = Field(
        3,
        ge=1,
        description="Attempts at a batch in all (the first, and one after each crash of its "
        "watcher) before it is failed as 'crashed N times'.",
    )


class WindowSettings(_Section):
    """How the service cuts a dataset's stream of records into windows (tumbling)."""

    count: int | None = Field(
        1000,
        ge=1,
        description="A window closes when it holds this many records; none: no count limit.",
    )
    seconds: float | None = Field(
        3600.0,
        gt=0.0,
        description="A window closes this many seconds after its first record; none: no time "
        "limit (at least one of count and seconds must be set).",
    )

    @model_validator(mode="after")
    def _one_limit(self) -> WindowSettings:
        if self.count is None and self.seconds is None:
            raise ValueError("a window needs a count, a time in seconds, or both")
        return self


class ServiceSettings(_Section):
    """``visiondrift serve``: the HTTP service, its windows, limits and keys."""

    host: str = Field("127.0.0.1", description="The address the service listens on.")
    port: int = Field(8080, ge=0, le=65535, description="The port the service listens on.")
    workers: int = Field(
        1, ge=1, le=64, description="Server processes (they share the store and the metrics)."
    )
    pool_workers: int = Field(
        2,
        ge=1,
        le=64,
        description="Threads per process for the CPU-heavy work: decoding, the model, "
        "comparing, rendering reports.",
    )
    close_processes: int = Field(
        1,
        ge=0,
        le=64,
        description="Processes per server process that close windows (build, compare and "
        "record their verdicts) at a lower CPU priority, off the process that takes requests; "
        "0: close them in the pool's threads.",
    )
    queue_size: int = Field(
        16,
        ge=1,
        description="Jobs (batch runs, baselines, image records) waiting for the pool; when "
        "full, the service answers 429 with Retry-After.",
    )
    record_queue: int = Field(
        2000,
        ge=1,
        description="Record requests waiting to be written to the store; when full, 429.",
    )
    retry_after: int = Field(
        1, ge=1, description="Seconds a client is told to wait (Retry-After) after a 429."
    )
    max_request_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="The largest request body accepted (413 above)."
    )
    max_images: int = Field(
        1000, ge=1, description="The most images accepted in one uploaded batch or baseline."
    )
    max_records: int = Field(10000, ge=1, description="The most records accepted in one request.")
    roots: tuple[Path, ...] = Field(
        (),
        description="Folders the service may read batch and baseline sources from (a source "
        "is a path under one of them); empty: no folder.",
    )
    url_prefixes: tuple[str, ...] = Field(
        (),
        description="fsspec URL prefixes the service may read sources from (s3://bucket/"
        "prod/); empty: no URL.",
    )
    data_dir: Path | None = Field(
        None,
        description="Where the service keeps rendered reports of its runs; default: "
        "service/ in the user data folder.",
    )
    window: WindowSettings = Field(
        default_factory=WindowSettings, description="The windows of every dataset."
    )
    datasets: dict[str, WindowSettings] = Field(
        default_factory=dict, description="Per-dataset windows that replace 'window'."
    )
    keep_records: float = Field(
        7 * 86400.0,
        gt=0.0,
        description="Seconds the records of a closed window are kept (for labels that "
        "arrive later), then deleted.",
    )
    auth: bool = Field(
        True, description="Every route but health and metrics needs an API key (bearer)."
    )
    metrics_auth: bool = Field(False, description="/metrics needs an API key (scope read) too.")
    cors_origins: tuple[str, ...] = Field(
        (), description="Origins allowed by CORS; empty: CORS off."
    )
    heartbeat: float = Field(
        15.0, gt=0.0, description="Seconds between keep-alive comments on an event stream."
    )

    def window_for(self, dataset: str) -> WindowSettings:
        """The window settings of ``dataset``."""
        return self.datasets.get(dataset, self.window)


class Settings(BaseSettings):
    """The whole settings tree; ``Settings()`` is the defaults (it reads no file, no variable).

    Read the effective settings of a run with :func:`load_settings`.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        case_sensitive=False,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    profile: ProfileSettings = Field(default_factory=ProfileSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    watch: WatchSettings = Field(default_factory=WatchSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given in code: files and variables are read by load_settings."""
        return (init_settings,)


#: The defaults, built once. Every default of visiondrift is read from this tree.
DEFAULTS: Final = Settings()


def setting_default(key: str) -> Any:
    """The default of a dotted key of :class:`Settings` (``setting_default("drift.alpha")``)."""
    value: Any = DEFAULTS
    for part in key.split("."):
        value = getattr(value, part)
    return value


def setting_description(key: str) -> str:
    """The documented meaning of a dotted key of :class:`Settings`."""
    return str(field_info(key).description or "")
