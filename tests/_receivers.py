"""Real receivers on 127.0.0.1 for the alert tests: an HTTP server and an SMTP server.

``HttpReceiver`` is a standard-library ``ThreadingHTTPServer`` on a free port in a thread. It
records every request (method, path, headers, body) and answers from a script: each entry is a
status (``500``), or a :class:`Reply` (status, body, headers, delay); the last entry is repeated
once the script is used up. A delay longer than the client's timeout makes the client time out;
the delay is cut short when the receiver closes, so closing never waits for it.

``SmtpReceiver`` is an aiosmtpd ``Controller`` on a free port that records each message and
answers ``DATA`` from a script of SMTP replies (``"250 OK"``, ``"451 4.3.0 Try later"``...). It
can require a login (AUTH PLAIN/LOGIN), over STARTTLS or implicit TLS with a self-signed
certificate made by :func:`self_signed_certificate` (the ``cryptography`` package), or in the
clear with ``auth_require_tls=False`` when TLS is off.

``closed_port()`` gives a port on 127.0.0.1 where nothing listens (connections are refused).

Use them as context managers (``with HttpReceiver([500, 200]) as rx: ...``) or through the
fixtures ``http_receiver`` / ``smtp_receiver``, made fixtures of a test module by naming
them there (an assignment, so that ruff does not take the parameters for redefinitions)::

    import _receivers

    http_receiver = _receivers.http_receiver
    smtp_receiver = _receivers.smtp_receiver

    def test_x(http_receiver):
        rx = http_receiver([500, 200])
        ...
        assert rx.requests[0].json()["event"] == "trigger"
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.message
import email.policy
import http.server
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

__all__ = [
    "HttpReceiver",
    "ReceivedMail",
    "ReceivedRequest",
    "Reply",
    "SmtpReceiver",
    "closed_port",
    "closed_url",
    "free_port",
    "http_receiver",
    "self_signed_certificate",
    "smtp_receiver",
]

HOST = "127.0.0.1"


# --------------------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer: the status, a body (text, bytes or JSON data), extra headers,
    and a delay in seconds before answering (to make a client time out)."""

    status: int = 200
    body: str | bytes | dict[str, Any] | list[Any] = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def payload(self) -> tuple[bytes, str]:
        """The body's bytes and its content type."""
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode("utf-8"), "application/json"


ReplyLike = int | Reply


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as the receiver got it. ``headers`` keys are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class _Server(http.server.ThreadingHTTPServer):
    # Threads are joined on close (server_close), so no thread outlives a test.
    daemon_threads = False
    block_on_close = True
    receiver: HttpReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) leaves a broken pipe behind: expected, not an error.
        # Anything else is kept and re-raised by HttpReceiver.close().
        import sys

        err = sys.exc_info()[1]
        if isinstance(err, ConnectionError | TimeoutError):
            return
        if err is not None:
            self.receiver.errors.append(err)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _handle(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        request = ReceivedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        reply = receiver._record(request)
        if reply.delay:
            receiver._closing.wait(reply.delay)
        data, content_type = reply.payload()
        self.send_response(reply.status)
        headers = {"Content-Type": content_type, "Content-Length": str(len(data))}
        headers.update(reply.headers)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.close_connection = True

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class _Served:
    """A server started by ``with`` and closed at its end (``start`` returns the server)."""

    def start(self) -> Self:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class HttpReceiver(_Served):
    """An HTTP server on 127.0.0.1 that records requests and answers from a script.

    Parameters
    ----------
    script
        The answers in order: statuses or :class:`Reply`; the last one is repeated. A single
        status or Reply is a script of one. Default: always 200.
    """

    def __init__(self, script: ReplyLike | Sequence[ReplyLike] = 200) -> None:
        items = [script] if isinstance(script, int | Reply) else list(script)
        if not items:
            raise ValueError("the receiver's script needs at least one answer")
        self._script: list[Reply] = [Reply(i) if isinstance(i, int) else i for i in items]
        self.requests: list[ReceivedRequest] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Condition()
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle
    def start(self) -> HttpReceiver:
        server = _Server((HOST, 0), _Handler)
        server.receiver = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="http-receiver"
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is None:
            return
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        if self.errors:
            raise AssertionError(f"the receiver failed while answering: {self.errors[0]!r}")

    # -- addresses
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str = "/hook") -> str:
        """The URL of ``path`` on this receiver."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- script and record
    def script(self, *answers: ReplyLike) -> None:
        """Replace what is answered from now on."""
        with self._lock:
            self._script = [Reply(i) if isinstance(i, int) else i for i in answers]

    def _record(self, request: ReceivedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            reply = self._script[0] if len(self._script) == 1 else self._script.pop(0)
            self._lock.notify_all()
            return reply

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Wait until ``count`` requests have arrived (or fail after ``timeout`` seconds)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(
                    f"expected {count} request(s) within {timeout}s, got {len(self.requests)}"
                )
            return list(self.requests)


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connecting is refused."""
    return free_port()


def closed_url(path: str = "/hook") -> str:
    """An http URL on 127.0.0.1 whose port refuses connections."""
    return f"http://{HOST}:{closed_port()}{path}"


@pytest.fixture
def http_receiver() -> Iterator[Callable[..., HttpReceiver]]:
    """A factory of started :class:`HttpReceiver` objects, all closed after the test."""
    made: list[HttpReceiver] = []

    def make(script: ReplyLike | Sequence[ReplyLike] = 200) -> HttpReceiver:
        receiver = HttpReceiver(script).start()
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


# --------------------------------------------------------------------------------------- SMTP


def self_signed_certificate(folder: Path, host: str = HOST) -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` (an IP address or a name) and its key, written to
    ``folder`` as ``cert.pem`` and ``key.pem``. Needs the ``cryptography`` package (skips the
    test when it is absent)."""
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass(frozen=True)
class ReceivedMail:
    """A message as the SMTP server got it, with the reply it gave."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    reply: str
    login: str | None

    def message(self) -> email.message.EmailMessage:
        """The message parsed with the email package (modern policy)."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        return parsed


class _SmtpHandler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return self.receiver._record(session, envelope)


class SmtpReceiver(_Served):
    """An aiosmtpd server on 127.0.0.1 recording messages, answering DATA from a script.

    Parameters
    ----------
    script
        The replies to DATA in order (``"250 OK"``, ``"451 4.3.0 Try later"``, ``"554 5.7.1
        No"``); the last one is repeated.
    login
        ``(username, password)``: the server offers AUTH and requires it.
    tls
        ``"none"``, ``"starttls"`` (offered and required before AUTH/MAIL) or ``"tls"``
        (implicit TLS from the first byte).
    cert
        ``(cert.pem, key.pem)`` from :func:`self_signed_certificate`; needed with TLS.
    """

    def __init__(
        self,
        script: str | Sequence[str] = "250 OK",
        *,
        login: tuple[str, str] | None = None,
        tls: str = "none",
        cert: tuple[Path, Path] | None = None,
    ) -> None:
        self._script = [script] if isinstance(script, str) else list(script)
        self.login = login
        self.tls = tls
        self.cert = cert
        self.messages: list[ReceivedMail] = []
        self.failed_logins: list[str] = []
        self._lock = threading.Lock()
        self._controller: Any = None
        self.port = 0
        if tls != "none" and cert is None:
            raise ValueError("an SMTP receiver with TLS needs cert=(cert.pem, key.pem)")

    def _record(self, session: Any, envelope: Any) -> str:
        with self._lock:
            reply = self._script[0] if len(self._script) == 1 else self._script.pop(0)
            login = session.auth_data if session.authenticated else None
            self.messages.append(
                ReceivedMail(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=bytes(envelope.original_content or envelope.content or b""),
                    reply=reply,
                    login=None if login is None else str(login),
                )
            )
            return reply

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if self.login is None or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        if (user, password) == self.login:
            return AuthResult(success=True, auth_data=user)
        with self._lock:
            self.failed_logins.append(user)
        return AuthResult(success=False, handled=False)

    def _server_context(self) -> ssl.SSLContext:
        assert self.cert is not None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert[0]), str(self.cert[1]))
        return context

    def start(self) -> SmtpReceiver:
        pytest.importorskip("aiosmtpd")
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP

        # Without STARTTLS, AUTH must be allowed outside STARTTLS: in the clear (a test server)
        # or inside implicit TLS (which aiosmtpd does not count as TLS). aiosmtpd warns when
        # built that way, and warnings are errors here: build it requiring TLS, then relax.
        relax = self.login is not None and self.tls != "starttls"

        class _Controller(Controller):  # type: ignore[misc]
            def factory(self) -> SMTP:
                server = super().factory()
                if relax:
                    server._auth_require_tls = False
                return server

        kwargs: dict[str, Any] = {}
        if self.login is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
        if self.tls == "starttls":
            kwargs.update(tls_context=self._server_context(), require_starttls=True)
        elif self.tls == "tls":
            kwargs.update(ssl_context=self._server_context())
        last: OSError | None = None
        for _ in range(5):  # a free port may be taken between the look-up and the bind
            port = free_port()
            controller = _Controller(
                _SmtpHandler(self), hostname=HOST, port=port, server_hostname="localhost", **kwargs
            )
            try:
                controller.start()
            except OSError as err:  # pragma: no cover - a race on the port
                last = err
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError(f"no free port for the SMTP receiver: {last}")

    def close(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_receiver() -> Iterator[Callable[..., SmtpReceiver]]:
    """A factory of started :class:`SmtpReceiver` objects, all stopped after the test."""
    made: list[SmtpReceiver] = []

    def make(script: str | Sequence[str] = "250 OK", **kwargs: Any) -> SmtpReceiver:
        receiver = SmtpReceiver(script, **kwargs).start()
        made.append(receiver)
        return receiver

    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [r.close() for r in made])
        yield make
