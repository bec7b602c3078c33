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

from visiondrift.errors import VisionDriftError

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
#: The shell's code for a run ended by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
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


def _write_extras(
    report: Any,
    out: Path,
    *,
    html: str | None,
    summary_md: str | None,
    no_thumbnails: bool,
    image_root: str | None,
    names_key: Any = None,
) -> list[Path]:
    written: list[Path] = []
    if html is not None:
        from visiondrift.report import generate_html_report  # jinja2; matplotlib when drawing

        page = Path(html) if html else out.with_suffix(".html")
        root = image_root if image_root and Path(image_root).is_dir() else None
        written.append(
            generate_html_report(
                report, page, image_root=root, thumbnails=not no_thumbnails, names_key=names_key
            )
        )
    if summary_md:
        from visiondrift._io import write_text_atomic
        from visiondrift.report.markdown import render_markdown

        written.append(write_text_atomic(summary_md, render_markdown(report)))
    return written


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
    from visiondrift.predictions import is_predictions_file

    if predictions is not None and data_dir is not None:
        raise click.UsageError("Give either DATA_DIR or --predictions FILE, not both.")
    if predictions is not None:
        return predictions, True
    if data_dir is None:
        raise click.UsageError("Missing DATA_DIR (a folder of images) or --predictions FILE.")
    return data_dir, is_predictions_file(data_dir)


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


def _profile_predictions(
    path: str,
    *,
    config: Any,
    class_names: str | None,
    activation: str | None,
    options: dict[str, Any],
) -> Any:
    """Profile a predictions file with the CLI options (or a baseline's ``config``)."""
    from visiondrift.predictions import profile_predictions

    if options.get("max_images") is not None:
        raise click.UsageError("--max-images applies to images, not to a predictions file.")
    if options.get("model") is not None:
        raise click.UsageError(
            "--model runs a model on images; a predictions file already holds its outputs."
        )
    names = _class_names(class_names)
    kwargs: dict[str, Any] = {
        k: options[k] for k in ("names", "names_key", "names_root") if options.get(k) is not None
    }
    if config is None:
        kwargs |= {
            "reservoir_size": options.get("reservoir_size", 10_000),
            "seed": options.get("seed", 0),
            "low_confidence": options.get("low_confidence", 0.5),
        }
    return profile_predictions(
        path,
        class_names=names,
        activation="softmax" if activation == "softmax" else "none",
        config=config,
        **kwargs,
    )


def _baseline_predictions_defaults(base: Any) -> tuple[str | None, str | None]:
    """Class names (comma-separated) and activation recorded in a baseline profile."""
    names = ",".join(base.model.class_names) if base.model is not None else None
    recorded = base.extra.get("predictions") if isinstance(base.extra, dict) else None
    activation = recorded.get("activation") if isinstance(recorded, dict) else None
    return names, activation


def _load_or_profile(
    path: str,
    *,
    config: Any = None,
    label: str,
    predictions: bool | None = None,
    class_names: str | None = None,
    activation: str | None = None,
    **options: Any,
) -> Any:
    """A saved profile (.json), a predictions file, or a profile of the images at ``path``.

    ``predictions`` None means: auto-detect
    (:func:`visiondrift.predictions.is_predictions_file`).
    """
    from visiondrift.predictions import is_predictions_file
    from visiondrift.profiler import profile
    from visiondrift.profiles import Profile

    p = Path(path)
    if p.is_file() and p.suffix.lower() == ".json":
        return Profile.load(p)
    if predictions is None:
        predictions = is_predictions_file(p)
    if predictions:
        return _profile_predictions(
            path, config=config, class_names=class_names, activation=activation, options=options
        )
    if class_names is not None or activation is not None:
        raise click.UsageError("--class-names and --activation apply to a predictions file.")
    quiet = options.pop("quiet")
    with _Progress(label, quiet) as progress:
        # A URL (s3://, https://...) goes to the sources as given: Path() would fold its '//'.
        return profile(path if "://" in path else p, progress=progress, config=config, **options)


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
    if fail_on == "never" or not report.overall_drift_detected:
        return EXIT_OK
    hit = SEVERITY_ORDER.index(report.severity) >= SEVERITY_ORDER.index(fail_on)
    return EXIT_DRIFT if hit else EXIT_OK
