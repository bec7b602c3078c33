"""The ``visiondrift`` command: baseline, monitor, compare, report and history.

Exit codes: 0 when no drift reaches ``--fail-on``; 1 when drift at or above it was found; 2 for
bad usage or input (missing folder, no readable image, damaged profile...); 3 for an unexpected
internal error (never 1: a crash must not look like drift); 130 when interrupted. The original
``--mode baseline|monitor|compare --data-dir ...`` spelling is accepted and translated.

Owns the command line only: it parses options into the settings tree, builds the application
core's inputs (:class:`visiondrift.app.Monitor`, its sinks and outputs), prints what came back and
turns domain errors into exit codes. May import every package of visiondrift; none imports it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from visiondrift._version import __version__
from visiondrift.app import open_batch
from visiondrift.cli._alerts import alerts_group
from visiondrift.cli._config import config_group
from visiondrift.cli._edge import run_cli, set_flags
from visiondrift.cli._history import history_group
from visiondrift.cli._keys import keys_group
from visiondrift.cli._names import _names_key, _names_options, _names_settings
from visiondrift.cli._rolling import baseline_from_history, from_history_options
from visiondrift.cli._serve import serve
from visiondrift.cli._settings import (
    cli_settings,
    config_option,
    drift_config,
    profile_size_options,
)
from visiondrift.cli._startup import limit_blas_threads, skip_final_collection
from visiondrift.cli._support import (
    EXIT_USAGE,
    _activation,
    _check_model_given,
    _check_outputs,
    _check_predictions_usage,
    _class_names,
    _command_line,
    _data_source,
    _decision_options,
    _fail,
    _finish,
    _history_options,
    _model_options,
    _model_path_option,
    _model_spec,
    _outputs,
    _parse_size,
    _predictions_options,
    _print_source_notes,
    _profile_options,
    _Progress,
    _report_options,
    _sinks,
    _timestamp,
    _window,
)
from visiondrift.cli._watch import watch
from visiondrift.errors import VisionDriftError

__all__ = ["main", "run"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="visiondrift")
@click.option("--debug", is_flag=True, help="Print the traceback of an internal error.")
@click.option(
    "--verbose", is_flag=True, help="Let third-party libraries' log lines and warnings through."
)
@config_option
def cli(debug: bool, verbose: bool) -> None:
    """Calibrated drift detection for image classifiers.

    Profile a baseline once, then monitor production batches against it:

    \b
      visiondrift baseline data/val -o baseline.json
      visiondrift monitor data/prod --baseline baseline.json -o report.json

    Exit codes: 0 no drift at or above --fail-on, 1 drift, 2 bad usage or input, 3 internal
    error (a bug; --debug shows the traceback), 130 interrupted.
    """
    set_flags(debug, verbose)


@cli.command()
@click.argument("data_dir", type=click.Path(), required=False)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the baseline profile [default: ./baseline_metrics.json].",
)
@_predictions_options
@_profile_options
@profile_size_options
@_model_options
@_names_options
@from_history_options
@config_option
def baseline(
    data_dir: str | None,
    output: str | None,
    from_history: str | None,
    since: datetime | None,
    until: datetime | None,
    store_url: str | None,
    predictions: str | None,
    class_names: str | None,
    activation: str | None,
    reservoir_size: int,
    max_pixels: int,
    min_side: int,
    low_confidence: float,
    **options: Any,
) -> None:
    """Profile the images of DATA_DIR into a baseline file.

    DATA_DIR is a folder (read recursively), a text file listing image paths, or a URL that
    fsspec reads (memory://, file://; s3:// and https:// with the 'remote' extra).

    With --model, the classifier runs on every image in the same pass: the baseline keeps its
    predictions, confidence and (with ImageFolder labels) accuracy, and 'monitor' reuses the
    same model and settings.

    With --predictions FILE (or a .jsonl / .parquet file, or a .csv file with 'probs' or
    'prob_<class>' columns, as DATA_DIR), per-image probabilities computed elsewhere are read
    instead of images: the baseline has the model's outputs but no image properties.

    With --from-history DATASET, the batch profiles that 'monitor' stored for the dataset's
    runs of a period (--since, --until) are merged instead: a rolling baseline.
    """
    out = Path(output) if output else Path("baseline_metrics.json")
    if baseline_from_history(from_history, since=since, until=until, out=out):
        return
    source, is_predictions = _data_source(data_dir, predictions)
    try:
        spec = _model_spec(options)
        if not is_predictions:
            _check_model_given(spec, low_confidence)
        names = _names_settings(options)
        _check_predictions_usage(is_predictions, {**options, "model": spec})
        quiet = bool(options.pop("quiet"))
        with _Progress("profiling baseline", quiet) as progress:
            result = open_batch(
                source,
                predictions=is_predictions,
                class_names=_class_names(class_names),
                activation=_activation(activation),
                progress=progress,
                reservoir_size=reservoir_size,
                max_pixels=max_pixels,
                min_side=min_side,
                model=spec,
                low_confidence=low_confidence,
                **names,
                **options,
            )
        result.save(out)
    except VisionDriftError as err:
        _fail(err)
    what = (
        ("predictions read", "bad", "rows")
        if is_predictions
        else ("images profiled", "unusable", "files")
    )
    click.echo(
        f"Baseline: {result.n_images} {what[0]}, {result.n_bad} {what[1]} of "
        f"{result.n_files} {what[2]} -> {out}"
    )
    _print_source_notes(result)
    if result.model is not None:
        m = result.model
        click.echo(
            f"Model: {len(m.class_names)} classes, mean confidence {m.confidence.mean:.3f}, "
            f"{m.low_confidence_share:.1%} below {result.config.low_confidence:g}"
        )


@cli.command()
@click.argument("data_dir", type=click.Path(), required=False)
@click.option(
    "--baseline",
    "baseline_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Baseline profile written by 'visiondrift baseline'.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the JSON report [default: ./monitor_report_<time>.json].",
)
@click.option(
    "--save-profile",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also save the current batch's profile here.",
)
@_profile_options
@_decision_options
@_report_options
@_model_path_option(
    "Run this model file instead of the baseline's (same preprocessing and options). By "
    "default the model recorded in the baseline is used."
)
@_predictions_options
@_names_options
@_history_options
@click.option(
    "--no-alerts",
    is_flag=True,
    help="Tell no alert channel about this run (the [alerts] settings are ignored).",
)
@config_option
def monitor(
    data_dir: str | None,
    predictions: str | None,
    class_names: str | None,
    activation: str | None,
    baseline_path: str,
    output: str | None,
    save_profile: str | None,
    alpha: float,
    correction: str,
    fail_on: str,
    model_path: str | None,
    html: str | None,
    summary_md: str | None,
    no_thumbnails: bool,
    dataset: str | None,
    window: str | None,
    store_url: str | None,
    no_store: bool,
    no_alerts: bool,
    **options: Any,
) -> None:
    """Compare the images of DATA_DIR with a baseline profile and report drift.

    DATA_DIR is a folder, a list file or a URL, as for 'baseline'.

    A baseline made with --model runs the same model, with the same settings, on DATA_DIR.
    With --predictions FILE (or a predictions file as DATA_DIR) the batch's probabilities are
    read from the file; class names and activation default to the baseline's.

    Each run is recorded in the history store (see 'visiondrift history'), under --dataset.
    Then the alert channels that the routing rules name are told (see 'visiondrift alerts'
    and docs/alerts.md), unless --no-alerts.
    """
    from visiondrift.app import Monitor, history_from_settings, sinks_from_settings
    from visiondrift.cli._alerts import alert_lines
    from visiondrift.profiles import Profile

    out = Path(output) if output else Path(f"monitor_report_{_timestamp()}.json")
    quiet = bool(options.pop("quiet"))
    source, is_predictions = _data_source(data_dir, predictions)
    try:
        base = Profile.load(baseline_path)
        options.pop("seed")
        names = _names_settings(options, default=base.config.names)
        _check_predictions_usage(is_predictions, {**options, "model": model_path})
        settings = cli_settings().settings
        store = settings.store
        history = None if no_store else history_from_settings(store)
        monitor = Monitor(
            base,
            config=drift_config(),  # the [drift] settings; --alpha, --correction win
            alpha=alpha,
            correction=correction,
            model=model_path,
            # After the history (the Monitor puts it first): a run is recorded before it is told.
            sinks=sinks_from_settings(settings, history, alerts=not no_alerts),
            history=history,
            keep_profiles=store.keep_profiles,
            trend_runs=store.trend_runs,
        )
        with _Progress("profiling batch", quiet) as progress:
            result = monitor.run(
                source,
                predictions=is_predictions,
                class_names=_class_names(class_names),
                activation=_activation(activation),
                outputs=_outputs(
                    out,
                    html=html,
                    summary_md=summary_md,
                    profile=save_profile,
                    no_thumbnails=no_thumbnails,
                    image_root=None if is_predictions else source,
                    names_key=names["names_key"],
                ),
                command=_command_line(base),
                progress=progress,
                dataset=dataset,
                window=_window(window),
                **names,
                **options,
            )
    except VisionDriftError as err:
        _fail(err)
    _finish(
        result,
        out,
        quiet=quiet,
        fail_on=fail_on,
        saved_profile=save_profile,
        history=None if history is None else history.url,
        notes=alert_lines(monitor.sinks, result),
    )


@cli.command(name="compare")
@click.argument("reference", type=click.Path())
@click.argument("current", type=click.Path())
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the JSON report [default: ./compare_report_<time>.json].",
)
@_profile_options
@_decision_options
@_report_options
@profile_size_options
@_model_options
@_names_options
@config_option
def compare_cmd(
    reference: str,
    current: str,
    output: str | None,
    alpha: float,
    correction: str,
    fail_on: str,
    low_confidence: float,
    html: str | None,
    summary_md: str | None,
    no_thumbnails: bool,
    **options: Any,
) -> None:
    """Compare two datasets; REFERENCE and CURRENT are each a folder or a profile (.json).

    With --model, the model runs on the folders; a REFERENCE profile made with a model runs its
    model on a CURRENT folder (--model then replaces its model file).
    """
    from visiondrift.app import Monitor

    out = Path(output) if output else Path(f"compare_report_{_timestamp()}.json")
    quiet = bool(options.pop("quiet"))
    try:
        spec = _model_spec(options)
        _check_model_given(spec, low_confidence)
        given = {k: options.pop(k) for k in ("names", "names_key_env", "names_key_file")}
        given["names_root"] = options.pop("names_root")
        with _Progress("profiling reference", quiet) as progress:
            ref = open_batch(
                reference,
                model=spec,
                low_confidence=low_confidence,
                progress=progress,
                **_names_settings(dict(given)),
                **dict(options),
            )
        # A reference profile's names setting carries over, as the baseline's does in monitor.
        names = _names_settings(given, default=ref.config.names)
        options.pop("seed")
        from_file = Path(reference).suffix.lower() == ".json" and Path(reference).is_file()
        monitor = Monitor(
            ref,
            config=drift_config(),  # the [drift] settings; --alpha, --correction win
            alpha=alpha,
            correction=correction,
            model=spec if from_file else None,
            mode="compare",
            sinks=_sinks(),
        )
        with _Progress("profiling current", quiet) as progress:
            result = monitor.run(
                current,
                outputs=_outputs(
                    out,
                    html=html,
                    summary_md=summary_md,
                    profile=None,
                    no_thumbnails=no_thumbnails,
                    image_root=current,
                    names_key=names["names_key"],
                ),
                command=_command_line(ref),
                progress=progress,
                **names,
                **options,
            )
    except VisionDriftError as err:
        _fail(err)
    _print_source_notes(ref)
    _finish(result, out, quiet=quiet, fail_on=fail_on)


@cli.command(name="report")
@click.argument("report_json", type=click.Path(dir_okay=False))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the HTML page [default: the report's name with .html].",
)
@click.option(
    "--images",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of the current images, to embed thumbnails of the most atypical ones.",
)
@click.option(
    "--summary-md",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write a short Markdown summary.",
)
@click.option(
    "--names-key-env",
    default=None,
    metavar="VAR",
    help="Environment variable holding the key of a report made with --names hash, to find "
    "the thumbnails' files under --images.",
)
@click.option(
    "--names-key-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="File holding that key (instead of an environment variable).",
)
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def report_cmd(
    report_json: str,
    output: str | None,
    images: str | None,
    summary_md: str | None,
    names_key_env: str | None,
    names_key_file: str | None,
    force: bool,
) -> None:
    """Re-render a saved JSON report as a self-contained HTML page.

    Existing files are not overwritten unless --force is given. The thumbnails of a report made
    with --names hash need the same key; with --names drop the page has no thumbnails.
    """
    from visiondrift.drift import DriftReport

    out = Path(output) if output else Path(report_json).with_suffix(".html")
    _check_outputs(Path(report_json), [out, *([Path(summary_md)] if summary_md else [])], force)
    try:
        report = DriftReport.load(report_json)
        from visiondrift.app import Outputs, write_outputs

        written = write_outputs(
            report,
            Outputs(
                html=out,
                markdown=Path(summary_md) if summary_md else None,
                thumbnails=images is not None,
                image_root=Path(images) if images else None,
                names_key=(
                    _names_key(names_key_env, names_key_file, required=False) if images else None
                ),
            ),
        )
    except VisionDriftError as err:
        _fail(err)
    for path in written:
        click.echo(f"Wrote {path}")


@cli.command(name="inspect-model")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--model-size", default=None, metavar="HxW", help="Try this input size.")
@click.option("--model-output", default=None, metavar="NAME", help="Output of the class scores.")
@click.option(
    "--labels-file", type=click.Path(dir_okay=False), default=None, help="File of class names."
)
@click.option("--embedding", default=None, metavar="NAME", help="Tensor to keep as embedding.")
@click.option(
    "--scaling",
    type=click.Choice(["auto", "raw", "0-1", "-1-1", "imagenet"]),
    default=None,
    help="Pixel value scaling.",
)
def inspect_model(
    model: str,
    model_size: str | None,
    model_output: str | None,
    labels_file: str | None,
    embedding: str | None,
    scaling: str | None,
) -> None:
    """Print what MODEL expects (input shape, dtype, layout, outputs, class names) and how
    visiondrift will preprocess images for it."""
    from visiondrift.models import describe_model

    options: dict[str, Any] = {}
    if model_size is not None:
        options["size"] = _parse_size(model_size)
    if model_output is not None:
        options["output"] = model_output
    if labels_file is not None:
        options["labels_file"] = Path(labels_file)
    if embedding is not None:
        options["embedding"] = embedding
    if scaling is not None:
        options["scaling"] = scaling
    try:
        text = describe_model(model, **options)
    except VisionDriftError as err:
        _fail(err)
    click.echo(text, nl=False)


cli.add_command(config_group)
cli.add_command(history_group)
cli.add_command(alerts_group)
cli.add_command(watch)
cli.add_command(serve)
cli.add_command(keys_group)

_LEGACY_VALUE_OPTIONS = {"--data-dir", "--baseline", "--output", "--model", "--mode"}


def translate_legacy(argv: Sequence[str]) -> list[str]:
    """Turn the original ``--mode X --data-dir D ...`` spelling into a sub-command call."""
    args = list(argv)
    if "--mode" not in args and not any(a.startswith("--mode=") for a in args):
        return args
    values: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        key, eq, val = arg.partition("=")
        if key in _LEGACY_VALUE_OPTIONS:
            if eq:
                values[key] = val
            elif i + 1 < len(args):
                values[key] = args[i + 1]
                i += 1
            else:
                raise click.UsageError(f"Option {key} needs a value.")
        else:
            rest.append(arg)
        i += 1
    mode = values.get("--mode")
    data_dir = values.get("--data-dir")
    if mode not in ("baseline", "monitor", "compare"):
        raise click.UsageError(f"--mode must be one of baseline, monitor, compare. Got {mode!r}.")
    if data_dir is None:
        raise click.UsageError(f"--mode {mode} needs --data-dir DIR.")
    out = ["-o", values["--output"]] if "--output" in values else []
    if "--model" in values:
        rest = ["--model", values["--model"], *rest]
    if mode == "baseline":
        return ["baseline", data_dir, *out, *rest]
    if "--baseline" not in values:
        raise click.UsageError(f"--mode {mode} needs --baseline FILE.")
    if mode == "monitor":
        return ["monitor", data_dir, "--baseline", values["--baseline"], *out, *rest]
    return ["compare", values["--baseline"], data_dir, *out, *rest]


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line in this process and return its exit code (never raises)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        args = translate_legacy(args)
    except click.UsageError as err:
        err.show()
        return EXIT_USAGE
    return run_cli(cli, args)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``visiondrift`` console script."""
    limit_blas_threads()  # before numpy loads; see visiondrift.cli._startup
    skip_final_collection()
    sys.exit(run(argv))


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
