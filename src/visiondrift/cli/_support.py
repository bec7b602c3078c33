"""Shared pieces of the command line: progress, option groups, model options, outputs."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from visiondrift.cli._settings import setting_option
from visiondrift.errors import VisionDriftError

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
#: The shell's code for a run ended by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


class InputError(click.ClickException):
    """A domain error shown to the user; exits with code 2."""

    exit_code = EXIT_USAGE


def _fail(err: VisionDriftError) -> NoReturn:
    raise InputError(str(err)) from err


class _Progress:
    """A rich progress bar on a terminal, plain lines when piped, nothing with --quiet."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label = label
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.start = time.perf_counter()
        self._bar: Any = None
        self._task: Any = None
        self._last_line = 0.0

    def __enter__(self) -> _Progress:
        if not self.quiet and self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=None, rate="")
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.start
        rate = f"{done / elapsed:,.0f} images/s" if elapsed > 0 else ""
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total, rate=rate)
        elif done == total or elapsed - self._last_line >= 2.0:
            self._last_line = elapsed
            click.echo(f"{self.label}: {done}/{total} files ({rate})", err=True)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _profile_options(func: Any) -> Any:
    options = [
        setting_option("--workers", type=click.IntRange(min=1), setting="profile.workers"),
        setting_option("--max-images", type=click.IntRange(min=1), setting="profile.max_images"),
        setting_option("--seed", type=int, setting="profile.seed"),
        setting_option(
            "--labels", type=click.Choice(["auto", "imagefolder", "none"]), setting="profile.labels"
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress output."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _decision_options(func: Any) -> Any:
    options = [
        setting_option(
            "--alpha",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            setting="drift.alpha",
        ),
        setting_option(
            "--correction",
            type=click.Choice(["holm", "bh", "bonferroni"]),
            setting="drift.correction",
        ),
        setting_option(
            "--fail-on",
            type=click.Choice(["low", "medium", "high", "never"]),
            setting="drift.fail_on",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _model_path_option(help_text: str = "") -> Callable[[Any], Any]:
    return setting_option(
        "--model",
        "model_path",
        type=click.Path(dir_okay=False),
        setting="model.path",
        help=help_text,
    )


def _model_options(func: Any) -> Any:
    options = [
        _model_path_option(),
        setting_option("--model-config", type=click.Path(dir_okay=False), setting="model.config"),
        setting_option("--model-size", metavar="HxW", setting="model.size"),
        setting_option("--model-output", metavar="NAME", setting="model.output"),
        setting_option(
            "--labels-file", type=click.Path(dir_okay=False), setting="model.labels_file"
        ),
        setting_option("--embedding", metavar="NAME", setting="model.embedding"),
        setting_option(
            "--scaling",
            type=click.Choice(["auto", "raw", "0-1", "-1-1", "imagenet"]),
            setting="model.scaling",
        ),
        setting_option(
            "--low-confidence", type=click.FloatRange(0, 1), setting="model.low_confidence"
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().replace(" ", "").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or min(values) < 1:
        raise click.BadParameter(
            f"expected HEIGHTxWIDTH such as 224x224, got {text!r}.", param_hint="--model-size"
        )
    return values[0], values[1]


def _model_spec(options: dict[str, Any]) -> Any:
    """A ModelSpec from the model options (popped from ``options``), or ``None``."""
    from dataclasses import replace

    from visiondrift.models import ModelSpec

    path = options.pop("model_path", None)
    config_file = options.pop("model_config", None)
    size = options.pop("model_size", None)
    output = options.pop("model_output", None)
    labels_file = options.pop("labels_file", None)
    embedding = options.pop("embedding", None)
    scaling = options.pop("scaling", None)
    if path is None and config_file is None:
        given = [
            name
            for name, value in (
                ("--model-size", size),
                ("--model-output", output),
                ("--labels-file", labels_file),
                ("--embedding", embedding),
                ("--scaling", scaling),
            )
            if value is not None
        ]
        if given:
            raise click.UsageError(f"{', '.join(given)} need(s) --model or --model-config.")
        return None
    spec = ModelSpec.from_config(config_file) if config_file else ModelSpec(Path(path))
    changes: dict[str, Any] = {}
    if path is not None:
        changes["path"] = Path(path)
    if output is not None:
        changes["output"] = output
    if labels_file is not None:
        changes["labels_file"] = Path(labels_file)
        changes["labels"] = None
    if embedding is not None:
        changes["embedding"] = embedding
    pre: dict[str, Any] = {}
    if size is not None:
        pre["size"] = _parse_size(size)
    if scaling is not None:
        pre["scaling"] = scaling
    if pre:
        changes["preprocessing"] = replace(spec.preprocessing, **pre)
    return replace(spec, **changes) if changes else spec


def _check_model_given(spec: Any, low_confidence: float) -> None:
    from visiondrift._defaults import DEFAULTS

    if spec is None and low_confidence != DEFAULTS.model.low_confidence:
        raise click.UsageError("--low-confidence needs --model or --model-config.")


def _report_options(func: Any) -> Any:
    options = [
        click.option(
            "--html",
            "html",
            is_flag=False,
            flag_value="",
            default=None,
            metavar="[PATH]",
            help="Also write the self-contained HTML dashboard (default: the JSON report's "
            "name with .html).",
        ),
        click.option(
            "--summary-md",
            type=click.Path(dir_okay=False),
            default=None,
            help="Also write a short Markdown summary (for a CI job summary or a chat message).",
        ),
        click.option(
            "--no-thumbnails",
            is_flag=True,
            help="Do not embed thumbnails of the current images in the HTML (privacy).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _outputs(
    out: Path,
    *,
    html: str | None,
    summary_md: str | None,
    profile: str | None,
    no_thumbnails: bool,
    image_root: str | None,
    names_key: Any = None,
) -> Any:
    """The files of a run: the JSON report ``out``; ``--html ''`` puts the page beside it."""
    from visiondrift.app import Outputs

    return Outputs(
        report=out,
        html=None if html is None else (Path(html) if html else out.with_suffix(".html")),
        markdown=Path(summary_md) if summary_md else None,
        profile=Path(profile) if profile else None,
        thumbnails=not no_thumbnails,
        image_root=Path(image_root) if image_root else None,
        names_key=names_key,
    )


def _sinks() -> list[Any]:
    """The sinks the settings turn on (registered factories; none are built in yet)."""
    from visiondrift.app import build_sinks

    return build_sinks()


def _activation(value: str | None) -> Any:
    return None if value is None else ("softmax" if value == "softmax" else "none")


def _finish(
    result: Any,
    out: Path,
    *,
    quiet: bool,
    fail_on: str,
    saved_profile: str | None = None,
    history: str | None = None,
    notes: Sequence[str] = (),
) -> NoReturn:
    """Print what a run found and wrote, its failed sinks, and exit with the verdict's code.

    ``notes``: lines a sink wants shown (``Warning: ...`` ones on stderr), such as the alerts'.
    """
    _print_source_notes(result.profile)
    skip = {out, *([Path(saved_profile)] if saved_profile else [])}
    _print_report(result.report, out, quiet, [p for p in result.files if p not in skip])
    failed = {f.sink for f in result.failures}
    if history is not None and "history" not in failed and not quiet:
        dataset = f" of dataset {result.dataset!r}" if result.dataset else ""
        click.echo(
            f"Recorded run {result.run_id[:12]}{dataset} in the history store {history} "
            f"('visiondrift history show {result.run_id[:12]}')."
        )
    for note in notes:
        warning = note.startswith("Warning:")
        if warning or not quiet:
            click.echo(note, err=warning)
    for failure in result.failures:
        what = "run was not recorded" if failure.sink == "history" else "sink failed"
        click.echo(f"Warning: the {failure.sink} {what}: {failure.error}", err=True)
        if failure.sink == "history":
            click.echo(f"  Re-send it later with 'visiondrift history import {out}'.", err=True)
    sys.exit(_exit_code(result.report, fail_on))


def _history_options(func: Any) -> Any:
    """``--dataset``, ``--window``, ``--store`` and ``--no-store`` of a recorded run."""
    from visiondrift.cli._settings import setting_option

    options = [
        click.option(
            "--dataset",
            default=None,
            metavar="NAME",
            help="The dataset the batch belongs to: runs are recorded, trended and merged per "
            "dataset [default: the baseline's dataset, if it has one].",
        ),
        click.option(
            "--window",
            default=None,
            metavar="START/END",
            help="The time the batch's images cover: two ISO 8601 times with a time zone, "
            "joined by '/' (2026-11-29T00:00Z/2026-11-30T00:00Z).",
        ),
        setting_option(
            "--store",
            "store_url",
            setting="store.url",
            show_default=False,
            metavar="PATH|URL",
        ),
        click.option(
            "--no-store",
            is_flag=True,
            help="Do not record this run in the history store.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _window(text: str | None) -> tuple[datetime, datetime] | None:
    """``--window START/END`` as two timezone-aware times."""
    if text is None:
        return None
    start, sep, end = text.partition("/")
    try:
        if not sep:
            raise ValueError("no '/' between the start and the end")
        window = (_iso_time(start), _iso_time(end))
    except ValueError as err:
        raise InputError(
            f"--window takes START/END, two ISO 8601 times with a time zone "
            f"(2026-11-29T00:00Z/2026-11-30T00:00Z). Got {text!r}: {err}."
        ) from err
    if window[0] > window[1]:
        raise InputError(f"--window starts after it ends: {text!r}. Give START/END.")
    return window


def _iso_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text.strip()!r} has no time zone (add Z or +01:00)")
    return value


def _timestamp() -> str:
    return datetime.now().strftime("%Y%m%d_%H%M%S")


def _command_line(*profiles: Any) -> str:
    """The command line, with its values redacted when a profile may not record names."""
    if any(p.config.names != "keep" for p in profiles):
        from visiondrift.names import redact_command

        return redact_command(sys.argv[1:])
    return "visiondrift " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _predictions_options(func: Any) -> Any:
    options = [
        click.option(
            "--predictions",
            "predictions",
            type=click.Path(dir_okay=False),
            default=None,
            help="Read per-image probabilities made elsewhere from this CSV, JSON Lines or "
            "Parquet file instead of images (columns 'probs' or 'prob_<class>', optional "
            "'label' and 'image_id'). A .jsonl/.parquet file, or a .csv file with such columns, "
            "given as DATA_DIR is read as predictions too.",
        ),
        click.option(
            "--class-names",
            default=None,
            metavar="NAMES|FILE",
            help="Class names of a predictions file, comma-separated or a file (one per line "
            "or a JSON list); default: from 'prob_<class>' columns, or the baseline's.",
        ),
        click.option(
            "--activation",
            type=click.Choice(["none", "softmax"]),
            default=None,
            help="Predictions file values: probabilities ('none', the default) or logits "
            "('softmax').",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _data_source(data_dir: str | None, predictions: str | None) -> tuple[str, bool]:
    """The path to read and whether it is a predictions file (DATA_DIR or --predictions)."""
    from visiondrift.profiles.predictions import is_predictions_file

    if predictions is not None and data_dir is not None:
        raise click.UsageError("Give either DATA_DIR or --predictions FILE, not both.")
    if predictions is not None:
        return predictions, True
    if data_dir is None:
        raise click.UsageError("Missing DATA_DIR (a folder of images) or --predictions FILE.")
    return data_dir, is_predictions_file(data_dir)


def _check_predictions_usage(is_predictions: bool, options: dict[str, Any]) -> None:
    """Options that make no sense with a predictions file, named as on the command line."""
    if not is_predictions:
        return
    if options.get("max_images") is not None:
        raise click.UsageError("--max-images applies to images, not to a predictions file.")
    if options.get("model") is not None or options.get("model_path") is not None:
        raise click.UsageError(
            "--model runs a model on images; a predictions file already holds its outputs."
        )


def _class_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    p = Path(text)
    if p.is_file():
        from visiondrift.models.outputs import read_labels_file

        return list(read_labels_file(p))
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise click.BadParameter(
            "expected comma-separated class names.", param_hint="--class-names"
        )
    return names


def _print_report(report: Any, path: Path, quiet: bool, extras: Sequence[Path] = ()) -> None:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    colours = {"none": "green", "low": "yellow", "medium": "dark_orange", "high": "red"}
    if report.overall_drift_detected:
        verdict = f"DRIFT DETECTED (severity: {report.severity})"
    elif report.status == "insufficient_evidence":
        verdict = "NO SIGNIFICANT DRIFT, but not enough evidence on some metrics"
    else:
        verdict = "NO DRIFT"
    console.print(
        f"[bold {colours[report.severity]}]{verdict}[/]  "
        f"{report.n_drifted} of {report.n_tests} metrics drifted; "
        f"{report.current.n_images} current images vs {report.baseline.n_images} "
        "baseline images"
    )
    slow = report.slow_drift
    if slow is not None and slow.drift_detected:
        console.print(f"[bold yellow]SLOW DRIFT across runs[/]: {slow.explanation}")
    if not quiet:
        for line in report.explanations[:10]:
            console.print(f"  - {line}")
        accuracy = [m for m in report.metrics if m.name == "accuracy"]
        if accuracy:
            acc = accuracy[0]
            moved = (
                "moved significantly"
                if acc.p_adjusted <= report.alpha
                else "did not move significantly"
            )
            console.print(
                f"  Accuracy on labelled images: {acc.baseline:.1%} → {acc.current:.1%} ({moved})."
            )
        if report.current.n_bad:
            console.print(
                f"  {report.current.n_bad} of {report.current.n_files} current files "
                f"were unusable: {report.current.bad_counts}"
            )
    console.print(f"Report: {path}")
    for extra in extras:
        console.print(f"Report: {extra}")


def _check_outputs(source: Path, outputs: Sequence[Path], force: bool) -> None:
    """Refuse to write over the input, or over an existing file without ``force``."""
    for path in outputs:
        if path.exists() and source.exists() and path.resolve() == source.resolve():
            raise click.UsageError(f"The output '{path}' is the input report itself; choose -o.")
        if path.exists() and not force:
            raise click.UsageError(
                f"'{path}' already exists; choose another path with -o / --summary-md, or pass "
                "--force to overwrite it."
            )
    if len({p.resolve() for p in outputs}) < len(outputs):
        raise click.UsageError("The HTML page and the Markdown summary must be different files.")


#: Most label names quoted when saying that labels were read from sub-folder names.
LABELS_SHOWN = 6


def _print_source_notes(result: Any) -> None:
    """Say what the listing decided: labels read from folder names, folders skipped."""
    for info in result.sources:
        for note in getattr(info, "notes", ()):
            click.echo(f"Note: {note}.", err=True)
    if result.labels.counts and any(s.kind == "imagefolder" for s in result.sources):
        names = sorted(result.labels.counts)
        shown = ", ".join(names[:LABELS_SHOWN]) + (", ..." if len(names) > LABELS_SHOWN else "")
        click.echo(
            f"Labels from {len(names)} sub-folder names: {shown}; use --labels none if these "
            "are not classes."
        )


def _exit_code(report: Any, fail_on: str) -> int:
    """1 for drift at ``fail_on`` or above; slow drift over the history counts as ``low``."""
    if fail_on == "never":
        return EXIT_OK
    slow = report.slow_drift is not None and report.slow_drift.drift_detected
    return EXIT_DRIFT if report.reaches(fail_on) or (slow and fail_on == "low") else EXIT_OK
