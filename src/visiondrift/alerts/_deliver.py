"""Delivery: send the outbox's due alerts, each channel in its own thread, with retries.

One round (:func:`deliver`, called by the alert sink after each run and by ``alerts flush``):

1. alerts tried ``retry.max_attempts`` times, or older than ``retry.max_age`` seconds, are
   given up (``expired``) and reported once;
2. every channel gets its own thread: it takes its due alerts one at a time from the outbox (a
   claim that lasts as long as the alert's attempts can), sends each, and records the outcome.
   A slow or failing channel never holds up another: each send is bounded by its channel's
   ``timeout``, and the others go on in their threads meanwhile;
3. a failure that may heal (timeout, refused connection, 5xx, 408, 429, an SMTP 4xx) is tried
   again within the round up to ``retry.attempts`` times, waiting ``backoff * 2**(n-1)`` seconds
   (at most ``max_backoff``) less a random share (``jitter``) between tries; what still failed
   stays pending, due again after the next wait, for the next run or ``alerts flush``;
4. a failure that will not heal (a 4xx such as 401 or 404, an SMTP 5xx, a missing secret or
   program) makes the alert ``rejected`` at once: logged once at WARNING with the channel, the
   receiver's status and what to fix, never retried.

Alerts whose channel is not in the settings stay pending (another process, with the settings
that name it, may send them), and the summary says so.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

from visiondrift.alerts._model import (
    Alert,
    Channel,
    DeliveryError,
    PermanentDeliveryError,
)

if TYPE_CHECKING:
    from visiondrift.settings import RetrySettings
    from visiondrift.store._outbox import Outbox, OutboxAlert

__all__ = ["DeliverySummary", "backoff_delay", "deliver", "sender_id"]

logger = logging.getLogger("visiondrift.alerts")

#: Seconds added to an alert's claim beyond the longest its attempts can take.
LEASE_MARGIN: Final = 30.0


def _redact(text: str) -> str:
    from visiondrift.alerts._secrets import redact

    return redact(text)


def sender_id() -> str:
    """A name for this sender in the outbox's claims: host, process and a random part."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff_delay(attempt: int, retry: RetrySettings, draw: Callable[[], float]) -> float:
    """Seconds to wait after the ``attempt``-th failed attempt (1 for the first).

    ``backoff * 2**(attempt-1)``, at most ``max_backoff``, of which a random share of at most
    ``jitter`` is taken off (``draw()`` is in [0, 1)), so that senders do not retry in step.

    Examples
    --------
    >>> from visiondrift.settings import RetrySettings
    >>> retry = RetrySettings(backoff=1.0, max_backoff=5.0, jitter=0.5)
    >>> [backoff_delay(n, retry, lambda: 0.0) for n in (1, 2, 3, 4)]
    [1.0, 2.0, 4.0, 5.0]
    >>> backoff_delay(2, retry, lambda: 1.0)
    1.0
    """
    base = min(retry.backoff * 2.0 ** max(0, attempt - 1), retry.max_backoff)
    return base * (1.0 - retry.jitter * draw())


@dataclass(frozen=True)
class DeliverySummary:
    """What one round of delivery did.

    Attributes
    ----------
    sent
        Alerts delivered in this round.
    retrying
        Alerts of this round that failed and wait in the outbox for a later round.
    rejected
        Alerts refused for good (a 4xx, a missing secret...) in this round.
    expired
        Alerts given up in this round (too many attempts, too old).
    suppressed
        Alerts the cooldown held back (made by the sink for this run; never sent).
    pending
        Alerts still pending in the whole outbox after the round.
    problems
        One sentence per alert that failed, was rejected or expired, or waits for a channel
        that is not in the settings (secrets removed).
    """

    sent: int = 0
    retrying: int = 0
    rejected: int = 0
    expired: int = 0
    suppressed: int = 0
    pending: int = 0
    problems: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        """One line: ``2 sent, 1 suppressed (cooldown), 1 pending (retried later)``."""
        parts = [f"{self.sent} sent"]
        if self.suppressed:
            parts.append(f"{self.suppressed} suppressed (cooldown)")
        if self.rejected:
            parts.append(f"{self.rejected} rejected")
        if self.expired:
            parts.append(f"{self.expired} expired")
        if self.pending:
            parts.append(
                f"{self.pending} pending (sent by the next run or 'visiondrift alerts flush')"
            )
        return ", ".join(parts)


Outcome = tuple[Literal["sent", "retrying", "rejected"], str | None]


def _lease(channel: Channel, retry: RetrySettings) -> float:
    """The longest one alert's attempts on ``channel`` can take in one round, and a margin."""
    waits = sum(min(retry.backoff * 2.0**n, retry.max_backoff) for n in range(retry.attempts - 1))
    return retry.attempts * float(channel.timeout) + waits + LEASE_MARGIN


def _what(item: OutboxAlert) -> str:
    of = f" of dataset {item.dataset!r}" if item.dataset else ""
    return f"The {item.event} alert {item.alert_id[:12]}{of} to channel {item.channel!r}"


def _error_text(err: BaseException) -> str:
    if isinstance(err, DeliveryError):
        text = str(err).strip()
        if err.status is not None and str(err.status) not in text:
            text = f"{text.rstrip('.')} (status {err.status})."
    else:  # a channel that broke its contract: still only a failed delivery
        text = f"{type(err).__name__}: {err}"
    return _redact(text)[:500]


@dataclass
class _Round:
    outbox: Outbox
    retry: RetrySettings
    owner: str
    due_only: bool
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    draw: Callable[[], float]

    def channel_thread(self, channel: Channel) -> list[Outcome]:
        """Send the channel's due alerts one at a time until none is left for this round."""
        outcomes: list[Outcome] = []
        done: set[str] = set()
        while True:
            taken = self.outbox.claim_due(
                self.owner,
                lease=_lease(channel, self.retry),
                now=self.clock(),
                due_only=self.due_only,
                limit=1,
                channel=channel.name,
                exclude=done,
            )
            if not taken:
                return outcomes
            item = taken[0]
            done.add(item.alert_id)
            outcomes.append(self.send_one(channel, item))

    def send_one(self, channel: Channel, item: OutboxAlert) -> Outcome:
        try:
            alert = Alert.from_json(item.payload)
        except (TypeError, ValueError) as err:  # written by another version, or damaged
            problem = (
                f"{_what(item)} was rejected: its stored message cannot be read ({err}); it "
                "will not be retried."
            )
            self.outbox.mark_rejected(
                item.alert_id, self.owner, attempts=item.attempts, error=problem
            )
            logger.warning("%s", problem)
            return "rejected", problem
        attempts = item.attempts
        error: BaseException | None = None
        for n in range(self.retry.attempts):
            if n and attempts >= self.retry.max_attempts:
                break
            attempts += 1
            try:
                delivery = channel.send(alert)
            except PermanentDeliveryError as err:
                text = _error_text(err)
                self.outbox.mark_rejected(
                    item.alert_id,
                    self.owner,
                    attempts=attempts,
                    error=text,
                    response=_redact(err.answer) if err.answer else None,
                )
                problem = (
                    f"{_what(item)} ({channel.kind}) was rejected and will not be retried: "
                    f"{text.rstrip('.')}. Fix the channel in [alerts.channels.{channel.name}] "
                    f"(its URL, key, credentials or program) and check it with 'visiondrift "
                    f"alerts test {channel.name}'."
                )
                logger.warning("%s", problem)
                return "rejected", problem
            except Exception as err:  # transient, or a channel that broke its contract
                error = err
                if n + 1 < self.retry.attempts and attempts < self.retry.max_attempts:
                    self.sleep(backoff_delay(attempts, self.retry, self.draw))
                continue
            self.outbox.mark_sent(
                item.alert_id,
                self.owner,
                attempts=attempts,
                response=_redact(f"{delivery.status} {delivery.answer}".strip()),
                now=self.clock(),
            )
            logger.info("%s (%s) was delivered: %s", _what(item), channel.kind, delivery.status)
            return "sent", None
        assert error is not None
        text = _error_text(error)
        wait = backoff_delay(attempts, self.retry, self.draw)
        due = self.clock() + timedelta(seconds=wait)
        answer = getattr(error, "answer", "") or None
        self.outbox.mark_failed(
            item.alert_id,
            self.owner,
            attempts=attempts,
            error=text,
            next_attempt_at=due,
            response=_redact(answer) if answer else None,
        )
        if attempts >= self.retry.max_attempts:
            return "retrying", None  # given up at the end of the round, and reported then
        problem = (
            f"{_what(item)} ({channel.kind}) was not delivered ({attempts} of at most "
            f"{self.retry.max_attempts} attempts); it stays in the outbox and is tried again "
            f"from {due.isoformat(timespec='seconds')}: {text.rstrip('.')}."
        )
        logger.warning("%s", problem)
        return "retrying", problem


def _expired(outbox: Outbox, retry: RetrySettings, now: datetime) -> list[str]:
    problems = []
    for item in outbox.expire(max_attempts=retry.max_attempts, max_age=retry.max_age, now=now):
        why = (
            f"after {item.attempts} attempts"
            if item.attempts >= retry.max_attempts
            else f"older than retry.max_age ({retry.max_age:g} s)"
        )
        problem = f"{_what(item)} was given up {why}; its last error: {item.last_error or 'none'}."
        logger.warning("%s", problem)
        problems.append(problem)
    return problems


def deliver(
    outbox: Outbox,
    channels: Mapping[str, Channel],
    retry: RetrySettings,
    *,
    due_only: bool = True,
    owner: str | None = None,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    draw: Callable[[], float] = random.random,
    suppressed: int = 0,
) -> DeliverySummary:
    """Send the outbox's due alerts (``due_only=False``: every pending one) through
    ``channels`` (by name), one thread per channel; see the module for the rules.

    Raises only :class:`~visiondrift.errors.StoreError` (the outbox could not be read or
    written); a channel's failure is recorded in the outbox and the summary.
    """
    owner = owner or sender_id()
    clock = clock or (lambda: datetime.now(UTC))
    work = _Round(outbox, retry, owner, due_only, clock, sleep, draw)
    problems = _expired(outbox, retry, clock())
    expired = len(problems)
    outcomes: list[Outcome] = []
    if channels:
        with ThreadPoolExecutor(
            max_workers=len(channels), thread_name_prefix="visiondrift-alerts"
        ) as pool:
            futures = [pool.submit(work.channel_thread, c) for c in channels.values()]
            failure: BaseException | None = None
            for future in futures:  # every thread finishes before a store failure is raised
                try:
                    outcomes.extend(future.result())
                except BaseException as err:
                    failure = failure or err
            if failure is not None:
                raise failure
    late = _expired(outbox, retry, clock())
    problems += late
    problems += [p for _, p in outcomes if p is not None]
    waiting = outbox.pending_by_channel()
    for name, n in sorted(waiting.items()):
        if name in channels:
            continue
        problems.append(
            f"{n} alert(s) to channel {name!r} stay pending: no channel of that name is in the "
            "settings ([alerts.channels]); flush them with the settings that define it."
        )
    pending = sum(waiting.values())
    return DeliverySummary(
        sent=sum(1 for o, _ in outcomes if o == "sent"),
        retrying=sum(1 for o, _ in outcomes if o == "retrying"),
        rejected=sum(1 for o, _ in outcomes if o == "rejected"),
        expired=expired + len(late),
        suppressed=suppressed,
        pending=pending,
        problems=tuple(problems),
    )
