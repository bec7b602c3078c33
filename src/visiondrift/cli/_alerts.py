"""``visiondrift alerts``: try a channel, list the alerts and the outbox, send what waits.

``test CHANNEL`` sends a clearly marked test message through one channel and prints what the
receiver answered (exit 0 delivered, 1 not delivered, 2 unknown channel or bad settings);
``list`` shows recent alerts and the outbox of the history store; ``flush`` sends what is due
(``--all``: every pending alert) and exits 1 when some stay pending; ``prune`` forgets
finished alerts older than a date.

May import: click, :mod:`visiondrift.cli._history_common`, :mod:`visiondrift.cli._settings`,
:mod:`visiondrift.cli._support`, and (when a command runs) the alerts and the store.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from visiondrift.cli._history_common import WHEN, WHEN_HELP, common_options, json_option, opened
from visiondrift.cli._settings import cli_settings
from visiondrift.cli._support import EXIT_USAGE

if TYPE_CHECKING:
    from visiondrift.settings import AlertsSettings
    from visiondrift.store._outbox import OutboxAlert

__all__ = ["alerts_group"]

#: Exit code of ``alerts test`` when the message was not delivered, and of ``alerts flush``
#: when alerts stay pending.
EXIT_NOT_DELIVERED = 1


@click.group(name="alerts")
def alerts_group() -> None:
    """Alert channels and the outbox: try a channel, list alerts, send what waits.

    Channels and routing rules are set in the settings file ([alerts.channels.NAME],
    [[alerts.routes]]; see docs/alerts.md). Every alert goes through the history store's
    outbox: 'monitor' queues and sends them, and what could not be sent waits there for the
    next run or 'visiondrift alerts flush'.
    """


def _alerts_settings() -> AlertsSettings:
    settings: AlertsSettings = cli_settings().settings.alerts
    return settings


@alerts_group.command(name="test")
@click.argument("channel")
@common_options
def alerts_test(channel: str, store_url: str | None) -> None:
    """Send a clearly marked test message through CHANNEL and print what its receiver
    answered.

    Exit codes: 0 delivered, 1 not delivered (the reason is printed), 2 unknown channel or bad
    settings. The test message goes straight to the channel, not through the outbox, and
    changes no cooldown.
    """
    from visiondrift.alerts._message import test_alert
    from visiondrift.alerts._model import DeliveryError
    from visiondrift.alerts._sink import build_channels

    del store_url  # the test message does not use the store
    settings = _alerts_settings()
    if channel not in settings.channels:
        defined = ", ".join(sorted(settings.channels)) or "none"
        click.echo(
            f"Error: no alert channel named {channel!r} in the settings; defined: {defined}. "
            "Define it under [alerts.channels.NAME] in the settings file (docs/alerts.md).",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    kind = settings.channels[channel].kind
    target = build_channels(settings, names={channel})[channel]
    alert = test_alert(channel, kind, settings)
    try:
        delivery = target.send(alert)
    except DeliveryError as err:
        from visiondrift.alerts._deliver import _error_text

        text = _error_text(err).rstrip(".")
        answer = f" The receiver answered: {err.answer}" if err.answer not in text else ""
        click.echo(
            f"Not delivered: the test message to {channel!r} ({kind}) failed: {text}.{answer}",
            err=True,
        )
        sys.exit(EXIT_NOT_DELIVERED)
    answer = f": {delivery.answer}" if delivery.answer else ""
    click.echo(
        f"Delivered a test message to {channel!r} ({kind}); the receiver answered "
        f"{delivery.status}{answer}"
    )


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _record(item: OutboxAlert) -> dict[str, Any]:
    return {
        "alert_id": item.alert_id,
        "created_at": item.created_at.isoformat(),
        "dataset": item.dataset,
        "channel": item.channel,
        "kind": item.kind,
        "event": item.event,
        "severity": item.severity,
        "status": item.status,
        "attempts": item.attempts,
        "next_attempt_at": _iso(item.next_attempt_at),
        "sent_at": _iso(item.sent_at),
        "last_error": item.last_error,
        "response": item.response,
        "run_id": item.run_id,
        "title": item.payload.get("title"),
    }


@alerts_group.command(name="list")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Show at most this many alerts (the newest).",
)
@click.option(
    "--status",
    type=click.Choice(["pending", "sent", "rejected", "expired", "suppressed"]),
    default=None,
    help="Only alerts with this status ('pending': the outbox).",
)
@click.option("--dataset", default=None, metavar="NAME", help="Only alerts of this dataset.")
@click.option("--channel", default=None, metavar="NAME", help="Only alerts to this channel.")
@json_option
@common_options
def alerts_list(
    limit: int,
    status: str | None,
    dataset: str | None,
    channel: str | None,
    as_json: bool,
    store_url: str | None,
) -> None:
    """List recent alerts and the outbox, newest first: when, dataset, channel, event,
    severity, status, attempts, and the last error or the receiver's answer."""
    with opened() as store:
        items = store.outbox.alerts(limit=limit, status=status, dataset=dataset, channel=channel)
        counts = store.outbox.counts()
        url = store.url
    if as_json:
        click.echo(json.dumps([_record(i) for i in items], indent=1))
        return
    if not items:
        click.echo(f"No alerts in the history store {url}.")
        return
    from rich.table import Table

    from visiondrift.cli._history_view import console

    table = Table(box=None, pad_edge=False)
    for column in ("when (UTC)", "dataset", "channel", "event", "severity", "status", "tries"):
        table.add_column(column)
    table.add_column("last error / answer", overflow="fold")
    for i in items:
        note = i.last_error if i.status in ("pending", "rejected", "expired") else i.response
        if i.status == "pending" and i.next_attempt_at is not None:
            due = i.next_attempt_at.strftime("%H:%M:%S")
            note = f"next try {due}" + (f"; {note}" if note else "")
        table.add_row(
            i.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            i.dataset or "-",
            i.channel,
            i.event,
            i.severity,
            i.status,
            str(i.attempts),
            note or "",
        )
    out = console()
    out.print(table)
    total = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    out.print(f"{len(items)} shown, newest first. In the outbox: {total}. Store: {url}")


@alerts_group.command(name="flush")
@click.option(
    "--all",
    "send_all",
    is_flag=True,
    help="Send every pending alert now, also those waiting for their next attempt's time.",
)
@common_options
def alerts_flush(send_all: bool, store_url: str | None) -> None:
    """Send the outbox's due alerts (with retries) and print what happened.

    Exit codes: 0 when nothing is left pending, 1 when some alerts stay pending (they are
    tried again later), 2 when the store cannot be read.
    """
    from visiondrift.alerts._sink import AlertSink

    settings = _alerts_settings()
    with opened() as store:
        summary = AlertSink(store, settings).flush(due_only=not send_all)
    for problem in summary.problems:
        click.echo(f"Warning: {problem}", err=True)
    click.echo(f"Alerts: {summary.describe()}.")
    if summary.pending:
        sys.exit(EXIT_NOT_DELIVERED)


@alerts_group.command(name="prune")
@click.option(
    "--older-than",
    type=WHEN,
    required=True,
    metavar="WHEN",
    help=f"Forget finished alerts made before this: {WHEN_HELP}.",
)
@common_options
def alerts_prune(older_than: datetime, store_url: str | None) -> None:
    """Forget old alerts (retention): those sent, rejected, expired or suppressed before
    --older-than. Pending alerts always stay, and so does what each channel was last told
    (the cooldown state). 'history prune' keeps alerts: they outlive the runs they tell of.
    """
    cutoff = older_than.strftime("%Y-%m-%d %H:%M UTC")
    with opened() as store:
        n = store.outbox.prune(older_than)
        url = store.url
    click.echo(f"Removed {n} alert{'s' if n != 1 else ''} made before {cutoff} from {url}.")


def alert_lines(sinks: Any, result: Any) -> list[str]:
    """What ``monitor`` prints about the alerts of its run, told by the alert sink among
    ``sinks`` (nothing when there is none; a failed alert sink is reported with the other
    failed sinks)."""
    from visiondrift.alerts import AlertSink

    sink = next((s for s in sinks if isinstance(s, AlertSink)), None)
    if sink is None or any(f.sink == sink.name for f in result.failures):
        return []
    summary = sink.last_summary
    if summary is None:
        return [
            "Warning: alerts are configured but none was sent: they go through the history "
            "store's outbox, and this run has no store (--no-store or store.enabled = false)."
        ]
    quiet = not (summary.sent or summary.suppressed or summary.pending or summary.problems)
    lines = [] if quiet else [f"Alerts: {summary.describe()}."]
    return lines + [f"Warning: {p}" for p in summary.problems]
