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
through :func:`~visiondrift.alerts.redact` and is cut to 500 characters
(:data:`~visiondrift.alerts._base.MAX_ANSWER`). Outcomes: a 2xx answer (an
SMTP acceptance, a program's exit 0) is a :class:`Delivery`; a timeout, a refused connection,
408, 429 or 5xx (an SMTP 4xx, a program's non-zero exit) is a
:class:`TransientDeliveryError` (retried); any other answer (401, 404, an SMTP 5xx), a missing
secret or program is a :class:`PermanentDeliveryError` (reported once, not retried).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from visiondrift.alerts._base import BaseChannel, cut
from visiondrift.alerts._email import EmailChannel
from visiondrift.alerts._model import (
    Alert,
    Channel,
    Delivery,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from visiondrift.alerts._payloads import (
    RETRAIN_SCHEMA,
    alert_payload,
    dumps,
    pagerduty_payload,
    retrain_payload,
    sign,
    slack_payload,
)

if TYPE_CHECKING:
    from visiondrift.settings import AlertsSettings, ChannelSettings

__all__ = [
    "PAGERDUTY_URL",
    "CommandChannel",
    "EmailChannel",
    "PagerDutyChannel",
    "RetrainChannel",
    "SlackChannel",
    "WebhookChannel",
    "build_channel",
]

#: The PagerDuty Events API v2 endpoint used when a pagerduty channel sets no ``url``.
PAGERDUTY_URL: Final = "https://events.pagerduty.com/v2/enqueue"
#: The prefix of the environment variables a command (or retraining script) receives.
_ENV_PREFIX: Final = "VISIONDRIFT_"


class SlackChannel(BaseChannel):
    """Slack incoming webhook: a Block Kit message with a plain ``text`` fallback
    (:func:`~visiondrift.alerts.slack_payload`)."""

    def _send(self, alert: Alert) -> Delivery:
        url = str(self._secret("url"))
        return self._post(url, dumps(slack_payload(alert)), {"Content-Type": "application/json"})


class PagerDutyChannel(BaseChannel):
    """PagerDuty Events API v2: ``trigger`` on drift, ``resolve`` when clean again; one
    incident per dataset (dedup key ``visiondrift/<dataset>``)."""

    def dedup_key(self, alert: Alert) -> str:
        """The incident's key: stable per dataset, so a rise updates it and a resolve closes it
        (a test message has its own)."""
        if alert.event == "test":
            return f"visiondrift/test/{self._name}"
        return f"visiondrift/{alert.dataset or 'unnamed'}"

    def _send(self, alert: Alert) -> Delivery:
        key = str(self._secret("routing_key"))
        url = self._secret("url") or PAGERDUTY_URL
        body = dumps(pagerduty_payload(alert, key, self.dedup_key(alert)))
        return self._post(url, body, {"Content-Type": "application/json"})


class _Signed(BaseChannel):
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
        body = dumps(alert_payload(alert, include_paths=self.alerts.include_paths))
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


class CommandChannel(BaseChannel):
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
        output = cut((done.stdout or "") + (done.stderr or ""))
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
            body = dumps({"event_type": self.settings.event_type, "client_payload": payload})
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
            body = dumps({"dag_run_id": f"visiondrift-{run}", "conf": payload})
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            headers.update(self._headers())
            return body, headers, lambda status: status == 409
        body = dumps({"schema": RETRAIN_SCHEMA, **payload})
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


_KINDS: Final[dict[str, type[BaseChannel]]] = {
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
