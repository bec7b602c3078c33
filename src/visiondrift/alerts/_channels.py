"""The alert channels: one class per kind, each turning an :class:`Alert` into one delivery.

=============  ============================================================================
kind           what ``send`` does
=============  ============================================================================
``slack``      POST a Block Kit message (with a ``text`` fallback) to an incoming webhook
``email``      send a text + HTML mail through SMTP (STARTTLS, implicit TLS or none)
``pagerduty``  POST an Events API v2 ``trigger``/``resolve`` with a per-dataset dedup key
``webhook``    POST the alert as JSON (schema ``visiondrift.alert/1``), HMAC-signed
``command``    run a program (no shell) with the alert in its environment and on stdin
``retrain``    start a retraining pipeline: visiondrift JSON, a GitHub repository dispatch,
               an Airflow DAG run, or a program
=============  ============================================================================

Secrets are resolved from their references at each send (:mod:`visiondrift.alerts._secrets`)
and never leave this module in text: every error message and every receiver's answer goes
through :func:`redact` and is cut to :data:`MAX_ANSWER` characters. Outcomes: a 2xx answer (an
SMTP acceptance, a program's exit 0) is a :class:`Delivery`; a timeout, a refused connection,
408, 429 or 5xx (an SMTP 4xx, a program's non-zero exit) is a
:class:`TransientDeliveryError` (retried); any other answer (401, 404, an SMTP 5xx), a missing
secret or program is a :class:`PermanentDeliveryError` (reported once, not retried).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, NoReturn

from visiondrift.alerts._model import (
    Alert,
    Channel,
    Delivery,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from visiondrift.alerts._secrets import redact, resolve_secret

if TYPE_CHECKING:
    import httpx

    from visiondrift.settings import AlertsSettings, ChannelSettings

__all__ = [
    "ALERT_SCHEMA",
    "MAX_ANSWER",
    "PAGERDUTY_SEVERITIES",
    "PAGERDUTY_URL",
    "RETRAIN_SCHEMA",
    "SIGNATURE_TOLERANCE",
    "CommandChannel",
    "EmailChannel",
    "PagerDutyChannel",
    "RetrainChannel",
    "SlackChannel",
    "WebhookChannel",
    "alert_payload",
    "build_channel",
    "retrain_payload",
    "sign",
    "verify_signature",
]

#: The ``schema`` of the webhook's JSON body.
ALERT_SCHEMA: Final = "visiondrift.alert/1"
#: The ``schema`` of the retraining trigger's own JSON body (format ``visiondrift``).
RETRAIN_SCHEMA: Final = "visiondrift.retrain/1"
#: The PagerDuty Events API v2 endpoint used when a pagerduty channel sets no ``url``.
PAGERDUTY_URL: Final = "https://events.pagerduty.com/v2/enqueue"
#: PagerDuty's severity for each visiondrift severity.
PAGERDUTY_SEVERITIES: Final[dict[str, str]] = {
    "high": "critical",
    "medium": "error",
    "low": "warning",
    "none": "info",
}
#: The longest receiver's answer or error excerpt kept (characters).
MAX_ANSWER: Final = 500
#: Seconds a signature's timestamp may differ from the receiver's clock (replay protection).
SIGNATURE_TOLERANCE: Final = 300
#: Environment variables a command (or retraining script) receives, besides the process's own.
_ENV_PREFIX: Final = "VISIONDRIFT_"
#: Slack's limits on a header block and a section's text.
_SLACK_HEADER: Final = 150
_SLACK_TEXT: Final = 3000
#: The exit status a program uses for "temporary failure, try again" (sysexits EX_TEMPFAIL)
#: is one of the non-zero exits, all of which are retried; see CommandChannel.
_VERDICTS: Final[dict[str, str]] = {
    "drift": "Drift",
    "no_drift": "No drift",
    "insufficient_evidence": "Insufficient evidence",
}


def _cut(text: str, limit: int = MAX_ANSWER) -> str:
    text = redact(text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------ signatures


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The ``X-Visiondrift-Signature`` value: ``sha256=`` + the hex HMAC-SHA256 of
    ``"<timestamp>.<body>"`` keyed with ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float = SIGNATURE_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether a received webhook (or retraining trigger) was signed with ``secret`` recently.

    For receivers: pass the raw body bytes and the request's headers. The signature must match
    ``X-Visiondrift-Signature`` (compared in constant time) and ``X-Visiondrift-Timestamp`` must
    be within ``tolerance`` seconds of ``now`` (default: the clock), so a captured request
    cannot be replayed later.

    Examples
    --------
    >>> body = b'{"schema": "visiondrift.alert/1"}'
    >>> headers = {"X-Visiondrift-Timestamp": "1700000000",
    ...            "X-Visiondrift-Signature": sign(body, "s3cret", 1700000000)}
    >>> verify_signature(body, headers, "s3cret", now=1700000010)
    True
    >>> verify_signature(body, headers, "s3cret", now=1700009999)  # a replay, hours later
    False
    >>> verify_signature(body + b" ", headers, "s3cret", now=1700000010)
    False
    """
    stamp = _header(headers, "X-Visiondrift-Timestamp")
    given = _header(headers, "X-Visiondrift-Signature")
    if not stamp or not given:
        return False
    try:
        timestamp = int(stamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(body, secret, timestamp)
    return any(
        hmac.compare_digest(expected.encode(), part.strip().encode()) for part in given.split(",")
    )


# ---------------------------------------------------------------------------- the payloads


def _window(alert: Alert) -> dict[str, str] | None:
    return None if alert.window is None else {"start": alert.window[0], "end": alert.window[1]}


def alert_payload(alert: Alert, *, include_paths: bool = False) -> dict[str, Any]:
    """The webhook's JSON body (schema ``visiondrift.alert/1``); ``files`` (the run's file
    paths) only with ``include_paths``."""
    body: dict[str, Any] = {
        "schema": ALERT_SCHEMA,
        "id": alert.alert_id,
        "event": alert.event,
        "channel": alert.channel,
        "dataset": alert.dataset,
        "run_id": alert.run_id,
        "severity": alert.severity,
        "previous_severity": alert.previous_severity,
        "status": alert.status,
        "slow_drift": alert.slow_drift,
        "title": alert.title,
        "explanations": list(alert.explanations),
        "counts": dict(alert.counts),
        "families": list(alert.families),
        "metrics": [dict(m) for m in alert.metrics],
        "window": _window(alert),
        "baseline": dict(alert.baseline),
        "report": {"name": alert.report_name, "url": alert.report_url},
        "summary": alert.summary,
        "created_at": alert.created_at,
    }
    if include_paths:
        body["files"] = dict(alert.files)
    return body


def retrain_payload(alert: Alert) -> dict[str, Any]:
    """What a retraining pipeline is told (ten top-level keys: GitHub's limit for a
    ``client_payload``)."""
    return {
        "id": alert.alert_id,
        "event": alert.event,
        "dataset": alert.dataset,
        "run_id": alert.run_id,
        "severity": alert.severity,
        "priority": alert.priority,
        "families": list(alert.families),
        "window": _window(alert),
        "baseline": dict(alert.baseline),
        "report": alert.report_url or alert.report_name,
    }


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ------------------------------------------------------------------------ the base channel


class _Base:
    """What every channel shares: its name, kind, timeout and settings, and ``send`` raising
    only :class:`DeliveryError`."""

    kind_name: str = ""

    def __init__(self, name: str, settings: ChannelSettings, alerts: AlertsSettings) -> None:
        self._name = name
        self.settings = settings
        self.alerts = alerts

    @property
    def name(self) -> str:
        return self._name

    @property
    def kind(self) -> str:
        return self.settings.kind

    @property
    def timeout(self) -> float:
        return float(self.settings.timeout)

    def __repr__(self) -> str:  # never the settings: they hold references to secrets
        return f"{type(self).__name__}(name={self._name!r})"

    def _key(self, field: str) -> str:
        return f"alerts.channels.{self._name}.{field}"

    def _label(self) -> str:
        return f"The {self.kind} channel {self._name!r}"

    def _secret(self, field: str) -> str | None:
        return resolve_secret(getattr(self.settings, field), key=self._key(field))

    def _headers(self) -> dict[str, str]:
        return {
            header: str(resolve_secret(value, key=self._key(f"headers.{header}")))
            for header, value in self.settings.headers.items()
        }

    def send(self, alert: Alert) -> Delivery:
        """Deliver ``alert``; raise :class:`DeliveryError` (only) when it was not delivered."""
        try:
            return self._send(alert)
        except DeliveryError:
            raise
        except Exception as err:  # a bug or an unforeseen failure: keep the alert, say what
            raise TransientDeliveryError(
                f"{self._label()} failed unexpectedly: {_cut(f'{type(err).__name__}: {err}')}"
            ) from err

    def _send(self, alert: Alert) -> Delivery:
        raise NotImplementedError

    # -- HTTP
    def _post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        accept: Callable[[int], bool] | None = None,
    ) -> Delivery:
        """POST ``body`` to ``url`` (a secret: never named in text) and map the answer."""
        import httpx

        label = self._label()
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.post(url, content=body, headers=dict(headers))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as err:
            raise PermanentDeliveryError(
                f"{label} has a URL that is not a valid http(s) URL ({_cut(str(err))}); fix "
                f"{self._key('url')}."
            ) from err
        except httpx.TimeoutException as err:
            raise TransientDeliveryError(
                f"{label} got no answer within its timeout of {self.timeout:g} s "
                f"({type(err).__name__}); the alert is kept and retried."
            ) from err
        except httpx.TransportError as err:
            raise TransientDeliveryError(
                f"{label} could not reach its receiver ({type(err).__name__}: {_cut(str(err))});"
                " the alert is kept and retried."
            ) from err
        return self._answer(response, accept)

    def _answer(
        self, response: httpx.Response, accept: Callable[[int], bool] | None = None
    ) -> Delivery:
        status = response.status_code
        answer = _cut(response.text)
        if 200 <= status < 300 or (accept is not None and accept(status)):
            return Delivery(status=status, answer=answer)
        _raise_for_status(self._label(), status, response.reason_phrase, answer, self._key("url"))


def _raise_for_status(label: str, status: int, reason: str, answer: str, key: str) -> NoReturn:
    said = f"{label} was answered {status} {reason}".rstrip()
    said += f": {answer}" if answer else "."
    if status in (408, 429) or status >= 500:
        raise TransientDeliveryError(
            f"{said} The receiver is busy or failing; the alert is kept and retried.",
            status=status,
            answer=answer,
        )
    if 300 <= status < 400:
        fix = f"Redirects are not followed: set {key} to the final URL."
    elif status in (401, 403):
        fix = f"The credentials are refused: check {key} and the channel's secret or headers."
    elif status in (404, 410):
        fix = f"Nothing receives alerts there (any more): check {key}."
    else:
        fix = "The receiver refused the message; fix the channel's settings."
    raise PermanentDeliveryError(f"{said} {fix} Not retried.", status=status, answer=answer)


# ------------------------------------------------------------------------------- channels


class SlackChannel(_Base):
    """Slack incoming webhook: a Block Kit message with a plain ``text`` fallback."""

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON posted to Slack."""
        verdict = _VERDICTS.get(alert.status, alert.status)
        if alert.event == "resolve":
            verdict = "Back to normal"
        elif alert.event == "test":
            verdict = "Test message"
        elif alert.slow_drift and alert.status != "drift":
            verdict = "Slow drift across runs"
        blocks: list[dict[str, Any]] = [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": alert.title[:_SLACK_HEADER]},
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Verdict*\n{verdict}"},
                    {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity}"},
                ],
            },
        ]
        if alert.explanations:
            text = "\n".join(f"• {_slack_escape(s)}" for s in alert.explanations[:3])
            blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": text[:_SLACK_TEXT]}}
            )
        counts = alert.counts
        context = [
            f"{counts.get('images', 0):,} images",
            f"{counts.get('bad', 0):,} unusable",
            f"{counts.get('drifted', 0)} of {counts.get('tests', 0)} tests drifted",
        ]
        if alert.dataset:
            context.append(f"dataset {_slack_escape(alert.dataset)}")
        if alert.run_id:
            context.append(f"run {alert.run_id[:12]}")
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
        )
        if alert.report_url:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Open the report"},
                            "url": alert.report_url,
                        }
                    ],
                }
            )
        fallback = alert.title
        if alert.explanations:
            fallback += ": " + alert.explanations[0]
        if alert.report_url:
            fallback += f" <{alert.report_url}|report>"
        return {"text": fallback[:_SLACK_TEXT], "blocks": blocks}

    def _send(self, alert: Alert) -> Delivery:
        url = str(self._secret("url"))
        body = _dumps(self.payload(alert))
        return self._post(url, body, {"Content-Type": "application/json"})


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class PagerDutyChannel(_Base):
    """PagerDuty Events API v2: ``trigger`` on drift, ``resolve`` when clean again; one
    incident per dataset (dedup key ``visiondrift/<dataset>``)."""

    def dedup_key(self, alert: Alert) -> str:
        """The incident's key: stable per dataset, so a rise updates it and a resolve closes it
        (a test message has its own)."""
        if alert.event == "test":
            return f"visiondrift/test/{self._name}"
        return f"visiondrift/{alert.dataset or 'unnamed'}"

    def payload(self, alert: Alert, routing_key: str) -> dict[str, Any]:
        """The event posted to PagerDuty."""
        event: dict[str, Any] = {
            "routing_key": routing_key,
            "event_action": "resolve" if alert.event == "resolve" else "trigger",
            "dedup_key": self.dedup_key(alert),
        }
        if alert.event == "resolve":
            return event
        event["payload"] = {
            "summary": alert.title[:1024],
            "source": "visiondrift",
            "severity": PAGERDUTY_SEVERITIES.get(alert.severity, "warning"),
            "component": alert.dataset or "unnamed",
            "class": "test" if alert.event == "test" else "drift",
            "custom_details": {
                "explanations": list(alert.explanations),
                "counts": dict(alert.counts),
                "families": list(alert.families),
                "run_id": alert.run_id,
                "status": alert.status,
                "slow_drift": alert.slow_drift,
                "report": alert.report_url or alert.report_name,
            },
        }
        event["client"] = "visiondrift"
        if alert.report_url:
            event["client_url"] = alert.report_url
            event["links"] = [{"href": alert.report_url, "text": "Drift report"}]
        return event

    def _send(self, alert: Alert) -> Delivery:
        key = str(self._secret("routing_key"))
        url = self._secret("url") or PAGERDUTY_URL
        body = _dumps(self.payload(alert, key))
        return self._post(url, body, {"Content-Type": "application/json"})


class _Signed(_Base):
    """A channel whose JSON requests are signed when it has a ``secret``."""

    def _signed_headers(self, alert: Alert, body: bytes) -> dict[str, str]:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "visiondrift",
            "X-Visiondrift-Event": alert.event,
            "X-Visiondrift-Delivery": alert.alert_id,
            "X-Visiondrift-Timestamp": str(timestamp),
        }
        secret = self._secret("secret")
        if secret is not None:
            headers["X-Visiondrift-Signature"] = sign(body, secret, timestamp)
        headers.update(self._headers())
        return headers


class WebhookChannel(_Signed):
    """A JSON POST (schema ``visiondrift.alert/1``) signed with HMAC-SHA256 when the channel
    has a ``secret`` (see :func:`verify_signature`)."""

    def _send(self, alert: Alert) -> Delivery:
        url = str(self._secret("url"))
        body = _dumps(alert_payload(alert, include_paths=self.alerts.include_paths))
        return self._post(url, body, self._signed_headers(alert, body))


def _environment(alert: Alert, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            _ENV_PREFIX + "ALERT_EVENT": alert.event,
            _ENV_PREFIX + "SEVERITY": alert.severity,
            _ENV_PREFIX + "STATUS": alert.status,
            _ENV_PREFIX + "DATASET": alert.dataset or "",
            _ENV_PREFIX + "RUN_ID": alert.run_id or "",
            _ENV_PREFIX + "CHANNEL": alert.channel,
            _ENV_PREFIX + "REPORT": alert.files.get("report", ""),
            _ENV_PREFIX + "REPORT_URL": alert.report_url or "",
            _ENV_PREFIX + "ALERT": alert.dumps(),
        }
    )
    env.update(extra or {})
    return env


class CommandChannel(_Base):
    """Runs a program (no shell) with the alert in its environment (``VISIONDRIFT_*``) and as
    JSON on its standard input.

    Exit 0 is a delivery; any other exit (a failing script, a temporary outage it met) and a
    timeout are retried; a program that does not exist or cannot be run is not.
    """

    def _run(self, alert: Alert, stdin: str, env: dict[str, str]) -> Delivery:
        import subprocess

        argv = list(self.settings.argv or ())
        label, key = self._label(), self._key("argv")
        try:
            done = subprocess.run(
                argv,
                shell=False,
                env=env,
                input=stdin,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as err:
            raise PermanentDeliveryError(
                f"{label} runs {argv[0]!r}, which does not exist; fix {key} (a full path, or a "
                "program on the PATH of the process that sends alerts)."
            ) from err
        except PermissionError as err:
            raise PermanentDeliveryError(
                f"{label} runs {argv[0]!r}, which cannot be executed (permission denied); make it "
                f"executable or fix {key}."
            ) from err
        except subprocess.TimeoutExpired as err:
            raise TransientDeliveryError(
                f"{label} did not finish within its timeout of {self.timeout:g} s and was "
                "stopped; the alert is kept and retried."
            ) from err
        except OSError as err:
            raise PermanentDeliveryError(
                f"{label} cannot run {argv[0]!r} ({err.strerror or type(err).__name__}); fix {key}."
            ) from err
        output = _cut((done.stdout or "") + (done.stderr or ""))
        if done.returncode == 0:
            return Delivery(status=0, answer=output)
        raise TransientDeliveryError(
            f"{label} exited with status {done.returncode}"
            + (f": {output}" if output else ".")
            + " The alert is kept and retried.",
            status=done.returncode,
            answer=output,
        )

    def _send(self, alert: Alert) -> Delivery:
        return self._run(alert, alert.dumps(), _environment(alert))


class RetrainChannel(_Signed, CommandChannel):
    """Starts a retraining pipeline when a dataset drifts.

    ``format`` ``visiondrift``: POST :func:`retrain_payload` (plus ``schema``) to ``url``,
    signed like a webhook. ``github``: POST ``{"event_type", "client_payload"}`` to a
    repository's ``/dispatches`` URL. ``airflow``: POST ``{"dag_run_id", "conf"}`` to a DAG's
    ``/api/v1/dags/DAG/dagRuns`` URL (an existing run of that id, 409, counts as delivered: it
    was started by an earlier attempt). With ``argv``: run the program, the payload in
    ``VISIONDRIFT_RETRAIN`` and on stdin. A ``resolve`` starts nothing.
    """

    def request(self, alert: Alert) -> tuple[bytes, dict[str, str], Callable[[int], bool] | None]:
        """The body, headers and extra accepted statuses of the trigger's HTTP request."""
        payload = retrain_payload(alert)
        fmt = self.settings.format
        if fmt == "github":
            body = _dumps({"event_type": self.settings.event_type, "client_payload": payload})
            headers = {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
                "User-Agent": "visiondrift",
            }
            headers.update(self._headers())
            return body, headers, None
        if fmt == "airflow":
            run = alert.run_id or f"test-{alert.alert_id[:12]}"
            body = _dumps({"dag_run_id": f"visiondrift-{run}", "conf": payload})
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            headers.update(self._headers())
            return body, headers, lambda status: status == 409
        body = _dumps({"schema": RETRAIN_SCHEMA, **payload})
        return body, self._signed_headers(alert, body), None

    def _send(self, alert: Alert) -> Delivery:
        if alert.event == "resolve":
            return Delivery(status=204, answer="a retraining trigger starts nothing on 'resolve'")
        if self.settings.argv is not None:
            payload = json.dumps(retrain_payload(alert), ensure_ascii=False)
            extra = {
                _ENV_PREFIX + "RETRAIN": payload,
                _ENV_PREFIX + "PRIORITY": alert.priority or "",
                _ENV_PREFIX + "FAMILIES": ",".join(alert.families),
            }
            return self._run(alert, payload, _environment(alert, extra))
        url = str(self._secret("url"))
        body, headers, accept = self.request(alert)
        return self._post(url, body, headers, accept=accept)


class EmailChannel(_Base):
    """Mail through SMTP: a text part (the Markdown summary) and an HTML part, optionally the
    run's HTML page attached; STARTTLS, implicit TLS or none; a login when ``username`` is set.
    """

    def message(self, alert: Alert) -> Any:
        """The :class:`email.message.EmailMessage` sent."""
        from email.message import EmailMessage
        from email.utils import formatdate, make_msgid
        from pathlib import Path

        from visiondrift.alerts._mail import html_body, text_body

        settings = self.settings
        message = EmailMessage()
        message["Subject"] = alert.title
        message["From"] = str(settings.sender)
        message["To"] = ", ".join(settings.to)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        domain = str(settings.sender).rpartition("@")[2] or "visiondrift.invalid"
        message["Message-ID"] = make_msgid("visiondrift", domain=domain)
        message["X-Visiondrift-Event"] = alert.event
        message["X-Visiondrift-Delivery"] = alert.alert_id
        message.set_content(text_body(alert, include_paths=self.alerts.include_paths))
        message.add_alternative(
            html_body(alert, include_paths=self.alerts.include_paths), subtype="html"
        )
        page = alert.files.get("html")
        if settings.attach_html and page:
            path = Path(page)
            try:
                data = path.read_bytes()
            except OSError:
                data = None  # the page is gone (moved, pruned): the mail still says it all
            if data is not None:
                message.make_mixed()
                message.add_attachment(data, maintype="text", subtype="html", filename=path.name)
        return message

    def _context(self) -> Any:
        import ssl

        return ssl.create_default_context(cafile=self.settings.ca_file)

    def _send(self, alert: Alert) -> Delivery:
        import smtplib
        import ssl

        settings = self.settings
        security = settings.security
        port = settings.port or {"starttls": 587, "tls": 465, "none": 25}[security]
        host = str(settings.host)
        password = self._secret("password")
        if settings.username and password is None:
            raise PermanentDeliveryError(
                f"{self._label()} logs in as {settings.username!r} but has no password; set "
                f"{self._key('password')} (a reference such as ${{SMTP_PASSWORD}})."
            )
        message = self.message(alert)
        label = self._label()
        try:
            if security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    host, port, timeout=self.timeout, context=self._context()
                )
            else:
                smtp = smtplib.SMTP(host, port, timeout=self.timeout)
            with smtp:
                if security == "starttls":
                    smtp.starttls(context=self._context())
                if settings.username:
                    smtp.login(settings.username, str(password))
                refused = smtp.send_message(message)
        except smtplib.SMTPNotSupportedError as err:
            raise PermanentDeliveryError(
                f"{label}: the server {host}:{port} does not support {_cut(str(err))}; check "
                f"{self._key('security')} and {self._key('username')}."
            ) from err
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            self._smtp_error(min(codes) if codes else 550, "refused every recipient", err)
        except smtplib.SMTPAuthenticationError as err:
            raise PermanentDeliveryError(
                f"{label}: the server {host}:{port} refused the login of "
                f"{settings.username!r} ({err.smtp_code}); check {self._key('username')} and "
                f"{self._key('password')}. Not retried.",
                status=err.smtp_code,
                answer=_cut(_smtp_text(err.smtp_error)),
            ) from err
        except smtplib.SMTPResponseException as err:
            self._smtp_error(err.smtp_code, _smtp_text(err.smtp_error), err)
        except ssl.SSLCertVerificationError as err:
            raise PermanentDeliveryError(
                f"{label}: the certificate of {host}:{port} cannot be verified "
                f"({_cut(err.verify_message or str(err))}); give its authority in "
                f"{self._key('ca_file')} or fix {self._key('host')}."
            ) from err
        except (smtplib.SMTPException, OSError) as err:
            raise TransientDeliveryError(
                f"{label} could not reach the mail server {host}:{port} "
                f"({type(err).__name__}: {_cut(str(err))}); the alert is kept and retried."
            ) from err
        answer = (
            f"accepted for {len(settings.to) - len(refused)} of {len(settings.to)} recipient(s)"
        )
        if refused:
            answer += "; refused: " + ", ".join(sorted(refused))
        return Delivery(status=250, answer=_cut(answer))

    def _smtp_error(self, code: int, text: str, err: Exception) -> NoReturn:
        said = f"{self._label()}: the mail server answered {code} {_cut(text)}".rstrip()
        if 400 <= code < 500:
            raise TransientDeliveryError(
                f"{said}; a temporary refusal: the alert is kept and retried.",
                status=code,
                answer=_cut(text),
            ) from err
        raise PermanentDeliveryError(
            f"{said}; check {self._key('sender')} and {self._key('to')}. Not retried.",
            status=code,
            answer=_cut(text),
        ) from err


def _smtp_text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


_KINDS: Final[dict[str, type[_Base]]] = {
    "slack": SlackChannel,
    "email": EmailChannel,
    "pagerduty": PagerDutyChannel,
    "webhook": WebhookChannel,
    "command": CommandChannel,
    "retrain": RetrainChannel,
}


def build_channel(name: str, channel: ChannelSettings, alerts: AlertsSettings) -> Channel:
    """The channel ``name`` described by ``channel`` (``[alerts.channels.NAME]``).

    Nothing is resolved or contacted here: secrets are read at each send, so a missing one
    fails that delivery (``PermanentDeliveryError``), not the run.
    """
    cls = _KINDS.get(channel.kind)
    if cls is None:  # the settings' Literal makes this unreachable; a clear message anyway
        raise ValueError(
            f"The channel {name!r} has the unknown kind {channel.kind!r}; expected one of "
            f"{sorted(_KINDS)}."
        )
    built: Channel = cls(name, channel, alerts)
    return built
