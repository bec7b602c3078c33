"""Write dashboards/visiondrift.json, the Grafana dashboard of the service, from code.

Built with grafana-foundation-sdk (Grafana's own typed builders; the test extra pins it, so the
JSON is reproducible). Two panel sets:

- **Prometheus** (the service's ``/metrics``): each dataset's latest severity and drift flag,
  the headline metrics' effect sizes over time with the severity bands as thresholds, their
  p-values, records and images per second, the bad-file share, windows, alert deliveries and
  failures, request latency and queues;
- **PostgreSQL** (the history store's tables, read directly): runs, severity over time, the
  headline metrics' effect sizes, the drifted metrics, bad files by reason, the alert outbox.

``python scripts/grafana_dashboard.py --check`` exits 1 when the file is out of date (a test
runs it; another runs every query of the file against a real Prometheus and PostgreSQL).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Final

from _generated import write_or_check
from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from visiondrift.drift import DEFAULT_BANDS
from visiondrift.report._trends import HEADLINE_METRICS
from visiondrift.settings import DEFAULTS

TARGET = Path(__file__).resolve().parent.parent / "dashboards" / "visiondrift.json"

#: The family of each headline metric: its severity bands are the panel's thresholds.
HEADLINE_FAMILIES: Final[dict[str, str]] = {
    "brightness": "pixel_mean",
    "sharpness": "texture",
    "confidence": "confidence",
    "class_mix": "class_mix",
    "bad_files": "integrity",
}
#: What each headline metric's effect size measures (the panel's description).
HEADLINE_UNITS: Final[dict[str, str]] = {
    "brightness": "shift of the pooled pixel mean, 0-1 scale",
    "sharpness": "Wasserstein-1 distance between per-image values, in baseline standard deviations",
    "confidence": "shift of the mean top-1 probability",
    "class_mix": "total variation distance between the predicted-class mixes",
    "bad_files": "difference in the share of unusable files",
}
PROM: Final = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
PG: Final = model.DataSourceRef(type_val="grafana-postgresql-datasource", uid="${postgres}")
DATASET: Final = 'dataset=~"$dataset"'
SEVERITY_COLOURS: Final[tuple[tuple[str, str], ...]] = (
    ("none", "green"),
    ("low", "yellow"),
    ("medium", "orange"),
    ("high", "red"),
)


class SqlQuery(cogvariants.Dataquery):
    """A raw SQL query of Grafana's PostgreSQL data source (the SDK has no builder for it)."""

    def __init__(self, ref_id: str, raw_sql: str, fmt: str) -> None:
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.format = fmt

    def to_json(self) -> dict[str, object]:
        """The target as the dashboard JSON holds it."""
        return {
            "datasource": PG.to_json(),
            "editorMode": "code",
            "format": self.format,
            "rawQuery": True,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }


class Sql(cogbuilder.Builder[cogvariants.Dataquery]):
    """Builds a :class:`SqlQuery` (``fmt``: ``table`` or ``time_series``)."""

    def __init__(self, raw_sql: str, *, fmt: str = "table", ref_id: str = "A") -> None:
        self._query = SqlQuery(ref_id, " ".join(raw_sql.split()), fmt)

    def build(self) -> cogvariants.Dataquery:
        """The query."""
        return self._query


def prom(expr: str, legend: str, ref_id: str = "A") -> prometheus.Dataquery:
    """A range query of the Prometheus data source."""
    return (
        prometheus.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref_id)
        .range()
        .datasource(PROM)
    )


def severity_thresholds(
    bands: tuple[float, float, float] = (1.0, 2.0, 3.0),
) -> dash.ThresholdsConfig:
    """Green below the low band, then yellow, orange, red."""
    steps = [model.Threshold(value=None, color="green")]
    for value, (_, colour) in zip(bands, SEVERITY_COLOURS[1:], strict=True):
        steps.append(model.Threshold(value=value, color=colour))
    return dash.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(steps)


def severity_mappings() -> list[model.ValueMapping]:
    """0-3 shown as none, low, medium, high in their colours."""
    return [
        model.ValueMap(
            options={
                str(i): model.ValueMappingResult(text=name, color=colour, index=i)
                for i, (name, colour) in enumerate(SEVERITY_COLOURS)
            }
        )
    ]


def _reduce_last() -> common_b.ReduceDataOptions:
    return common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def verdict_panels() -> list[cogbuilder.Builder[model.Panel]]:
    """The datasets' latest verdicts."""
    severity = f"max by (dataset) (visiondrift_window_severity{{{DATASET}}})"
    return [
        stat.Panel()
        .title("Severity of the latest window")
        .description(
            "Each dataset's latest run (a closed window or a batch): none, low, medium, high."
        )
        .datasource(PROM)
        .with_target(prom(severity, "{{dataset}}"))
        .mappings(severity_mappings())
        .thresholds(severity_thresholds())
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .reduce_options(_reduce_last())
        .min(0)
        .max(3)
        .span(8)
        .height(5),
        stat.Panel()
        .title("Drift")
        .description("1 when the dataset's latest run found drift.")
        .datasource(PROM)
        .with_target(
            prom(f"max by (dataset) (visiondrift_window_drift{{{DATASET}}})", "{{dataset}}")
        )
        .mappings(
            [
                model.ValueMap(
                    options={
                        "0": model.ValueMappingResult(text="no drift", color="green", index=0),
                        "1": model.ValueMappingResult(text="drift", color="red", index=1),
                    }
                )
            ]
        )
        .thresholds(severity_thresholds((1.0, 1.0, 1.0)))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .reduce_options(_reduce_last())
        .span(8)
        .height(5),
        stat.Panel()
        .title("Since the latest run")
        .description("How long ago each dataset's latest run finished.")
        .datasource(PROM)
        .with_target(
            prom(
                "time() - max by (dataset) "
                f"(visiondrift_window_last_run_timestamp_seconds{{{DATASET}}})",
                "{{dataset}}",
            )
        )
        .unit("s")
        .reduce_options(_reduce_last())
        .span(8)
        .height(5),
        statetimeline.Panel()
        .title("Severity over time")
        .description("Each dataset's latest severity, as Prometheus scraped it.")
        .datasource(PROM)
        .with_target(prom(severity, "{{dataset}}"))
        .mappings(severity_mappings())
        .thresholds(severity_thresholds())
        .min(0)
        .max(3)
        .span(24)
        .height(6),
    ]


def headline_panels() -> list[cogbuilder.Builder[model.Panel]]:
    """Each headline metric's effect size over time, its severity bands as thresholds."""
    panels: list[cogbuilder.Builder[model.Panel]] = []
    for name in HEADLINE_METRICS:
        family = HEADLINE_FAMILIES[name]
        low, medium, high = DEFAULT_BANDS[family]
        expr = (
            f'max by (dataset) (abs(visiondrift_metric_effect_size{{{DATASET},metric="{name}"}}))'
        )
        panels.append(
            timeseries.Panel()
            .title(f"{name}: effect size")
            .description(
                f"The absolute effect size of {name} in each dataset's latest run "
                f"({HEADLINE_UNITS[name]}). Thresholds: the default severity bands of the "
                f"{family} family (low {low:g}, medium {medium:g}, high {high:g}); the bands "
                "a run applied are in visiondrift_metric_band."
            )
            .datasource(PROM)
            .with_target(prom(expr, "{{dataset}}"))
            .thresholds(severity_thresholds((low, medium, high)))
            .thresholds_style(
                common_b.GraphThresholdsStyleConfig().mode(
                    common.GraphThresholdsStyleMode.DASHED_AND_AREA
                )
            )
            .min(0)
            .span(8)
            .height(7)
        )
    alpha = DEFAULTS.drift.alpha
    panels.append(
        timeseries.Panel()
        .title("Headline metrics: adjusted p-values")
        .description(
            "The adjusted p-value (family-wise correction) of each headline metric in each "
            f"dataset's latest run; below alpha ({alpha:g} by default) it drifted, if its "
            "effect size also reaches the low band."
        )
        .datasource(PROM)
        .with_target(
            prom(
                f"min by (dataset, metric) (visiondrift_metric_p_value{{{DATASET}}})",
                "{{dataset}} {{metric}}",
            )
        )
        .thresholds(
            dash.ThresholdsConfig()
            .mode(model.ThresholdsMode.ABSOLUTE)
            .steps([model.Threshold(value=None, color="red"), model.Threshold(alpha, "green")])
        )
        .thresholds_style(
            common_b.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
        )
        .scale_distribution(
            common_b.ScaleDistributionConfig().type(common.ScaleDistribution.LOG).log(10)
        )
        .max(1)
        .span(8)
        .height(7)
    )
    return panels


def traffic_panels() -> list[cogbuilder.Builder[model.Panel]]:
    """Records, images and unusable files received; windows."""
    rate = "[$__rate_interval]"
    records = f"sum by (dataset) (rate(visiondrift_records_received_total{{{DATASET}}}{rate}))"
    images = f"sum by (dataset) (rate(visiondrift_images_received_total{{{DATASET}}}{rate}))"
    bad = f"sum by (dataset) (rate(visiondrift_bad_files_total{{{DATASET}}}{rate}))"
    latest_share = (
        f"max by (dataset) (visiondrift_window_bad_files{{{DATASET}}}) / max by (dataset) "
        f"(visiondrift_window_images{{{DATASET}}} + visiondrift_window_bad_files{{{DATASET}}})"
    )
    return [
        timeseries.Panel()
        .title("Records per second")
        .description("Records acknowledged by the service, and images received, per second.")
        .datasource(PROM)
        .with_target(prom(records, "{{dataset}} records"))
        .with_target(prom(images, "{{dataset}} images", "B"))
        .unit("reqps")
        .min(0)
        .span(8)
        .height(7),
        timeseries.Panel()
        .title("Bad-file share")
        .description(
            "Unusable records or files among those received (rate), and in each dataset's "
            "latest run."
        )
        .datasource(PROM)
        .with_target(prom(f"{bad} / {records}", "{{dataset}} received"))
        .with_target(prom(latest_share, "{{dataset}} latest run", "B"))
        .unit("percentunit")
        .min(0)
        .span(8)
        .height(7),
        timeseries.Panel()
        .title("Unusable files by reason")
        .description("Unusable records or files received per second, by reason.")
        .datasource(PROM)
        .with_target(
            prom(
                f"sum by (reason) (rate(visiondrift_bad_files_total{{{DATASET}}}{rate}))",
                "{{reason}}",
            )
        )
        .unit("reqps")
        .min(0)
        .span(8)
        .height(7),
        timeseries.Panel()
        .title("Windows closed")
        .description("Windows closed (compared and recorded) or failed, per dataset.")
        .datasource(PROM)
        .with_target(
            prom(
                "sum by (dataset, status) "
                f"(increase(visiondrift_windows_closed_total{{{DATASET}}}{rate}))",
                "{{dataset}} {{status}}",
            )
        )
        .min(0)
        .span(8)
        .height(7),
        timeseries.Panel()
        .title("Records in the open window")
        .description("Records waiting in each dataset's open window.")
        .datasource(PROM)
        .with_target(
            prom(f"max by (dataset) (visiondrift_window_open_records{{{DATASET}}})", "{{dataset}}")
        )
        .min(0)
        .span(8)
        .height(7),
        timeseries.Panel()
        .title("Verdicts waiting")
        .description(
            "Windows whose count or time was reached and whose verdict is not recorded yet. "
            "A line that keeps rising: windows close faster than their verdicts are built "
            "(larger windows, or more closing processes)."
        )
        .datasource(PROM)
        .with_target(
            prom(f"max by (dataset) (visiondrift_windows_closing{{{DATASET}}})", "{{dataset}}")
        )
        .min(0)
        .span(8)
        .height(7),
    ]


def alert_panels() -> list[cogbuilder.Builder[model.Panel]]:
    """Alert deliveries, failures and the outbox."""
    return [
        timeseries.Panel()
        .title("Alert deliveries")
        .description(
            "Alerts that reached a final status (sent, rejected, expired, suppressed), and "
            "those pending, per channel."
        )
        .datasource(PROM)
        .with_target(
            prom(
                "sum by (channel, status) (visiondrift_alerts_total)",
                "{{channel}} {{status}}",
            )
        )
        .with_target(
            prom("sum by (channel) (visiondrift_alerts_pending)", "{{channel}} pending", "B")
        )
        .min(0)
        .span(12)
        .height(7),
        timeseries.Panel()
        .title("Alert delivery failures")
        .description(
            "Failed delivery attempts (attempts that did not send), and alerts given up "
            "(rejected or expired), per channel."
        )
        .datasource(PROM)
        .with_target(
            prom(
                "sum by (channel) (visiondrift_alert_attempts_total) - sum by (channel) "
                '(visiondrift_alerts_total{status="sent"})',
                "{{channel}} failed attempts",
            )
        )
        .with_target(
            prom(
                'sum by (channel) (visiondrift_alerts_total{status=~"rejected|expired"})',
                "{{channel}} given up",
                "B",
            )
        )
        .min(0)
        .span(12)
        .height(7),
    ]


def service_panels() -> list[cogbuilder.Builder[model.Panel]]:
    """Latency, request rate, queues, the store."""
    buckets = "rate(visiondrift_http_request_duration_seconds_bucket[$__rate_interval])"
    return [
        timeseries.Panel()
        .title("Request latency")
        .description("p50 and p99 of each route's latency (route templates, never raw paths).")
        .datasource(PROM)
        .with_target(
            prom(f"histogram_quantile(0.5, sum by (le, route) ({buckets}))", "p50 {{route}}")
        )
        .with_target(
            prom(
                f"histogram_quantile(0.99, sum by (le, route) ({buckets}))",
                "p99 {{route}}",
                "B",
            )
        )
        .unit("s")
        .min(0)
        .span(8)
        .height(7),
        timeseries.Panel()
        .title("Requests per second")
        .description("Requests per second, by route and status.")
        .datasource(PROM)
        .with_target(
            prom(
                "sum by (route, status) "
                "(rate(visiondrift_http_request_duration_seconds_count[$__rate_interval]))",
                "{{route}} {{status}}",
            )
        )
        .unit("reqps")
        .min(0)
        .span(8)
        .height(7),
        timeseries.Panel()
        .title("Queues and the store")
        .description(
            "Jobs waiting per queue (summed over the server processes), and whether the "
            "store answered the last scrape (1)."
        )
        .datasource(PROM)
        .with_target(prom("sum by (queue) (visiondrift_queue_depth)", "{{queue}}"))
        .with_target(prom("min(visiondrift_store_up)", "store up", "B"))
        .min(0)
        .span(8)
        .height(7),
    ]


_SEVERITY_NUMBER = (
    "CASE severity WHEN 'none' THEN 0 WHEN 'low' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END"
)
_HEADLINE_SQL = ", ".join(f"'{name}'" for name in HEADLINE_METRICS)


def history_panels() -> list[cogbuilder.Builder[model.Panel]]:
    """The history store's tables, read by Grafana's PostgreSQL data source."""
    return [
        table.Panel()
        .title("Runs")
        .description("The runs of the period (closed windows and batches), newest first.")
        .datasource(PG)
        .with_target(
            Sql(
                """SELECT ran_at AS "time", dataset, severity, drift, n_drifted, n_tests,
                n_images, n_bad, mode, run_id FROM vd_runs
                WHERE $__timeFilter(ran_at) AND dataset IN ($dataset)
                ORDER BY ran_at DESC LIMIT 500"""
            )
        )
        .span(24)
        .height(8),
        timeseries.Panel()
        .title("Severity per run")
        .description("Each run's severity: 0 none, 1 low, 2 medium, 3 high.")
        .datasource(PG)
        .with_target(
            Sql(
                f"""SELECT ran_at AS "time", dataset AS metric, {_SEVERITY_NUMBER} AS severity
                FROM vd_runs WHERE $__timeFilter(ran_at) AND dataset IN ($dataset)
                ORDER BY 1""",
                fmt="time_series",
            )
        )
        .thresholds(severity_thresholds())
        .min(0)
        .max(3)
        .span(12)
        .height(7),
        timeseries.Panel()
        .title("Headline metrics per run: effect size")
        .description("The absolute effect size of each headline metric in each run.")
        .datasource(PG)
        .with_target(
            Sql(
                f"""SELECT ran_at AS "time", dataset || ' ' || name AS metric,
                abs(effect_size) AS effect_size FROM vd_metrics
                WHERE $__timeFilter(ran_at) AND dataset IN ($dataset)
                AND name IN ({_HEADLINE_SQL}) AND effect_size IS NOT NULL ORDER BY 1""",
                fmt="time_series",
            )
        )
        .min(0)
        .span(12)
        .height(7),
        table.Panel()
        .title("Drifted metrics")
        .description("Every metric that drifted in a run of the period, most severe first.")
        .datasource(PG)
        .with_target(
            Sql(
                f"""SELECT ran_at AS "time", dataset, name, family, severity, p_adjusted,
                effect_size, effect_unit, run_id FROM vd_metrics
                WHERE $__timeFilter(ran_at) AND dataset IN ($dataset) AND status = 'drift'
                ORDER BY {_SEVERITY_NUMBER} DESC, ran_at DESC LIMIT 500"""
            )
        )
        .span(12)
        .height(8),
        timeseries.Panel()
        .title("Unusable files per run, by reason")
        .description("How many files or records of each run were unusable, by reason.")
        .datasource(PG)
        .with_target(
            Sql(
                """SELECT r.ran_at AS "time", r.dataset || ' ' || b.reason AS metric,
                b.count AS files FROM vd_bad_counts b JOIN vd_runs r ON r.run_id = b.run_id
                WHERE $__timeFilter(r.ran_at) AND r.dataset IN ($dataset) ORDER BY 1""",
                fmt="time_series",
            )
        )
        .min(0)
        .span(12)
        .height(8),
        table.Panel()
        .title("Alert outbox")
        .description("Alerts of the period: channel, event, status, attempts, last error.")
        .datasource(PG)
        .with_target(
            Sql(
                """SELECT created_at AS "time", dataset, channel, event, severity, status,
                attempts, sent_at, last_error FROM vd_alerts
                WHERE $__timeFilter(created_at) AND (dataset IN ($dataset) OR dataset IS NULL)
                ORDER BY created_at DESC LIMIT 500"""
            )
        )
        .span(24)
        .height(8),
    ]


def build() -> dash.Dashboard:
    """The dashboard."""
    board = (
        dash.Dashboard("visiondrift")
        .uid("visiondrift")
        .description(
            "Drift of image classifiers monitored by visiondrift serve: verdicts, headline "
            "metrics, traffic and alerts from Prometheus; the run history from PostgreSQL."
        )
        .tags(["visiondrift", "drift", "ml"])
        .timezone("utc")
        .time("now-6h", "now")
        .refresh("30s")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .editable()
        .with_variable(dash.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
        .with_variable(
            dash.DatasourceVariable("postgres")
            .label("History (PostgreSQL)")
            .type("grafana-postgresql-datasource")
        )
        .with_variable(
            dash.QueryVariable("dataset")
            .label("Dataset")
            .datasource(PROM)
            .query("label_values(visiondrift_window_severity, dataset)")
            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(model.VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
        )
    )
    sections: list[tuple[str, list[cogbuilder.Builder[model.Panel]]]] = [
        ("Verdicts (Prometheus)", verdict_panels()),
        ("Headline metrics (Prometheus)", headline_panels()),
        ("Records and windows (Prometheus)", traffic_panels()),
        ("Alerts (Prometheus)", alert_panels()),
        ("Service (Prometheus)", service_panels()),
        ("History (PostgreSQL: vd_runs, vd_metrics, vd_bad_counts, vd_alerts)", history_panels()),
    ]
    for title, panels in sections:
        board = board.with_row(dash.Row(title))
        for panel in panels:
            board = board.with_panel(panel)
    return board


def render() -> str:
    """The dashboard's JSON, as the file holds it."""
    data = json.loads(json.dumps(build().build(), cls=JSONEncoder))
    for i, panel in enumerate(data["panels"], start=1):
        panel["id"] = i
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def main() -> int:
    return write_or_check(TARGET, render(), sys.argv[1:], "scripts/grafana_dashboard.py")


if __name__ == "__main__":
    sys.exit(main())
