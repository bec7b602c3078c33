"""The ``visiondrift`` command: baseline, monitor and compare.

Exit codes: 0 when no drift reaches ``--fail-on``; 1 when drift at or above it was found; 2 for
bad usage or input (missing folder, no readable image, damaged profile...). The original
``--mode baseline|monitor|compare --data-dir ...`` spelling is accepted and translated.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from visiondrift._version import __version__
from visiondrift.errors import VisionDriftError

__all__ = ["main"]

EXIT_OK, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2
SEVERITY_ORDER = ("none", "low", "medium", "high")


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
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="Worker processes (default: the number of CPU cores).",
        ),
        click.option(
            "--max-images",
            type=click.IntRange(min=1),
            default=None,
            help="Profile at most N images, sampled reproducibly with --seed.",
        ),
        click.option(
            "--seed",
            type=int,
            default=0,
            show_default=True,
            help="Seed of the sampling, the reservoir and the resampling tests.",
        ),
        click.option(
            "--labels",
            type=click.Choice(["auto", "imagefolder", "none"]),
            default="auto",
            show_default=True,
            help="Read labels from sub-folder names (ImageFolder layout).",
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress output."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _decision_options(func: Any) -> Any:
    options = [
        click.option(
            "--alpha",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            default=0.05,
            show_default=True,
            help="Family-wise false-alarm rate of the whole comparison.",
        ),
        click.option(
            "--correction",
            type=click.Choice(["holm", "bh", "bonferroni"]),
            default="holm",
            show_default=True,
            help="Multiple-testing correction.",
        ),
        click.option(
            "--fail-on",
            type=click.Choice(["low", "medium", "high", "never"]),
            default="low",
            show_default=True,
            help="Exit with code 1 when drift of this severity or higher is found.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _model_path_option(help_text: str) -> Callable[[Any], Any]:
    return click.option(
        "--model",
        "model_path",
        type=click.Path(dir_okay=False),
        default=None,
        help=help_text,
    )


def _model_options(func: Any) -> Any:
    options = [
        _model_path_option(
            "ONNX or TFLite classifier to run on every image (predictions, confidence, class "
            "mix and output drift). See 'visiondrift inspect-model MODEL'."
        ),
        click.option(
            "--model-config",
            type=click.Path(dir_okay=False),
            default=None,
            help="JSON or TOML file of model options (path, preprocessing, output, labels_file, "
            "embedding); the options below override it.",
        ),
        click.option(
            "--model-size",
            default=None,
            metavar="HxW",
            help="Resize images to HEIGHTxWIDTH (e.g. 224x224) for the model; default: read "
            "from the model.",
        ),
        click.option(
            "--model-output",
            default=None,
            metavar="NAME",
            help="Name of the output holding class scores (models with several outputs).",
        ),
        click.option(
            "--labels-file",
            type=click.Path(dir_okay=False),
            default=None,
            help="File of class names in output order, one per line or a JSON list (not to be "
            "confused with --labels, which reads labels from folder names).",
        ),
        click.option(
            "--embedding",
            default=None,
            metavar="NAME",
            help="Tensor to keep as an embedding (projected to at most 64 dimensions).",
        ),
        click.option(
            "--scaling",
            type=click.Choice(["auto", "raw", "0-1", "-1-1", "imagenet"]),
            default=None,
            help="Pixel value scaling the model was trained with [default: auto].",
        ),
        click.option(
            "--low-confidence",
            type=click.FloatRange(0, 1),
            default=0.5,
            show_default=True,
            help="Top-1 probability below which a prediction counts as low-confidence.",
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
    if spec is None and low_confidence != 0.5:
        raise click.UsageError("--low-confidence needs --model or --model-config.")


def _timestamp() -> str:
    return datetime.now().strftime("%Y%m%d_%H%M%S")


def _command_line() -> str:
    return "visiondrift " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _load_or_profile(path: str, *, config: Any = None, label: str, **options: Any) -> Any:
    from visiondrift.profiler import profile
    from visiondrift.profiles import Profile

    p = Path(path)
    if p.is_file() and p.suffix.lower() == ".json":
        return Profile.load(p)
    quiet = options.pop("quiet")
    with _Progress(label, quiet) as progress:
        return profile(p, progress=progress, config=config, **options)


def _print_report(report: Any, path: Path, quiet: bool) -> None:
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


def _exit_code(report: Any, fail_on: str) -> int:
    if fail_on == "never" or not report.overall_drift_detected:
        return EXIT_OK
    hit = SEVERITY_ORDER.index(report.severity) >= SEVERITY_ORDER.index(fail_on)
    return EXIT_DRIFT if hit else EXIT_OK


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="visiondrift")
def cli() -> None:
    """Calibrated drift detection for image classifiers.

    Profile a baseline once, then monitor production batches against it:

    \b
      visiondrift baseline data/val -o baseline.json
      visiondrift monitor data/prod --baseline baseline.json -o report.json

    Exit codes: 0 no drift at or above --fail-on, 1 drift, 2 bad usage or input.
    """


@cli.command()
@click.argument("data_dir", type=click.Path())
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the baseline profile [default: ./baseline_metrics.json].",
)
@_profile_options
@click.option(
    "--reservoir-size",
    type=click.IntRange(min=10),
    default=10_000,
    show_default=True,
    help="Per-image records kept for the statistical tests.",
)
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=89_478_485,
    show_default=True,
    help="Reject images with more pixels (decompression-bomb guard).",
)
@click.option(
    "--min-side",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Reject images whose shorter side is smaller.",
)
@_model_options
def baseline(
    data_dir: str,
    output: str | None,
    reservoir_size: int,
    max_pixels: int,
    min_side: int,
    low_confidence: float,
    **options: Any,
) -> None:
    """Profile the images of DATA_DIR (a folder or a list file) into a baseline file.

    With --model, the classifier runs on every image in the same pass: the baseline keeps its
    predictions, confidence and (with ImageFolder labels) accuracy, and 'monitor' reuses the
    same model and settings.
    """
    out = Path(output) if output else Path("baseline_metrics.json")
    try:
        spec = _model_spec(options)
        _check_model_given(spec, low_confidence)
        result = _load_or_profile(
            data_dir,
            label="profiling baseline",
            reservoir_size=reservoir_size,
            max_pixels=max_pixels,
            min_side=min_side,
            model=spec,
            low_confidence=low_confidence,
            **options,
        )
        result.save(out)
    except VisionDriftError as err:
        _fail(err)
    click.echo(
        f"Baseline: {result.n_images} images profiled, {result.n_bad} unusable of "
        f"{result.n_files} files -> {out}"
    )
    if result.model is not None:
        m = result.model
        click.echo(
            f"Model: {len(m.class_names)} classes, mean confidence {m.confidence.mean:.3f}, "
            f"{m.low_confidence_share:.1%} below {result.config.low_confidence:g}"
        )


@cli.command()
@click.argument("data_dir", type=click.Path())
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
@_model_path_option(
    "Run this model file instead of the baseline's (same preprocessing and options). By "
    "default the model recorded in the baseline is used."
)
def monitor(
    data_dir: str,
    baseline_path: str,
    output: str | None,
    save_profile: str | None,
    alpha: float,
    correction: str,
    fail_on: str,
    model_path: str | None,
    **options: Any,
) -> None:
    """Compare the images of DATA_DIR with a baseline profile and report drift.

    A baseline made with --model runs the same model, with the same settings, on DATA_DIR.
    """
    from visiondrift.drift import compare
    from visiondrift.profiles import Profile

    out = Path(output) if output else Path(f"monitor_report_{_timestamp()}.json")
    quiet = bool(options["quiet"])
    try:
        base = Profile.load(baseline_path)
        options.pop("seed")
        current = _load_or_profile(
            data_dir, config=base.config, label="profiling batch", model=model_path, **options
        )
        if save_profile:
            current.save(save_profile)
        report = compare(
            base,
            current,
            alpha=alpha,
            correction=correction,
            mode="monitor",
            command=_command_line(),
        )
        report.save(out)
    except VisionDriftError as err:
        _fail(err)
    _print_report(report, out, quiet)
    sys.exit(_exit_code(report, fail_on))


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
@_model_options
def compare_cmd(
    reference: str,
    current: str,
    output: str | None,
    alpha: float,
    correction: str,
    fail_on: str,
    low_confidence: float,
    **options: Any,
) -> None:
    """Compare two datasets; REFERENCE and CURRENT are each a folder or a profile (.json).

    With --model, the model runs on the folders; a REFERENCE profile made with a model runs its
    model on a CURRENT folder (--model then replaces its model file).
    """
    from visiondrift.drift import compare

    out = Path(output) if output else Path(f"compare_report_{_timestamp()}.json")
    quiet = bool(options["quiet"])
    try:
        spec = _model_spec(options)
        _check_model_given(spec, low_confidence)
        ref = _load_or_profile(
            reference,
            label="profiling reference",
            model=spec,
            low_confidence=low_confidence,
            **dict(options),
        )
        options.pop("seed")
        from_file = Path(reference).suffix.lower() == ".json" and Path(reference).is_file()
        cur = _load_or_profile(
            current,
            config=ref.config,
            label="profiling current",
            model=spec if from_file else None,
            **options,
        )
        report = compare(
            ref, cur, alpha=alpha, correction=correction, mode="compare", command=_command_line()
        )
        report.save(out)
    except VisionDriftError as err:
        _fail(err)
    _print_report(report, out, quiet)
    sys.exit(_exit_code(report, fail_on))


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


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``visiondrift`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        args = translate_legacy(args)
    except click.UsageError as err:
        err.show()
        sys.exit(EXIT_USAGE)
    cli.main(args=args, prog_name="visiondrift")


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
