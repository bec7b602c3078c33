"""The saved report's format: typed records, version 2, reading version 1, the JSON Schema.

``tests/fixtures/report_v1_model.json`` was written by the release before the typed report
(format version 1): ``python -m visiondrift.demo --n-baseline 200 --n-batch 100``, the animals
batch whose camera and class mix changed, with the demo ONNX model and labels.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from visiondrift.drift import (
    REPORT_FORMAT_VERSION,
    AccuracyDetails,
    ClassMixDetails,
    ConfidenceDetails,
    ContaminationDetails,
    DistributionDetails,
    DomainDetails,
    DriftReport,
    LabelMetrics,
    ModelOutputSummary,
    OutputsDetails,
    ReportSettings,
)
from visiondrift.errors import ProfileFormatError, UnsupportedVersionError
from visiondrift.report import render_html, render_markdown

ROOT = Path(__file__).resolve().parent.parent
V1 = ROOT / "tests" / "fixtures" / "report_v1_model.json"


@pytest.fixture(scope="module")
def v1_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(V1.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def v1(v1_data: dict[str, Any]) -> DriftReport:
    return DriftReport.load(V1)


def test_the_format_version_is_2() -> None:
    assert REPORT_FORMAT_VERSION == 2


def test_a_version_1_report_loads(v1_data: dict[str, Any], v1: DriftReport) -> None:
    assert v1_data["format_version"] == 1
    assert v1.format_version == 2
    assert v1.status == v1_data["status"]
    assert [m.name for m in v1.metrics] == [m["name"] for m in v1_data["metrics"]]
    assert len(v1.metrics) == 30


def test_version_1_details_land_in_the_typed_records(
    v1_data: dict[str, Any], v1: DriftReport
) -> None:
    raw = {m["name"]: m["details"] for m in v1_data["metrics"]}
    sharp = v1.metric("sharpness").details
    assert isinstance(sharp, DistributionDetails)
    assert sharp.baseline_quantiles == raw["sharpness"]["baseline_quantiles"]
    assert sharp.current_mean == raw["sharpness"]["current_mean"]
    assert isinstance(v1.metric("confidence").details, ConfidenceDetails)
    mix = v1.metric("class_mix").details
    assert isinstance(mix, ClassMixDetails)
    assert mix.current_mix == raw["class_mix"]["current_mix"]
    assert mix.statistic_kind == "g"
    outputs = v1.metric("outputs").details
    assert isinstance(outputs, OutputsDetails)
    assert outputs.most_shifted_class == raw["outputs"]["most_shifted_class"]
    assert [c.class_name for c in outputs.per_class] == [
        c["class"] for c in raw["outputs"]["per_class"]
    ]
    accuracy = v1.metric("accuracy").details
    assert isinstance(accuracy, AccuracyDetails)
    assert isinstance(accuracy.current, LabelMetrics)
    assert accuracy.current.confusion_matrix == raw["accuracy"]["current"]["confusion_matrix"]
    assert isinstance(v1.metric("domain").details, DomainDetails)
    contamination = v1.metric("contamination").details
    assert isinstance(contamination, ContaminationDetails)
    assert contamination.gamma == raw["contamination"]["gamma"]


def test_version_1_model_summary_and_settings_are_typed(
    v1_data: dict[str, Any], v1: DriftReport
) -> None:
    model = v1.current.model
    assert isinstance(model, ModelOutputSummary)
    raw = v1_data["current"]["model"]
    assert model.class_names == raw["class_names"]
    assert model.confidence_histogram.counts == raw["confidence_histogram"]["counts"]
    assert model.labels is not None
    assert model.labels.accuracy == raw["labels"]["accuracy"]
    assert model.description["format"] == "onnx"
    assert isinstance(v1.config, ReportSettings)
    assert v1.config.alpha == v1_data["config"]["alpha"]
    assert v1.config.bands["class_mix"] == tuple(v1_data["config"]["bands"]["class_mix"])
    assert v1.config.profile.model is not None
    assert v1.config.profile.model.path == v1_data["config"]["profile"]["model"]["path"]
    assert v1.config.profile.image_metrics == {}


def test_a_version_1_report_renders(v1: DriftReport) -> None:
    page = render_html(v1)
    assert '<h3 id="confidence">Model confidence' in page
    assert page.count('<svg class="chart hist cdf"') >= 1
    for m in v1.drifted:
        assert m.label in page
    markdown = render_markdown(v1)
    assert "High drift" in markdown
    assert f"**{v1.n_drifted} of {v1.n_tests}**" in markdown


def test_version_2_round_trips(v1: DriftReport, tmp_path: Path) -> None:
    path = v1.save(tmp_path / "report.json")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["format_version"] == 2
    assert saved["metrics"][0]["details"]["kind"]
    assert DriftReport.load(path) == v1


def test_an_unknown_version_is_refused_with_the_versions_it_reads(
    v1_data: dict[str, Any],
) -> None:
    with pytest.raises(UnsupportedVersionError, match=r"format version 3.*reads versions \[1, 2\]"):
        DriftReport.from_dict({**v1_data, "format_version": 3}, origin="future.json")


def test_a_detail_of_the_wrong_kind_is_refused(v1_data: dict[str, Any]) -> None:
    data = json.loads(json.dumps(v1_data))
    data["metrics"][0]["details"]["baseline_quantiles"] = "not a list"
    with pytest.raises(ProfileFormatError, match="damaged visiondrift report"):
        DriftReport.from_dict(data, origin="edited.json")


def test_the_committed_schema_matches_the_code() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "report_schema.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_reports_validate_against_the_committed_schema(v1: DriftReport) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "schema" / "report.schema.json").read_text("utf-8"))
    jsonschema.validate(v1.to_dict(), schema)
    broken = v1.to_dict()
    broken["metrics"][0]["family"] = "made_up_family"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
