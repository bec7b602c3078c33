"""The alert message made from real monitor runs, secret references and redaction, the docs.

The message: what an alert says about a real run (title, causes, counts, link) and what it must
not say (paths, unless ``alerts.include_paths``). Secrets: ``${VAR}`` and ``file:PATH``
references, a missing one failing with a message that names it and no value, and every
resolved value masked in text and log records. The docs: every TOML example of alerts.md is
valid settings, and its signature snippet verifies a real request.
"""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import _alert_runs
import _receivers
from _alert_runs import BASE_URL, WINDOW, replace_report
from _alert_runs import make_alert as _alert
from _alert_runs import make_channel as _channel
from _receivers import (
    HttpReceiver,
)
from visiondrift.alerts import (
    PermanentDeliveryError,
    RedactingFilter,
    effective_severity,
    redact,
    resolve_secret,
    verify_signature,
)
from visiondrift.alerts._payloads import sign
from visiondrift.app import RunResult
from visiondrift.drift import SlowDriftSummary
from visiondrift.settings import AlertsSettings

#: Fixtures: two real monitor runs, and the receivers.
runs = _alert_runs.runs
http_receiver = _receivers.http_receiver
smtp_receiver = _receivers.smtp_receiver


# ------------------------------------------------------------------------------ secrets


def test_an_environment_reference_is_resolved_and_then_masked_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "tok-" + secrets.token_hex(12) + "/+&"
    monkeypatch.setenv("VD_TEST_TOKEN", token)
    value = resolve_secret("Bearer ${VD_TEST_TOKEN}", key="alerts.channels.gh.headers.Auth")
    assert value == f"Bearer {token}"
    from urllib.parse import quote

    text = f"GET https://x.invalid/?t={quote(token, safe='')} with {token} failed"
    masked = redact(text)
    assert token not in masked
    assert quote(token, safe="") not in masked
    assert masked == "GET https://x.invalid/?t=********** with ********** failed"


def test_a_file_reference_is_read_without_its_trailing_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "file-secret-" + secrets.token_hex(8)
    (tmp_path / "slack").write_text(secret + "\n", encoding="utf-8")
    monkeypatch.setenv("VD_CREDENTIALS", str(tmp_path))
    assert resolve_secret("file:${VD_CREDENTIALS}/slack", key="k") == secret
    assert redact(f"the secret is {secret}.") == "the secret is **********."


def test_a_missing_variable_is_permanent_and_named_without_any_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VD_NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(PermanentDeliveryError) as caught:
        resolve_secret(
            "https://hooks.example.com/literal-part/${VD_NOT_SET_ANYWHERE}",
            key="alerts.channels.ops.url",
        )
    message = str(caught.value)
    assert "alerts.channels.ops.url" in message
    assert "VD_NOT_SET_ANYWHERE" in message
    assert "is not set" in message
    assert "literal-part" not in message


def test_a_missing_file_is_permanent_and_named(tmp_path: Path) -> None:
    with pytest.raises(PermanentDeliveryError, match=r"alerts.channels.pd.routing_key.*does not"):
        resolve_secret(f"file:{tmp_path / 'nope'}", key="alerts.channels.pd.routing_key")


def test_the_logging_filter_masks_messages_exceptions_and_extra_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "log-secret-" + secrets.token_hex(8)
    monkeypatch.setenv("VD_LOG_SECRET", secret)
    resolve_secret("${VD_LOG_SECRET}", key="k")
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record) + " | " + str(getattr(record, "url", "")))

    handler = Collect()
    handler.addFilter(RedactingFilter())
    # A logger of its own (not in the registry): other tests' logging set-up cannot mute it.
    logger = logging.Logger("redaction-test", logging.DEBUG)
    logger.addHandler(handler)
    logger.warning("posting to %s", f"https://x.invalid/{secret}", extra={"url": secret})
    try:
        raise RuntimeError(f"boom with {secret}")
    except RuntimeError:
        logger.exception("failed")
    assert len(records) == 2
    assert all(secret not in line for line in records)
    assert "posting to https://x.invalid/**********" in records[0]
    assert "boom with **********" in records[1]


# ------------------------------------------------------------------------------ message


def test_the_alert_tells_the_run_without_paths(runs: dict[str, RunResult]) -> None:
    result = runs["drifted"]
    report = result.report
    alert = _alert(result, kind="slack")
    assert alert.event == "trigger"
    assert alert.dataset == "skin"
    assert alert.run_id == result.run_id
    assert alert.severity == report.severity == "high"
    assert alert.title == "visiondrift: high drift in dataset skin"
    assert alert.explanations == tuple(report.explanations[:3])
    assert alert.counts == {
        "images": 40,
        "bad": 0,
        "tests": report.n_tests,
        "drifted": report.n_drifted,
    }
    assert [m["name"] for m in alert.metrics] == [m.name for m in report.drifted[:5]]
    assert alert.families[0] == report.drifted[0].family
    assert alert.window == (WINDOW[0].isoformat(), WINDOW[1].isoformat())
    # The HTML page is the link; the locations are reduced to their base names.
    assert alert.report_name == "report-20261129.html"
    assert alert.report_url == BASE_URL + "report-20261129.html"
    assert alert.baseline["name"] == "baseline"
    assert "location" not in alert.baseline
    assert alert.summary is not None
    assert "`prod-20261129`" in alert.summary
    data_root = str(Path(report.current.location).parent)
    assert data_root not in alert.summary
    assert alert.priority is None
    assert type(alert).from_json(json.loads(alert.dumps())) == alert


def test_the_link_is_the_page_s_path_under_the_reports_root(
    runs: dict[str, RunResult], tmp_path: Path
) -> None:
    """With a reports root (``watch --out``), the link keeps the page's folders under it; a page
    outside the root is linked by its name."""
    import dataclasses

    result = runs["drifted"]
    page = Path(next(f for f in map(str, result.files) if f.endswith(".html")))
    under = dataclasses.replace(result, reports_root=page.parent.parent)
    alert = _alert(under)
    assert alert.report_name == f"{page.parent.name}/{page.name}"
    assert alert.report_url == f"{BASE_URL}{page.parent.name}/{page.name}"
    elsewhere = dataclasses.replace(result, reports_root=tmp_path)
    assert _alert(elsewhere).report_url == BASE_URL + page.name


def test_include_paths_lets_the_message_name_the_locations(runs: dict[str, RunResult]) -> None:
    result = runs["drifted"]
    alert = _alert(result, settings=AlertsSettings(include_paths=True))
    assert alert.baseline["location"] == result.report.baseline.location
    assert alert.summary is not None
    assert result.report.current.location in alert.summary
    assert alert.report_url is None  # no base_url: a name, no link


def test_a_retraining_alert_has_a_priority_by_severity(runs: dict[str, RunResult]) -> None:
    assert _alert(runs["drifted"], kind="retrain").priority == "now"
    report = runs["drifted"].report
    for severity, priority in (("medium", "review"), ("low", "watch")):
        changed = replace_report(runs["drifted"], report.model_copy(update={"severity": severity}))
        assert _alert(changed, kind="retrain").priority == priority


def test_slow_drift_alone_is_a_low_alert_led_by_its_explanation(
    runs: dict[str, RunResult],
) -> None:
    clean = runs["clean"]
    assert effective_severity(clean.report) == "none"
    slow = SlowDriftSummary(
        drift_detected=True,
        metric="brightness",
        window=8,
        explanation="Brightness crept down over the last 8 runs.",
        run_ids=["a", "b"],
        alpha=0.01,
        horizon=100,
        test="ks",
    )
    slowed = replace_report(clean, clean.report.model_copy(update={"slow_drift": slow}))
    assert effective_severity(slowed.report) == "low"
    alert = _alert(slowed)
    assert alert.severity == "low"
    assert alert.slow_drift
    assert alert.explanations[0] == "Brightness crept down over the last 8 runs."
    assert alert.title == "visiondrift: low drift in dataset skin"


def test_with_batch_drift_a_slow_drift_sentence_never_takes_a_batch_change_s_place(
    runs: dict[str, RunResult],
) -> None:
    """A drifted batch's own explanations come first; a slow drift of a metric the batch moved
    itself is that change seen again (dropped), of another metric it comes after them."""
    drifted = runs["drifted"]
    moved = drifted.report.drifted[0].name
    still = next(
        m.name
        for m in drifted.report.metrics
        if m.name not in {d.name for d in drifted.report.drifted}
    )

    def slow_on(metric: str, few: int) -> RunResult:
        slow = SlowDriftSummary(
            drift_detected=True,
            metric=metric,
            window=4,
            explanation=f"{metric} crept over the last 4 runs.",
            run_ids=["a", "b"],
            alpha=0.01,
            horizon=100,
            test="ks",
        )
        update = {"slow_drift": slow, "explanations": drifted.report.explanations[:few]}
        return replace_report(drifted, drifted.report.model_copy(update=update))

    batch = list(drifted.report.explanations)
    assert len(batch) >= 3
    assert _alert(slow_on(moved, 3)).explanations == tuple(batch[:3])
    assert _alert(slow_on(moved, 1)).explanations == (batch[0],)
    assert _alert(slow_on(still, 3)).explanations == tuple(batch[:3])
    assert _alert(slow_on(still, 1)).explanations == (
        batch[0],
        f"{still} crept over the last 4 runs.",
    )


def test_a_resolve_alert_says_the_dataset_is_back_to_normal(runs: dict[str, RunResult]) -> None:
    alert = _alert(runs["clean"], event="resolve", previous_severity="high")
    assert alert.event == "resolve"
    assert alert.severity == "none"
    assert alert.title == "visiondrift: dataset skin is back to normal (no drift)"
    assert alert.previous_severity == "high"
    assert alert.explanations == ()


# -------------------------------------------------------------------------------- docs

DOCS = Path(__file__).resolve().parent.parent / "docs" / "alerts.md"
OWN_SECTIONS = ("Channels", "Webhook signature", "Retraining trigger")


def _doc_blocks(tag: str) -> list[str]:
    """The fenced blocks tagged ``tag`` in the sections of alerts.md this module tests."""
    import re

    text = DOCS.read_text(encoding="utf-8")
    sections = [s for s in text.split("\n## ")[1:] if s.split("\n", 1)[0] in OWN_SECTIONS]
    assert len(sections) == len(OWN_SECTIONS)
    pattern = re.compile(r"^```" + re.escape(tag) + r"\n(.*?)^```$", re.M | re.S)
    return [block for section in sections for block in pattern.findall(section)]


def test_every_toml_example_of_the_docs_is_valid_settings() -> None:
    import tomllib

    blocks = _doc_blocks("toml")
    kinds = set()
    for block in blocks:
        data = tomllib.loads(block)["alerts"]
        if "routes" in data and "channels" not in data:
            data["channels"] = {"retrain": {"kind": "retrain", "argv": ["retrain"]}}
        settings = AlertsSettings.model_validate(data)
        kinds.update(channel.kind for channel in settings.channels.values())
    assert kinds == {"slack", "email", "pagerduty", "webhook", "command", "retrain"}
    assert len(blocks) >= 9


def test_the_documented_verification_snippet_accepts_a_real_request_and_rejects_a_replay(
    runs: dict[str, RunResult], http_receiver: Callable[..., HttpReceiver]
) -> None:
    (snippet,) = _doc_blocks("python verify-signature")
    namespace: dict[str, Any] = {}
    exec(compile(snippet, str(DOCS), "exec"), namespace)  # the reader's code, as written
    verify = namespace["verify"]
    rx = http_receiver()
    channel = _channel("hook", kind="webhook", url=rx.url(), secret="documented-secret")
    channel.send(_alert(runs["drifted"]))
    (request,) = rx.requests
    assert verify(request.body, request.headers, "documented-secret")
    assert not verify(request.body, request.headers, "another-secret")
    assert not verify(request.body + b"\n", request.headers, "documented-secret")
    old = int(request.headers["x-visiondrift-timestamp"]) - 3600
    replayed = dict(request.headers)
    replayed["x-visiondrift-timestamp"] = str(old)
    replayed["x-visiondrift-signature"] = sign(request.body, "documented-secret", old)
    assert not verify(request.body, replayed, "documented-secret")
    assert verify_signature(request.body, replayed, "documented-secret", now=old + 10)


# ------------------------------------------------------------------------------ package


def test_the_package_exports_resolve_and_the_log_filter_imports_nothing_heavy() -> None:

    import visiondrift.alerts as alerts

    assert all(getattr(alerts, name) is not None for name in alerts.__all__)
    code = (
        "import sys\n"
        "from visiondrift.alerts import RedactingFilter, redact, resolve_secret\n"
        "print(sorted(m for m in ('pydantic', 'httpx', 'smtplib') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
