"""What every alert channel shares: settings, secrets at send time, HTTP, and outcomes.

A 2xx answer is a :class:`Delivery`; a timeout, a refused connection, 408, 429 or 5xx is a
:class:`TransientDeliveryError` (retried); any other answer (a redirect, 401, 404...) is a
:class:`PermanentDeliveryError` (reported once, not retried). Every error message and every
receiver's answer goes through :func:`redact` and is cut to :data:`MAX_ANSWER` characters; a
URL is never named (it is a secret): messages name the setting instead.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, NoReturn

from visiondrift.alerts._model import (
    Alert,
    Delivery,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from visiondrift.alerts._secrets import redact, resolve_secret

if TYPE_CHECKING:
    import httpx

    from visiondrift.settings import AlertsSettings, ChannelSettings

__all__ = ["MAX_ANSWER", "BaseChannel", "cut", "raise_for_status"]

#: The longest receiver's answer or error excerpt kept (characters).
MAX_ANSWER: Final = 500


def cut(text: str, limit: int = MAX_ANSWER) -> str:
    """``text`` with secrets masked, stripped, at most ``limit`` characters."""
    text = redact(text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BaseChannel:
    """What every channel shares: its name, kind, timeout and settings, and ``send`` raising
    only :class:`DeliveryError`."""

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
                f"{self._label()} failed unexpectedly: {cut(f'{type(err).__name__}: {err}')}"
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
            with httpx.Client(
                timeout=self.timeout, follow_redirects=False, verify=_tls_context()
            ) as client:
                response = client.post(url, content=body, headers=dict(headers))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as err:
            raise PermanentDeliveryError(
                f"{label} has a URL that is not a valid http(s) URL ({cut(str(err))}); fix "
                f"{self._key('url')}."
            ) from err
        except httpx.TimeoutException as err:
            raise TransientDeliveryError(
                f"{label} got no answer within its timeout of {self.timeout:g} s "
                f"({type(err).__name__}); the alert is kept and retried."
            ) from err
        except httpx.TransportError as err:
            raise TransientDeliveryError(
                f"{label} could not reach its receiver ({type(err).__name__}: {cut(str(err))});"
                " the alert is kept and retried."
            ) from err
        return self._answer(response, accept)

    def _answer(
        self, response: httpx.Response, accept: Callable[[int], bool] | None = None
    ) -> Delivery:
        status = response.status_code
        answer = cut(response.text)
        if 200 <= status < 300 or (accept is not None and accept(status)):
            return Delivery(status=status, answer=answer)
        raise_for_status(self._label(), status, response.reason_phrase, answer, self._key("url"))


def raise_for_status(label: str, status: int, reason: str, answer: str, key: str) -> NoReturn:
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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context (httpx's defaults: certifi's authorities) for every send of
    the process: building it loads the authorities, about 30 ms, which a client per send paid
    each time."""
    import httpx

    return httpx.create_ssl_context()
