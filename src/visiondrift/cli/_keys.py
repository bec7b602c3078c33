"""``visiondrift keys``: the service's API keys (create, revoke, list), in the history store.

A key's token (``vd_<key id>_<secret>``) is printed once, by ``create``; the store keeps the
SHA-256 of its secret only. Exit codes: 0 done, 2 bad usage, an unknown key or an unreachable
store.
"""

from __future__ import annotations

import click

from visiondrift.cli._history_common import common_options, json_option, opened
from visiondrift.cli._support import InputError
from visiondrift.errors import VisionDriftError

__all__ = ["keys_group"]


@click.group(name="keys")
def keys_group() -> None:
    """The API keys of 'visiondrift serve' (kept in the history store, hashed).

    Scopes: read (look), write (post records and batches; includes read), admin (baselines,
    closing windows; includes write).
    """


@keys_group.command(name="create")
@click.argument("name")
@click.option(
    "--scope",
    type=click.Choice(["read", "write", "admin"]),
    required=True,
    help="What the key may do: read, write (includes read) or admin (includes write).",
)
@common_options
def keys_create(name: str, scope: str, store_url: str | None) -> None:
    """Create a key named NAME and print its token (shown this once: keep it)."""
    with opened() as store:
        try:
            key, token = store.keys.create(name, [scope])
        except VisionDriftError as err:
            raise InputError(str(err)) from err
    click.echo(f"Created the API key {key.name!r} (id {key.key_id}, scope {scope}).", err=True)
    click.echo(
        "Its token is shown once; keep it (send it as 'Authorization: Bearer ...'):", err=True
    )
    click.echo(token)


@keys_group.command(name="revoke")
@click.argument("key_id")
@common_options
def keys_revoke(key_id: str, store_url: str | None) -> None:
    """Revoke the key KEY_ID ('keys list' shows the ids); it stops working within seconds."""
    with opened() as store:
        done = store.keys.revoke(key_id.strip().lower())
    if not done:
        raise InputError(
            f"No valid API key has the id {key_id!r} (revoked already, or unknown); "
            "'visiondrift keys list' shows them."
        )
    click.echo(f"Revoked the API key {key_id}.")


@keys_group.command(name="list")
@json_option
@common_options
def keys_list(as_json: bool, store_url: str | None) -> None:
    """List the keys, newest first: id, name, scopes, created, revoked, last used (never a
    secret)."""
    import json

    with opened() as store:
        found = store.keys.list()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "key_id": k.key_id,
                        "name": k.name,
                        "scopes": list(k.scopes),
                        "active": k.active,
                        "created_at": k.created_at.isoformat(),
                        "revoked_at": None if k.revoked_at is None else k.revoked_at.isoformat(),
                        "last_used_at": (
                            None if k.last_used_at is None else k.last_used_at.isoformat()
                        ),
                    }
                    for k in found
                ],
                indent=1,
            )
        )
        return
    if not found:
        click.echo("No API keys. Create one: visiondrift keys create NAME --scope admin")
        return
    click.echo(f"{'ID':<13} {'NAME':<24} {'SCOPES':<12} {'CREATED':<17} {'LAST USED':<17} STATUS")
    for k in found:
        status = "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"
        used = "never" if k.last_used_at is None else f"{k.last_used_at:%Y-%m-%d %H:%M}"
        click.echo(
            f"{k.key_id:<13} {k.name[:24]:<24} {','.join(k.scopes):<12} "
            f"{k.created_at:%Y-%m-%d %H:%M} {used:<17} {status}"
        )
