"""The edge of the command line: every way a run can end becomes an exit code.

0 no drift, 1 drift (only from a command's verdict), 2 bad usage or input, 3 an unexpected
internal error (one line; the traceback with --debug), 130 interrupted (Ctrl-C). A crash never
leaves with 1, the code of drift.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from visiondrift.cli._support import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
)
from visiondrift.errors import VisionDriftError

__all__ = ["run_cli", "set_flags"]


#: Set by the group's --debug and --verbose options, read at the edge (:func:`run_cli`).
_flags = {"debug": False, "verbose": False}


def set_flags(debug: bool, verbose: bool) -> None:
    """--debug: tracebacks of internal errors; --verbose: third-party log lines and warnings."""
    import logging
    import warnings

    from visiondrift._native_logs import set_native_logs

    _flags["debug"], _flags["verbose"] = debug, verbose
    set_native_logs(verbose)
    if not verbose:
        # Warnings and log records of the libraries we call (numpy, scipy, Pillow, runtimes)
        # are for developers; the user sees our own messages only.
        warnings.simplefilter("ignore")
        logging.getLogger().setLevel(logging.CRITICAL + 1)


def run_cli(group: click.Group, args: Sequence[str]) -> int:
    """Run the command line and turn every way it can end into an exit code.

    0 no drift, 1 drift (only from the command's verdict), 2 bad usage or input, 3 an
    unexpected internal error (one line; the traceback with --debug), 130 interrupted. A
    crash never leaves with 1, the code of drift.
    """
    import logging
    import warnings

    from visiondrift._native_logs import native_logs_shown, set_native_logs

    root_level, native = logging.getLogger().level, native_logs_shown()
    try:
        with warnings.catch_warnings():  # --verbose / its absence lasts for this run only
            return _run_cli(group, args)
    finally:
        logging.getLogger().setLevel(root_level)
        set_native_logs(native)
        _flags["debug"] = _flags["verbose"] = False


def _run_cli(group: click.Group, args: Sequence[str]) -> int:
    try:
        returned = group.main(args=list(args), prog_name="visiondrift", standalone_mode=False)
    except SystemExit as done:
        code = done.code
        if code is None:
            return EXIT_OK
        if isinstance(code, int):
            return code
        click.echo(str(code), err=True)
        return EXIT_USAGE
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except (KeyboardInterrupt, click.Abort):
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except VisionDriftError as err:
        click.echo(f"Error: {err}", err=True)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except Exception as err:
        _internal_error(err)
        return EXIT_INTERNAL
    return returned if isinstance(returned, int) else EXIT_OK


def _internal_error(err: BaseException) -> None:
    if _flags["debug"]:
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    text = str(err).splitlines()[0] if str(err) else ""
    detail = f"{type(err).__name__}: {text}" if text else type(err).__name__
    hint = "" if _flags["debug"] else " Run again with 'visiondrift --debug ...' for details;"
    click.echo(
        f"Internal error (a bug in visiondrift, not a finding about your data): {detail}.{hint}"
        " please report it at the project's issue tracker.",
        err=True,
    )
