"""The alert channels against real receivers on 127.0.0.1, and the alert message.

Every channel sends to a real server (an HTTP server in a thread, an aiosmtpd SMTP server, a real
program run with ``sys.executable``) and the test reads what arrived: the published request
format (method, path, headers, JSON shape, Block Kit blocks, PagerDuty fields, the HMAC
signature checked with ``verify_signature``), the mail's parts, the program's environment. The
status mapping (2xx delivered; 5xx, 408, 429, timeout, refused connection transient; other 4xx
permanent), secret references and their redaction are checked the same way.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import _receivers
import visiondrift
from _receivers import (
    HttpReceiver,
    Reply,
    SmtpReceiver,
    closed_port,
    closed_url,
    self_signed_certificate,
)
from visiondrift.alerts import (
    ALERT_SCHEMA,
    PermanentDeliveryError,
    RedactingFilter,
    TransientDeliveryError,
    build_alert,
    build_channel,
    effective_severity,
    redact,
    resolve_secret,
    test_alert,
    verify_signature,
)
from visiondrift.alerts._payloads import PAGERDUTY_SEVERITIES, sign
from visiondrift.app import Monitor, Outputs, RunResult
from visiondrift.demo.samples import CameraChange, make_dataset
from visiondrift.drift import SlowDriftSummary
from visiondrift.settings import AlertsSettings, ChannelSettings

#: The receivers' fixtures.
http_receiver = _receivers.http_receiver
smtp_receiver = _receivers.smtp_receiver

WINDOW = (datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
BASE_URL = "https://reports.example.com/skin/"


# ---------------------------------------------------------------------------------- runs


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


def _settings(**channels: dict[str, Any]) -> AlertsSettings:
    return AlertsSettings(
        base_url=BASE_URL, channels={n: ChannelSettings(**c) for n, c in channels.items()}
    )


def _channel(name: str, alerts: AlertsSettings | None = None, **keys: Any) -> Any:
    alerts = alerts or _settings(**{name: keys})
    return build_channel(name, alerts.channels[name], alerts)


def _alert(result: RunResult, kind: str = "webhook", event: str = "trigger", **kw: Any) -> Any:
    settings = kw.pop("settings", None) or AlertsSettings(base_url=BASE_URL)
    return build_alert(result, channel="ops", kind=kind, event=event, settings=settings, **kw)  # type: ignore[arg-type]


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
    logger = logging.getLogger("visiondrift.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("posting to %s", f"https://x.invalid/{secret}", extra={"url": secret})
        try:
            raise RuntimeError(f"boom with {secret}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
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
        changed = _replace_report(runs["drifted"], report.model_copy(update={"severity": severity}))
        assert _alert(changed, kind="retrain").priority == priority


def _replace_report(result: RunResult, report: Any) -> RunResult:
    from dataclasses import replace

    return replace(result, report=report)


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
    slowed = _replace_report(clean, clean.report.model_copy(update={"slow_drift": slow}))
    assert effective_severity(slowed.report) == "low"
    alert = _alert(slowed)
    assert alert.severity == "low"
    assert alert.slow_drift
    assert alert.explanations[0] == "Brightness crept down over the last 8 runs."
    assert alert.title == "visiondrift: low drift in dataset skin"


def test_a_resolve_alert_says_the_dataset_is_back_to_normal(runs: dict[str, RunResult]) -> None:
    alert = _alert(runs["clean"], event="resolve", previous_severity="high")
    assert alert.event == "resolve"
    assert alert.severity == "none"
    assert alert.title == "visiondrift: dataset skin is back to normal (no drift)"
    assert alert.previous_severity == "high"
    assert alert.explanations == ()


# ------------------------------------------------------------------------------- slack


def test_slack_gets_block_kit_with_a_text_fallback(
    runs: dict[str, RunResult], http_receiver: Callable[..., HttpReceiver]
) -> None:
    rx = http_receiver(Reply(200, "ok"))
    channel = _channel("ops", kind="slack", url=rx.url("/services/T0/B0/xyz"))
    alert = _alert(runs["drifted"], kind="slack")
    delivery = channel.send(alert)
    assert (delivery.status, delivery.answer) == (200, "ok")
    (request,) = rx.requests
    assert (request.method, request.path) == ("POST", "/services/T0/B0/xyz")
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    types = [block["type"] for block in body["blocks"]]
    assert types == ["header", "section", "section", "context", "actions"]
    assert body["blocks"][0]["text"] == {"type": "plain_text", "text": alert.title}
    fields = [f["text"] for f in body["blocks"][1]["fields"]]
    assert fields == ["*Verdict*\nDrift", "*Severity*\nhigh"]
    assert body["blocks"][2]["text"]["text"].count("• ") == 3
    assert "40 images" in body["blocks"][3]["elements"][0]["text"]
    button = body["blocks"][4]["elements"][0]
    assert button["type"] == "button"
    assert button["url"] == alert.report_url
    assert body["text"].startswith(alert.title)
    assert alert.report_url in body["text"]


# --------------------------------------------------------------------------- pagerduty


def test_pagerduty_triggers_then_resolves_one_incident_per_dataset(
    runs: dict[str, RunResult],
    http_receiver: Callable[..., HttpReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "R0UT1NG" + secrets.token_hex(8)
    monkeypatch.setenv("VD_PD_KEY", key)
    rx = http_receiver(Reply(202, {"status": "success", "dedup_key": "visiondrift/skin"}))
    channel = _channel(
        "pager", kind="pagerduty", routing_key="${VD_PD_KEY}", url=rx.url("/v2/enqueue")
    )
    trigger = _alert(runs["drifted"], kind="pagerduty")
    assert channel.send(trigger).status == 202
    channel.send(_alert(runs["clean"], kind="pagerduty", event="resolve"))
    first, second = (r.json() for r in rx.requests)
    assert rx.requests[0].path == "/v2/enqueue"
    assert first["routing_key"] == key
    assert first["event_action"] == "trigger"
    assert first["dedup_key"] == second["dedup_key"] == "visiondrift/skin"
    payload = first["payload"]
    assert payload["source"] == "visiondrift"
    assert payload["component"] == "skin"
    assert payload["severity"] == PAGERDUTY_SEVERITIES["high"] == "critical"
    assert payload["summary"] == trigger.title
    assert payload["custom_details"]["explanations"] == list(trigger.explanations)
    assert first["links"] == [{"href": trigger.report_url, "text": "Drift report"}]
    assert second == {
        "routing_key": key,
        "event_action": "resolve",
        "dedup_key": "visiondrift/skin",
    }


# ----------------------------------------------------------------------------- webhook


def test_a_webhook_is_signed_and_the_receiver_verifies_it(
    runs: dict[str, RunResult],
    http_receiver: Callable[..., HttpReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "hmac-" + secrets.token_hex(16)
    monkeypatch.setenv("VD_HOOK_SECRET", secret)
    monkeypatch.setenv("VD_HOOK_TOKEN", "tkn-" + secrets.token_hex(8))
    rx = http_receiver(Reply(204))
    channel = _channel(
        "hook",
        kind="webhook",
        url=rx.url("/drift"),
        secret="${VD_HOOK_SECRET}",
        headers={"Authorization": "Token ${VD_HOOK_TOKEN}"},
    )
    alert = _alert(runs["drifted"])
    assert channel.send(alert).status == 204
    (request,) = rx.requests
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-visiondrift-event"] == "trigger"
    assert headers["x-visiondrift-delivery"] == alert.alert_id
    assert headers["authorization"].startswith("Token tkn-")
    assert headers["x-visiondrift-signature"].startswith("sha256=")
    assert verify_signature(request.body, headers, secret)
    stamp = int(headers["x-visiondrift-timestamp"])
    # A replay (the same request, later than the tolerance), a tampered body, a wrong secret:
    assert not verify_signature(request.body, headers, secret, now=stamp + 301)
    assert verify_signature(request.body, headers, secret, now=stamp + 299)
    assert not verify_signature(request.body.replace(b"skin", b"skim"), headers, secret)
    assert not verify_signature(request.body, headers, secret + "x")
    body = request.json()
    assert body["schema"] == ALERT_SCHEMA == "visiondrift.alert/1"
    assert body["id"] == alert.alert_id
    assert body["dataset"] == "skin"
    assert body["severity"] == "high"
    assert body["event"] == "trigger"
    assert body["report"] == {"name": alert.report_name, "url": alert.report_url}
    assert body["window"] == {"start": alert.window[0], "end": alert.window[1]}
    assert "files" not in body  # paths only with include_paths


def test_a_webhook_names_the_files_only_with_include_paths(
    runs: dict[str, RunResult], http_receiver: Callable[..., HttpReceiver]
) -> None:
    rx = http_receiver()
    alerts = AlertsSettings(
        include_paths=True, channels={"hook": ChannelSettings(kind="webhook", url=rx.url())}
    )
    channel = _channel("hook", alerts)
    channel.send(_alert(runs["drifted"], settings=alerts))
    body = rx.requests[0].json()
    assert body["files"]["report"].endswith("report-20261129.json")
    assert "X-Visiondrift-Signature".lower() not in rx.requests[0].headers  # no secret: unsigned


def test_the_signature_is_the_documented_hmac() -> None:
    import hashlib
    import hmac

    body = b'{"schema":"visiondrift.alert/1"}'
    expected = hmac.new(b"k3y", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(body, "k3y", 1700000000) == "sha256=" + expected


# ----------------------------------------------------------------------- status mapping


@pytest.mark.parametrize(
    ("answer", "error", "status"),
    [
        (500, TransientDeliveryError, 500),
        (503, TransientDeliveryError, 503),
        (429, TransientDeliveryError, 429),
        (408, TransientDeliveryError, 408),
        (401, PermanentDeliveryError, 401),
        (404, PermanentDeliveryError, 404),
        (
            Reply(302, headers={"Location": "http://127.0.0.1:9/elsewhere"}),
            PermanentDeliveryError,
            302,
        ),
    ],
)
def test_an_answer_maps_to_retry_or_reject(
    answer: Any,
    error: type[Exception],
    status: int,
    runs: dict[str, RunResult],
    http_receiver: Callable[..., HttpReceiver],
) -> None:
    rx = http_receiver(answer)
    channel = _channel("hook", kind="webhook", url=rx.url())
    with pytest.raises(error) as caught:
        channel.send(_alert(runs["drifted"]))
    assert type(caught.value) is error
    assert caught.value.status == status
    message = str(caught.value)
    assert f"The webhook channel 'hook' was answered {status}" in message
    assert rx.url() not in message  # the URL is a secret; the message names the setting
    if error is PermanentDeliveryError:
        assert "alerts.channels.hook" in message
        assert "Not retried" in message
    else:
        assert "retried" in message


def test_a_500_then_200_is_one_failure_then_one_delivery(
    runs: dict[str, RunResult], http_receiver: Callable[..., HttpReceiver]
) -> None:
    rx = http_receiver([500, 200])
    channel = _channel("hook", kind="webhook", url=rx.url())
    alert = _alert(runs["drifted"])
    with pytest.raises(TransientDeliveryError):
        channel.send(alert)
    assert channel.send(alert).status == 200
    assert [r.headers["x-visiondrift-delivery"] for r in rx.requests] == [alert.alert_id] * 2


def test_a_receiver_slower_than_the_timeout_is_transient(
    runs: dict[str, RunResult], http_receiver: Callable[..., HttpReceiver]
) -> None:
    rx = http_receiver(Reply(200, delay=30.0))
    channel = _channel("slow", kind="slack", url=rx.url(), timeout=0.3)
    with pytest.raises(TransientDeliveryError, match=r"no answer within its timeout of 0.3 s"):
        channel.send(_alert(runs["drifted"], kind="slack"))
    assert len(rx.requests) == 1  # it arrived; the answer did not come in time


def test_a_refused_connection_is_transient(runs: dict[str, RunResult]) -> None:
    url = closed_url()
    channel = _channel("hook", kind="webhook", url=url)
    with pytest.raises(TransientDeliveryError, match="could not reach its receiver") as caught:
        channel.send(_alert(runs["drifted"]))
    assert url not in str(caught.value)


def test_an_invalid_url_is_permanent(runs: dict[str, RunResult]) -> None:
    channel = _channel("hook", kind="webhook", url="ftp://example.invalid/x")
    with pytest.raises(PermanentDeliveryError, match=r"not a valid http\(s\) URL.*channels.hook"):
        channel.send(_alert(runs["drifted"]))


def test_a_secret_in_the_url_never_reaches_an_error_or_answer(
    runs: dict[str, RunResult],
    http_receiver: Callable[..., HttpReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "planted" + secrets.token_hex(12)
    # The receiver echoes the secret back in its error page, as some proxies do.
    rx = http_receiver(Reply(500, f"upstream failed for {token}"))
    monkeypatch.setenv("VD_SLACK_URL", rx.url(f"/services/{token}"))
    channel = _channel("ops", kind="slack", url="${VD_SLACK_URL}")
    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(_alert(runs["drifted"], kind="slack"))
    assert rx.requests[0].path == f"/services/{token}"  # it was used...
    assert token not in str(caught.value)
    assert token not in caught.value.answer
    assert caught.value.answer == "upstream failed for **********"
    assert token not in repr(channel)


def test_a_missing_secret_fails_the_send_before_any_request(
    runs: dict[str, RunResult],
    http_receiver: Callable[..., HttpReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rx = http_receiver()
    monkeypatch.delenv("VD_MISSING_HOOK_SECRET", raising=False)
    channel = _channel("hook", kind="webhook", url=rx.url(), secret="${VD_MISSING_HOOK_SECRET}")
    with pytest.raises(PermanentDeliveryError, match="VD_MISSING_HOOK_SECRET, which is not set"):
        channel.send(_alert(runs["drifted"]))
    assert rx.requests == []


# ------------------------------------------------------------------------------- email


def _email(rx: SmtpReceiver, **keys: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "email",
        "host": "127.0.0.1",
        "port": rx.port,
        "security": "none",
        "sender": "visiondrift@example.com",
        "to": ("ml-team@example.com", "oncall@example.com"),
    }
    base.update(keys)
    return base


def test_an_email_has_text_and_html_parts_and_the_page_attached(
    runs: dict[str, RunResult],
    smtp_receiver: Callable[..., SmtpReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    password = "smtp-" + secrets.token_hex(8)
    monkeypatch.setenv("VD_SMTP_PASSWORD", password)
    rx = smtp_receiver(login=("alerts", password))
    channel = _channel(
        "mail",
        **_email(rx, username="alerts", password="${VD_SMTP_PASSWORD}", attach_html=True),
    )
    alert = _alert(runs["drifted"], kind="email")
    delivery = channel.send(alert)
    assert delivery.status == 250
    assert delivery.answer == "accepted for 2 of 2 recipient(s)"
    (mail,) = rx.messages
    assert mail.login == "alerts"
    assert mail.rcpt_tos == ("ml-team@example.com", "oncall@example.com")
    message = mail.message()
    assert message["Subject"] == alert.title
    assert message["From"] == "visiondrift@example.com"
    assert message["X-Visiondrift-Delivery"] == alert.alert_id
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert body is not None
    assert html is not None
    text = body.get_content()
    assert alert.explanations[0] in text
    assert f"Report: {alert.report_url}" in text
    assert f'href="{alert.report_url}"' in html.get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "report-20261129.html"
    assert attachment.get_content() == Path(alert.files["html"]).read_text(encoding="utf-8")
    assert password not in mail.data.decode("utf-8", "replace")


def test_an_email_over_starttls_checks_the_certificate(
    runs: dict[str, RunResult],
    smtp_receiver: Callable[..., SmtpReceiver],
    tmp_path: Path,
) -> None:
    cert = self_signed_certificate(tmp_path / "tls")
    rx = smtp_receiver(login=("alerts", "pw-starttls"), tls="starttls", cert=cert)
    alert = _alert(runs["drifted"], kind="email")
    keys = _email(rx, security="starttls", username="alerts", password="pw-starttls")
    # Without the relay's authority the certificate is refused: permanent, naming the fix.
    with pytest.raises(PermanentDeliveryError, match=r"cannot be verified.*ca_file"):
        _channel("mail", **keys).send(alert)
    assert rx.messages == []
    delivery = _channel("mail", **keys, ca_file=str(cert[0])).send(alert)
    assert delivery.status == 250
    assert rx.messages[0].login == "alerts"


def test_an_email_over_implicit_tls(
    runs: dict[str, RunResult], smtp_receiver: Callable[..., SmtpReceiver], tmp_path: Path
) -> None:
    cert = self_signed_certificate(tmp_path / "tls")
    rx = smtp_receiver(login=("alerts", "pw-tls"), tls="tls", cert=cert)
    keys = _email(rx, security="tls", username="alerts", password="pw-tls", ca_file=str(cert[0]))
    assert _channel("mail", **keys).send(_alert(runs["drifted"], kind="email")).status == 250
    assert rx.messages[0].message()["To"] == "ml-team@example.com, oncall@example.com"


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("451 4.3.0 Try again later", TransientDeliveryError),
        ("554 5.7.1 Rejected", PermanentDeliveryError),
    ],
)
def test_an_smtp_refusal_maps_to_retry_or_reject(
    reply: str,
    error: type[Exception],
    runs: dict[str, RunResult],
    smtp_receiver: Callable[..., SmtpReceiver],
) -> None:
    rx = smtp_receiver(reply)
    with pytest.raises(error) as caught:
        _channel("mail", **_email(rx)).send(_alert(runs["drifted"], kind="email"))
    code = int(reply[:3])
    assert caught.value.status == code
    assert f"the mail server answered {code}" in str(caught.value)


def test_a_refused_smtp_login_is_permanent_and_never_shows_the_password(
    runs: dict[str, RunResult], smtp_receiver: Callable[..., SmtpReceiver]
) -> None:
    rx = smtp_receiver(login=("alerts", "right-password"))
    keys = _email(rx, username="alerts", password="wrong-password-xyz")
    with pytest.raises(PermanentDeliveryError, match="refused the login of 'alerts'") as caught:
        _channel("mail", **keys).send(_alert(runs["drifted"], kind="email"))
    assert "wrong-password-xyz" not in str(caught.value)
    assert set(rx.failed_logins) == {"alerts"}  # smtplib tries each mechanism offered
    assert rx.messages == []


def test_starttls_on_a_server_without_it_and_a_login_without_password_are_permanent(
    runs: dict[str, RunResult], smtp_receiver: Callable[..., SmtpReceiver]
) -> None:
    rx = smtp_receiver()
    alert = _alert(runs["drifted"], kind="email")
    with pytest.raises(PermanentDeliveryError, match=r"does not support .*STARTTLS.*security"):
        _channel("mail", **_email(rx, security="starttls")).send(alert)
    with pytest.raises(PermanentDeliveryError, match=r"has no password; set .*mail.password"):
        _channel("mail", **_email(rx, username="alerts")).send(alert)
    assert rx.messages == []


def test_an_unreachable_mail_server_is_transient(runs: dict[str, RunResult]) -> None:
    keys = {
        "kind": "email",
        "host": "127.0.0.1",
        "port": closed_port(),
        "security": "none",
        "sender": "a@example.com",
        "to": ("b@example.com",),
    }
    with pytest.raises(TransientDeliveryError, match="could not reach the mail server"):
        _channel("mail", **keys).send(_alert(runs["drifted"], kind="email"))


# ----------------------------------------------------------------------------- command


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "receiver.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


ENV_DUMP = """
    import json, os, sys
    out = sys.argv[1]
    env = {k: v for k, v in os.environ.items() if k.startswith("VISIONDRIFT_")}
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"env": env, "stdin": sys.stdin.read(), "argv": sys.argv[2:]}, f)
    print("received", env["VISIONDRIFT_ALERT_EVENT"])
"""


def test_a_command_runs_without_a_shell_with_the_alert_in_its_environment(
    runs: dict[str, RunResult], tmp_path: Path
) -> None:
    script = _script(tmp_path, ENV_DUMP)
    out = tmp_path / "seen.json"
    argv = (sys.executable, str(script), str(out), "two words; $(not a shell)")
    alert = _alert(runs["drifted"], kind="command")
    delivery = _channel("cmd", kind="command", argv=argv).send(alert)
    assert (delivery.status, delivery.answer) == (0, "received trigger")
    seen = json.loads(out.read_text(encoding="utf-8"))
    assert seen["argv"] == ["two words; $(not a shell)"]
    env = seen["env"]
    assert env["VISIONDRIFT_ALERT_EVENT"] == "trigger"
    assert env["VISIONDRIFT_SEVERITY"] == "high"
    assert env["VISIONDRIFT_DATASET"] == "skin"
    assert env["VISIONDRIFT_RUN_ID"] == runs["drifted"].run_id
    assert env["VISIONDRIFT_REPORT"].endswith("report-20261129.json")
    assert Path(env["VISIONDRIFT_REPORT"]).is_file()
    assert json.loads(env["VISIONDRIFT_ALERT"])["alert_id"] == alert.alert_id
    assert json.loads(seen["stdin"]) == json.loads(alert.dumps())


def test_a_failing_command_is_retried_and_a_missing_one_is_not(
    runs: dict[str, RunResult], tmp_path: Path
) -> None:
    script = _script(tmp_path, "import sys\nprint('queue full')\nsys.exit(3)\n")
    alert = _alert(runs["drifted"], kind="command")
    with pytest.raises(TransientDeliveryError, match="exited with status 3: queue full") as caught:
        _channel("cmd", kind="command", argv=(sys.executable, str(script))).send(alert)
    assert caught.value.status == 3
    missing = str(tmp_path / "no-such-program")
    with pytest.raises(
        PermanentDeliveryError, match=r"which does not exist; fix alerts.channels.cmd.argv"
    ):
        _channel("cmd", kind="command", argv=(missing,)).send(alert)


def test_a_command_that_outlives_its_timeout_is_stopped_and_retried(
    runs: dict[str, RunResult], tmp_path: Path
) -> None:
    script = _script(tmp_path, "import time\ntime.sleep(60)\n")
    channel = _channel("cmd", kind="command", argv=(sys.executable, str(script)), timeout=0.5)
    stopped = r"did not finish within its timeout of 0\.5 s"
    with pytest.raises(TransientDeliveryError, match=stopped):
        channel.send(_alert(runs["drifted"], kind="command"))


# ----------------------------------------------------------------------------- retrain


def test_a_github_repository_dispatch(
    runs: dict[str, RunResult],
    http_receiver: Callable[..., HttpReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VD_GITHUB_TOKEN", "ghp_" + secrets.token_hex(10))
    rx = http_receiver(Reply(204))
    channel = _channel(
        "retrain",
        kind="retrain",
        format="github",
        url=rx.url("/repos/acme/skin-model/dispatches"),
        event_type="retrain-skin",
        headers={"Authorization": "Bearer ${VD_GITHUB_TOKEN}"},
    )
    alert = _alert(runs["drifted"], kind="retrain")
    assert channel.send(alert).status == 204
    (request,) = rx.requests
    assert (request.method, request.path) == ("POST", "/repos/acme/skin-model/dispatches")
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["authorization"].startswith("Bearer ghp_")
    body = request.json()
    assert body["event_type"] == "retrain-skin"
    payload = body["client_payload"]
    assert len(payload) <= 10  # GitHub's limit of top-level keys
    assert payload["dataset"] == "skin"
    assert payload["severity"] == "high"
    assert payload["priority"] == "now"
    assert payload["run_id"] == alert.run_id
    assert payload["report"] == alert.report_url
    assert payload["families"] == list(alert.families)
    assert payload["baseline"]["name"] == "baseline"
    assert payload["window"] == {"start": alert.window[0], "end": alert.window[1]}


def test_an_airflow_dag_run_named_after_the_run(
    runs: dict[str, RunResult], http_receiver: Callable[..., HttpReceiver]
) -> None:
    rx = http_receiver([Reply(200, {"state": "queued"}), Reply(409, {"title": "Conflict"})])
    channel = _channel(
        "dag",
        kind="retrain",
        format="airflow",
        url=rx.url("/api/v1/dags/retrain_skin/dagRuns"),
        headers={"Authorization": "Basic dmQ6cHc="},
    )
    alert = _alert(runs["drifted"], kind="retrain")
    assert channel.send(alert).status == 200
    # The same alert again (its answer was lost): Airflow says the run exists; it was started.
    assert channel.send(alert).status == 409
    first, second = rx.requests
    assert first.path == "/api/v1/dags/retrain_skin/dagRuns"
    body = first.json()
    assert body["dag_run_id"] == f"visiondrift-{alert.run_id}" == second.json()["dag_run_id"]
    assert body["conf"]["dataset"] == "skin"
    assert body["conf"]["priority"] == "now"


def test_a_visiondrift_retrain_trigger_is_signed(
    runs: dict[str, RunResult], http_receiver: Callable[..., HttpReceiver]
) -> None:
    rx = http_receiver(Reply(202))
    channel = _channel("rt", kind="retrain", url=rx.url("/retrain"), secret="rt-secret-123")
    channel.send(_alert(runs["drifted"], kind="retrain"))
    (request,) = rx.requests
    assert verify_signature(request.body, request.headers, "rt-secret-123")
    body = request.json()
    assert body["schema"] == "visiondrift.retrain/1"
    assert body["priority"] == "now"


def test_a_retrain_script_and_no_retraining_on_resolve(
    runs: dict[str, RunResult], tmp_path: Path, http_receiver: Callable[..., HttpReceiver]
) -> None:
    script = _script(tmp_path, ENV_DUMP)
    out = tmp_path / "seen.json"
    channel = _channel("rt", kind="retrain", argv=(sys.executable, str(script), str(out)))
    assert channel.send(_alert(runs["drifted"], kind="retrain")).status == 0
    seen = json.loads(out.read_text(encoding="utf-8"))
    retrain = json.loads(seen["env"]["VISIONDRIFT_RETRAIN"])
    assert retrain["priority"] == "now"
    assert retrain["dataset"] == "skin"
    assert seen["env"]["VISIONDRIFT_PRIORITY"] == "now"
    assert json.loads(seen["stdin"]) == retrain
    rx = http_receiver()
    hook = _channel("rt", kind="retrain", url=rx.url())
    resolved = hook.send(_alert(runs["clean"], kind="retrain", event="resolve"))
    assert resolved.status == 204
    assert "starts nothing" in resolved.answer
    assert rx.requests == []


# -------------------------------------------------------------------------------- test


def test_the_test_message_is_marked_as_a_test(http_receiver: Callable[..., HttpReceiver]) -> None:
    rx = http_receiver()
    alerts = _settings(hook={"kind": "webhook", "url": rx.url()})
    alert = test_alert("hook", "webhook", alerts)
    build_channel("hook", alerts.channels["hook"], alerts).send(alert)
    body = rx.requests[0].json()
    assert body["event"] == "test"
    assert rx.requests[0].headers["x-visiondrift-event"] == "test"
    assert "test message to the channel hook" in body["title"]
    assert body["dataset"] is None
    assert body["severity"] == "none"


def test_every_kind_builds_a_channel(tmp_path: Path) -> None:
    from visiondrift.alerts import Channel

    kinds = {
        "slack": {"url": "https://hooks.slack.com/services/SECRETPART"},
        "email": {"host": "smtp.example.com", "sender": "a@example.com", "to": ["b@example.com"]},
        "pagerduty": {"routing_key": "${PD_KEY}"},
        "webhook": {"url": "https://example.com/hook"},
        "command": {"argv": ["notify"]},
        "retrain": {"argv": ["retrain.sh"]},
    }
    for kind, keys in kinds.items():
        channel = _channel(kind, kind=kind, timeout=2.5, **keys)
        assert isinstance(channel, Channel)
        assert (channel.name, channel.kind, channel.timeout) == (kind, kind, 2.5)
        assert "SECRETPART" not in repr(channel)


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
    import subprocess

    import visiondrift.alerts as alerts

    assert all(getattr(alerts, name) is not None for name in alerts.__all__)
    code = (
        "import sys\n"
        "from visiondrift.alerts import RedactingFilter, redact, resolve_secret\n"
        "print(sorted(m for m in ('pydantic', 'httpx', 'smtplib') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
