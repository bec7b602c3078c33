"""The email channel: an alert as a mail (text + HTML, the run's page attached) through SMTP.

STARTTLS, implicit TLS or none (a local relay); a login when ``username`` is set; the server's
certificate checked against the system's authorities or ``ca_file``. An SMTP 4xx or a connection
failure is transient (retried), an SMTP 5xx or a refused login is permanent. Every string from
the data is escaped in the HTML; the run's file paths appear only with ``alerts.include_paths``.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any, Final, NoReturn

from visiondrift.alerts._base import BaseChannel, cut
from visiondrift.alerts._model import (
    Alert,
    Delivery,
    PermanentDeliveryError,
    TransientDeliveryError,
)

if TYPE_CHECKING:
    from email.message import EmailMessage

__all__ = ["EmailChannel", "html_body", "text_body"]

_COLOURS: Final[dict[str, str]] = {
    "high": "#b42318",
    "medium": "#b54708",
    "low": "#a16207",
    "none": "#067647",
}


def _counts_line(alert: Alert) -> str:
    counts = alert.counts
    return (
        f"{counts.get('images', 0):,} images, {counts.get('bad', 0):,} unusable; "
        f"{counts.get('drifted', 0)} of {counts.get('tests', 0)} tests drifted"
    )


def text_body(alert: Alert, *, include_paths: bool = False) -> str:
    """The text part: the title, the Markdown summary (or the explanations), the link."""
    lines = [alert.title, ""]
    if alert.summary:
        lines.append(alert.summary.rstrip())
    else:
        lines += [f"- {sentence}" for sentence in alert.explanations]
        lines += ["", _counts_line(alert)]
    if alert.report_url:
        lines += ["", f"Report: {alert.report_url}"]
    elif alert.report_name:
        lines += ["", f"Report: {alert.report_name}"]
    if include_paths and alert.files:
        lines += ["", "Files:"] + [f"- {kind}: {path}" for kind, path in alert.files.items()]
    if alert.run_id:
        lines += ["", f"Run {alert.run_id}"]
    return "\n".join(lines) + "\n"


def html_body(alert: Alert, *, include_paths: bool = False) -> str:
    """The HTML part: title, severity, explanations, counts, drifted metrics, the link."""
    colour = _COLOURS.get(alert.severity, "#344054")
    parts = [
        '<!doctype html><html><body style="font-family: sans-serif; color: #101828">',
        f'<h2 style="color: {colour}">{escape(alert.title)}</h2>',
        f"<p><strong>Severity:</strong> {escape(alert.severity)}"
        f" &middot; <strong>Status:</strong> {escape(alert.status)}</p>",
    ]
    if alert.explanations:
        items = "".join(f"<li>{escape(s)}</li>" for s in alert.explanations)
        parts.append(f"<ul>{items}</ul>")
    parts.append(f"<p>{escape(_counts_line(alert))}</p>")
    if alert.metrics:
        rows = "".join(
            "<tr>"
            f"<td>{escape(str(m.get('label', m.get('name', ''))))}</td>"
            f"<td>{escape(str(m.get('severity', '')))}</td>"
            f"<td>{_num(m.get('effect_size'))} {escape(str(m.get('effect_unit', '')))}</td>"
            f"<td>{_num(m.get('p_adjusted'))}</td>"
            "</tr>"
            for m in alert.metrics
        )
        parts.append(
            '<table cellpadding="4" style="border-collapse: collapse">'
            '<tr><th align="left">Metric</th><th align="left">Severity</th>'
            '<th align="left">Effect</th><th align="left">Adj. p</th></tr>'
            f"{rows}</table>"
        )
    if alert.report_url:
        url = escape(alert.report_url, quote=True)
        parts.append(f'<p><a href="{url}">Open the report</a></p>')
    elif alert.report_name:
        parts.append(f"<p>Report: {escape(alert.report_name)}</p>")
    if include_paths and alert.files:
        items = "".join(
            f"<li>{escape(kind)}: <code>{escape(path)}</code></li>"
            for kind, path in alert.files.items()
        )
        parts.append(f"<ul>{items}</ul>")
    if alert.run_id:
        parts.append(f'<p style="color: #667085">Run {escape(alert.run_id)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _num(value: object) -> str:
    if isinstance(value, int | float):
        return escape(f"{value:.3g}")
    return "–"


class EmailChannel(BaseChannel):
    """Mail through SMTP: a text part (the Markdown summary) and an HTML part, optionally the
    run's HTML page attached; STARTTLS, implicit TLS or none; a login when ``username`` is set.
    """

    def message(self, alert: Alert) -> EmailMessage:
        """The mail sent for ``alert``."""
        from email.message import EmailMessage
        from email.utils import formatdate, make_msgid
        from pathlib import Path

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
                # Bytes in base64: the page arrives byte for byte (UTF-8, its own line ends).
                message.make_mixed()
                message.add_attachment(
                    data,
                    maintype="text",
                    subtype="html",
                    filename=path.name,
                    params={"charset": "utf-8"},
                )
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
                f"{label}: the server {host}:{port} does not support {cut(str(err))}; check "
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
                answer=cut(_smtp_text(err.smtp_error)),
            ) from err
        except smtplib.SMTPResponseException as err:
            self._smtp_error(err.smtp_code, _smtp_text(err.smtp_error), err)
        except ssl.SSLCertVerificationError as err:
            raise PermanentDeliveryError(
                f"{label}: the certificate of {host}:{port} cannot be verified "
                f"({cut(err.verify_message or str(err))}); give its authority in "
                f"{self._key('ca_file')} or fix {self._key('host')}."
            ) from err
        except (smtplib.SMTPException, OSError) as err:
            raise TransientDeliveryError(
                f"{label} could not reach the mail server {host}:{port} "
                f"({type(err).__name__}: {cut(str(err))}); the alert is kept and retried."
            ) from err
        answer = (
            f"accepted for {len(settings.to) - len(refused)} of {len(settings.to)} recipient(s)"
        )
        if refused:
            answer += "; refused: " + ", ".join(sorted(refused))
        return Delivery(status=250, answer=cut(answer))

    def _smtp_error(self, code: int, text: str, err: Exception) -> NoReturn:
        said = f"{self._label()}: the mail server answered {code} {cut(text)}".rstrip()
        if 400 <= code < 500:
            raise TransientDeliveryError(
                f"{said}; a temporary refusal: the alert is kept and retried.",
                status=code,
                answer=cut(text),
            ) from err
        raise PermanentDeliveryError(
            f"{said}; check {self._key('sender')} and {self._key('to')}. Not retried.",
            status=code,
            answer=cut(text),
        ) from err


def _smtp_text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
