"""Real monitor runs and small builders for the alert tests.

``runs`` (a module-scoped fixture: name it in a test module, ``runs = _alert_runs.runs``) gives
two real :class:`~visiondrift.app.RunResult` of the dataset ``skin``: ``drifted`` (a camera
change: high drift, with its JSON report, HTML page and Markdown summary written) and ``clean``
(the same camera: no drift). :func:`make_alert` and :func:`make_channel` build an alert and a
channel from keyword settings.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

import visiondrift
from visiondrift.alerts import build_alert, build_channel
from visiondrift.app import Monitor, Outputs, RunResult
from visiondrift.demo.samples import CameraChange, make_dataset
from visiondrift.settings import AlertsSettings, ChannelSettings

WINDOW = (datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
BASE_URL = "https://reports.example.com/skin/"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, photos: list[Any]) -> dict[str, RunResult]:
    """Two real monitor runs of dataset 'skin': a camera change (drift) and the same camera."""
    root = tmp_path_factory.mktemp("alert-runs")
    make_dataset(root / "data" / "baseline", 60, size=(64, 64), seed=31, photos=photos)
    make_dataset(
        root / "data" / "prod-20261129",
        40,
        size=(64, 64),
        seed=32,
        photos=photos,
        transform=CameraChange(),
    )
    make_dataset(root / "data" / "prod-20261130", 40, size=(64, 64), seed=33, photos=photos)
    monitor = Monitor(visiondrift.profile(root / "data" / "baseline", workers=1))
    out = root / "out"
    drifted = monitor.run(
        root / "data" / "prod-20261129",
        dataset="skin",
        window=WINDOW,
        outputs=Outputs(
            report=out / "report-20261129.json",
            html=out / "report-20261129.html",
            markdown=out / "summary-20261129.md",
        ),
        workers=1,
    )
    clean = monitor.run(
        root / "data" / "prod-20261130",
        dataset="skin",
        outputs=Outputs(report=out / "report-20261130.json"),
        workers=1,
    )
    assert drifted.report.overall_drift_detected
    assert not clean.report.overall_drift_detected
    return {"drifted": drifted, "clean": clean}


def alerts_settings(**channels: dict[str, Any]) -> AlertsSettings:
    return AlertsSettings(
        base_url=BASE_URL, channels={n: ChannelSettings(**c) for n, c in channels.items()}
    )


def make_channel(name: str, alerts: AlertsSettings | None = None, **keys: Any) -> Any:
    alerts = alerts or alerts_settings(**{name: keys})
    return build_channel(name, alerts.channels[name], alerts)


def make_alert(result: RunResult, kind: str = "webhook", event: str = "trigger", **kw: Any) -> Any:
    settings = kw.pop("settings", None) or AlertsSettings(base_url=BASE_URL)
    return build_alert(result, channel="ops", kind=kind, event=event, settings=settings, **kw)  # type: ignore[arg-type]


def replace_report(result: RunResult, report: Any) -> RunResult:
    """``result`` with another report (a changed severity, a slow-drift verdict)."""
    return replace(result, report=report)
