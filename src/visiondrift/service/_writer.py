"""The record writer: a process of its own that writes posted records to the store.

Writing a request's records (cutting them into windows, the INSERT of every row, the COMMIT)
is Python and driver work of about a millisecond per hundred records. As a thread of the server
process it competed with the event loop for the interpreter lock: every socket send and receive
of the loop gave the lock up and waited to take it back, and requests queued behind the
writer's work. In a process of its own it runs beside the loop on another core.

**Protocol.** The server process and its writer share a socket pair. The server sends frames
``(request id, AppendRequest)``; the writer reads every frame that has arrived, writes them all
in ONE transaction (group commit: under load a commit carries many requests) and only then
answers each with ``(request id, True, AppendResult)`` or ``(request id, False, (kind,
message))``. A frame is a 4-byte little-endian length and a pickle (the socket pair is private
to the two processes).

**Failure.** The writer ignores Ctrl-C (the server stops it: it writes what it has, then sees
the end of its input and exits). A writer that dies fails the requests waiting for it (503:
nothing of theirs was acknowledged) and is started again. A server killed with SIGKILL leaves
its writer the end of its input: it commits what it read and exits; records it had not
acknowledged may then be stored, acknowledged ones always are.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import pickle
import signal
import socket
import struct
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from visiondrift.store import HistoryStore
    from visiondrift.store._windows import AppendRequest, AppendResult, Windows

__all__ = ["RecordWriter"]

logger = logging.getLogger("visiondrift.service")

_LENGTH = struct.Struct("<I")
#: Seconds a writer must have lived to be started again after it died (no restart loop).
RESTART_AFTER = 5.0


def _frame(item: Any) -> bytes:
    payload = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


def _frames(buffer: bytearray) -> list[Any]:
    """The complete frames at the start of ``buffer``, taken out of it."""
    out: list[Any] = []
    at = 0
    while len(buffer) - at >= _LENGTH.size:
        (size,) = _LENGTH.unpack_from(buffer, at)
        if len(buffer) - at - _LENGTH.size < size:
            break
        start = at + _LENGTH.size
        out.append(pickle.loads(buffer[start : start + size]))
        at = start + size
    del buffer[:at]
    return out


class WriterStopped(Exception):
    """The writer is not running (stopped, or died): nothing of the request was written."""


class RecordWriter:
    """The server process's side of its writer process (used on the event loop only).

    Parameters
    ----------
    store
        The store the writer opens (the same location; it is not migrated again).
    limit
        Requests that may wait for the writer; one more is refused (:meth:`append` raises
        ``queue.Full``; the caller answers 429).
    max_group
        The most requests the writer writes in one transaction.
    """

    def __init__(self, store: HistoryStore, *, limit: int, max_group: int) -> None:
        self.store = store
        self.limit = limit
        self.max_group = max_group
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[AppendResult]] = {}
        self._process: BaseProcess | None = None
        self._stream: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._started_at = 0.0
        self._stopping = False
        self.loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------ life
    async def start(self) -> None:
        """Start the writer process (and read its answers)."""
        import multiprocessing

        self.loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        process = multiprocessing.get_context("spawn").Process(
            target=_serve,
            args=(
                theirs,
                self.store.reopen_arguments(),
                self.max_group,
            ),
            name="visiondrift-writer",
            daemon=True,
        )
        try:
            process.start()
        finally:
            theirs.close()
        self._process = process
        self._started_at = time.monotonic()
        reader, self._stream = await asyncio.open_connection(sock=ours)
        self._reader_task = asyncio.create_task(self._answers(reader, process))

    async def stop(self, timeout: float = 30.0) -> None:
        """Let the writer write what it was sent, answer it, and exit."""
        self._stopping = True
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(OSError):
                if stream.can_write_eof():
                    stream.write_eof()
        if self._reader_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reader_task), timeout)
        if stream is not None:
            stream.close()
        process = self._process
        if process is not None:
            await asyncio.to_thread(process.join, timeout)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join, 5.0)
        self._fail_waiting()

    def alive(self) -> bool:
        """Whether the writer runs and takes requests."""
        return (
            not self._stopping
            and self._stream is not None
            and self._process is not None
            and self._process.is_alive()
        )

    def depth(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._waiting)

    @property
    def pid(self) -> int | None:
        """The writer process's id."""
        return None if self._process is None else self._process.pid

    # ------------------------------------------------------------ writing
    async def append(self, request: AppendRequest) -> AppendResult:
        """Write ``request`` and return once it is committed.

        Raises :class:`WriterStopped` when the writer is not running, ``Full`` (``queue.Full``)
        when :attr:`limit` requests wait already; a store failure as the store raised it.
        """
        import queue

        if not self.alive():
            raise WriterStopped
        if len(self._waiting) >= self.limit:
            raise queue.Full
        assert self.loop is not None
        assert self._stream is not None
        key = next(self._ids)
        future: asyncio.Future[AppendResult] = self.loop.create_future()
        self._waiting[key] = future
        try:
            self._stream.write(_frame((key, request)))
        except Exception:
            self._waiting.pop(key, None)
            raise
        return await future

    async def _answers(self, reader: asyncio.StreamReader, process: BaseProcess) -> None:
        buffer = bytearray()
        try:
            while True:
                chunk = await reader.read(1 << 20)
                if not chunk:
                    break
                buffer += chunk
                for key, ok, value in _frames(buffer):
                    future = self._waiting.pop(key, None)
                    if future is None or future.done():
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(_failure(*value))
        except (ConnectionError, OSError) as err:
            logger.warning("The record writer's connection failed: %s", err)
        self._fail_waiting()
        if self._stopping:
            return
        # The writer died (killed, out of memory...): start another, unless it died young.
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
        await asyncio.to_thread(process.join, 5.0)
        lived = time.monotonic() - self._started_at
        logger.error(
            "The record writer (pid %s) stopped with exit code %s after %.0f s.",
            process.pid,
            process.exitcode,
            lived,
        )
        if lived >= RESTART_AFTER:
            try:
                await self.start()
                logger.warning("A new record writer runs (pid %s).", self.pid)
            except Exception as err:  # the service stays unready: /readyz says so
                logger.error("The record writer could not be started again: %s", err)

    def _fail_waiting(self) -> None:
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(WriterStopped())


def _failure(kind: str, message: str) -> Exception:
    from visiondrift.errors import StoreError

    if kind == "store":
        return StoreError(message)
    return RuntimeError(message)


# ----------------------------------------------------------------------------- the writer


def _serve(sock: socket.socket, store_arguments: dict[str, Any], group: int) -> None:
    """The writer process: read frames, write each batch of them in one transaction, answer."""
    from visiondrift.service._gc import settle as settle_collector
    from visiondrift.store import HistoryStore

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    store = HistoryStore(**store_arguments)
    settle_collector()
    try:
        # One connection for the writer's life, not one from the pool per transaction.
        with store.held_writer():
            _write_frames(sock, store.windows, group)
    finally:
        store.close()
        sock.close()


def _write_frames(sock: socket.socket, windows: Windows, group: int) -> None:
    """Until the server's end of the socket closes: read every frame that has arrived, write
    them in transactions of at most ``group`` requests, answer each after its commit."""
    buffer = bytearray()
    ended = False
    while True:
        frames = _frames(buffer)
        if not frames:
            if ended:
                return
            chunk = sock.recv(1 << 20)
            if not chunk:
                ended = True
                continue
            buffer += chunk
            # Everything else that has arrived joins this transaction.
            with contextlib.suppress(BlockingIOError, InterruptedError):
                while chunk:
                    chunk = sock.recv(1 << 20, socket.MSG_DONTWAIT)
                    buffer += chunk
                ended = True  # an empty read without blocking: the server is gone
            continue
        for start in range(0, len(frames), group):
            answers = _write(windows, frames[start : start + group])
            try:
                sock.sendall(b"".join(_frame(a) for a in answers))
            except OSError:  # the server is gone; what was committed stays
                return


def _write(windows: Windows, part: list[Any]) -> list[Any]:
    """Write the requests of ``part`` (frames) in one transaction; the answer to each."""
    from visiondrift.errors import StoreError

    try:
        results = windows.append_many([request for _, request in part])
    except StoreError as err:
        return [(key, False, ("store", str(err))) for key, _ in part]
    except Exception as err:
        logger.exception("Writing records failed")
        message = f"writing the records failed ({type(err).__name__}); see the log"
        return [(key, False, ("error", message)) for key, _ in part]
    return [(key, True, r) for (key, _), r in zip(part, results, strict=True)]
