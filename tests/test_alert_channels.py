"""The alert channels against real receivers on 127.0.0.1.

Every channel sends to a real server (an HTTP server in a thread, an aiosmtpd SMTP server, a real
program run with ``sys.executable``) and the test reads what arrived: the published request
format (method, path, headers, JSON shape, Block Kit blocks, PagerDuty fields, the HMAC
signature checked with ``verify_signature``), the mail's parts, the program's environment. The
status mapping (2xx delivered; 5xx, 408, 429, timeout, refused connection transient; other 4xx
permanent) and what never leaks (a secret echoed by a receiver) are checked the same way.
"""

from __future__ import annotations

import json
import secrets
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import _alert_runs
import _receivers
from _alert_runs import alerts_settings
from _alert_runs import make_alert as _alert
from _alert_runs import make_channel as _channel
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
    TransientDeliveryError,
    build_channel,
    test_alert,
    verify_signature,
)
from visiondrift.alerts._payloads import PAGERDUTY_SEVERITIES, sign
from visiondrift.app import RunResult
from visiondrift.settings import AlertsSettings, ChannelSettings

#: Fixtures: two real monitor runs, and the receivers.
runs = _alert_runs.runs
http_receiver = _receivers.http_receiver
smtp_receiver = _receivers.smtp_receiver


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
    alerts = alerts_settings(hook={"kind": "webhook", "url": rx.url()})
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
