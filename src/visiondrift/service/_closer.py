"""Closing one window: its profile built from its stored records, compared and recorded by
:class:`~visiondrift.app.Monitor` with the sinks of any run (history first, then alerts).

The run's id is the window's id, so a window closed twice (its first closer died after the
run was recorded, before the window was marked closed) is recorded once: the second closer
finds the run and only marks the window.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.profiles import Profile
    from visiondrift.settings import Settings
    from visiondrift.store import HistoryStore
    from visiondrift.store._windows import PredictionBlock, PredictionRow, StoredRecord, Window

__all__ = ["Closed", "close_claimed", "close_window", "prediction_profile", "window_profile"]

logger = logging.getLogger("visiondrift.service")


def window_profile(
    baseline: Profile, records: Iterable[StoredRecord], *, dataset: str | None
) -> Profile:
    """The profile of a window's records, built with the baseline's settings.

    Probability records go through :meth:`ProfileBuilder.add_prediction`, image records through
    :meth:`~ProfileBuilder.add_measured` (with their probabilities when the baseline has a
    model), unusable ones through :meth:`~ProfileBuilder.add_bad`; labels joined to records are
    the records' labels.
    """
    from visiondrift.decode import BadFile
    from visiondrift.profiles import ProfileBuilder
    from visiondrift.sources import Item

    config = baseline.config
    builder = ProfileBuilder(config, dataset=dataset)
    images = bool(baseline.formats.counts)
    model = baseline.model
    if model is not None and (not images or config.model is not None):
        builder.set_model(model.class_names, model.description)
    for r in records:
        name = f"{r.seq}:{r.record_id}" if r.record_id else f"record-{r.seq}"
        if r.bad_reason is not None:
            builder.add_bad(BadFile(name, r.bad_reason, r.detail or ""))  # type: ignore[arg-type]
        elif not images:
            assert r.probs is not None
            builder.add_prediction(name, r.probs, label=r.label)
        else:
            assert r.measured is not None
            m = r.measured
            prediction = None
            if config.model is not None:
                assert r.probs is not None
                prediction = (r.probs, None)
            builder.add_measured(
                Item(name, label=r.label),
                m.histograms,
                m.values,
                format=m.format,
                mode=m.mode,
                prediction=prediction,
            )
    profile = builder.build()
    return profile if images else _like_baseline(profile, baseline)


def prediction_profile(
    baseline: Profile,
    parts: Iterable[Sequence[PredictionRow] | PredictionBlock],
    *,
    dataset: str | None,
) -> Profile:
    """The profile of a window of probability records (a baseline of predictions), built from
    :meth:`~visiondrift.store.Windows.prediction_parts` a chunk at a time
    (:meth:`ProfileBuilder.add_predictions`): the same profile as :func:`window_profile`
    gives for these records, several times faster (a block's matrix is used as stored)."""
    import numpy as np

    from visiondrift.decode import BadFile
    from visiondrift.profiles import ProfileBuilder
    from visiondrift.store._windows import PredictionBlock

    builder = ProfileBuilder(baseline.config, dataset=dataset)
    if baseline.model is not None:
        builder.set_model(baseline.model.class_names, baseline.model.description)
    for part in parts:
        if isinstance(part, PredictionBlock):
            seq = part.seq
            keys = [
                f"{seq + i}:{rid}" if rid else f"record-{seq + i}" for i, rid in enumerate(part.ids)
            ]
            matrix = np.frombuffer(part.probs, dtype="<f4").reshape(len(keys), part.classes)
            builder.add_predictions(keys, matrix, part.labels)
            continue
        keys = []
        labels: list[str | None] = []
        blobs: list[bytes] = []
        for seq, record_id, label, probs, bad_reason, detail in part:
            name = f"{seq}:{record_id}" if record_id else f"record-{seq}"
            if bad_reason is not None:
                builder.add_bad(BadFile(name, bad_reason, detail or ""))  # type: ignore[arg-type]
                continue
            assert probs is not None  # a record of predictions always has them (validated)
            keys.append(name)
            labels.append(label)
            blobs.append(probs)
        if keys:
            matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(keys), -1)
            builder.add_predictions(keys, matrix, labels)
    return _like_baseline(builder.build(), baseline)


def _like_baseline(profile: Profile, baseline: Profile) -> Profile:
    """A window of predictions described as its baseline's were (``extra["predictions"]``:
    where the probabilities came from)."""
    if isinstance(baseline.extra, dict) and "predictions" in baseline.extra:
        from dataclasses import replace

        return replace(profile, extra={"predictions": baseline.extra["predictions"]})
    return profile


@dataclass(frozen=True)
class Closed:
    """How a window's closing ended: ``closed`` (with its run; ``ran`` when this closer ran
    and recorded it, not only found it recorded), ``failed`` (reason) or ``retry`` (the run
    could not be recorded now). Plain data: it comes back from a closing process."""

    window_id: str
    outcome: str
    run_id: str | None = None
    ran: bool = False
    reason: str | None = None


def close_window(
    window: Window, baseline: Profile, settings: Settings, store: HistoryStore, owner: str
) -> Closed:
    """Compare ``window`` with ``baseline``, record the run, mark the window closed.

    Runs in the pool. A window whose run is already in the store is only marked closed. A
    window whose profile cannot be compared (its baseline's settings changed...) is failed
    with the reason; when the run could not be recorded (the store is down), the claim is
    given back so that the window is closed again later.
    """
    from visiondrift.app import monitor_from_settings
    from visiondrift.errors import StoreError, VisionDriftError

    wid = window.window_id
    assert window.end is not None
    done = store.windows.recorded_run(window)
    if done is not None:
        store.windows.closed(wid, done, owner=owner)
        return Closed(wid, "closed", run_id=done)
    try:
        if baseline.formats.counts:  # a baseline of images: records with measurements
            profile = window_profile(baseline, store.windows.records(wid), dataset=window.dataset)
        else:
            parts = store.windows.prediction_parts(wid)
            profile = prediction_profile(baseline, parts, dataset=window.dataset)
        monitor = monitor_from_settings(baseline, settings, store)
        result = monitor.run(
            profile,
            dataset=window.dataset,
            window=(window.opened_at, window.end),
            run_id=wid,
            command=f"visiondrift serve: window {wid}",
        )
    except StoreError as err:
        logger.warning("Window %s of %s not closed now: %s", wid, window.dataset, err)
        store.windows.release(wid, owner)
        return Closed(wid, "retry", reason=str(err))
    except (VisionDriftError, ValueError) as err:
        reason = f"{type(err).__name__}: {err}"
        logger.warning("Window %s of %s failed: %s", wid, window.dataset, reason)
        store.windows.failed(wid, reason, owner=owner)
        return Closed(wid, "failed", reason=reason)
    history_failed = next((f for f in result.failures if f.sink == "history"), None)
    if history_failed is not None and store.windows.recorded_run(window) is None:
        logger.warning(
            "Window %s of %s: its run was not recorded (%s); it is closed again later.",
            wid,
            window.dataset,
            history_failed.error,
        )
        store.windows.release(wid, owner)
        return Closed(wid, "retry", reason=history_failed.error)
    store.windows.closed(wid, result.run_id, owner=owner)
    return Closed(wid, "closed", run_id=result.run_id, ran=True)


def close_claimed(
    window: Window,
    settings: Settings,
    store: HistoryStore,
    owner: str,
    profile_of: Callable[[str], Profile],
) -> Closed:
    """Close a window ``owner`` claimed (:func:`close_window` with its baseline's profile):
    a deleted baseline or an unexpected error fails the window (logged; never retried for
    ever), a store that is down gives the claim back (the window is closed again later)."""
    from visiondrift.errors import StoreError

    wid = window.window_id
    try:
        try:
            baseline = profile_of(window.baseline_id)
        except KeyError:
            reason = f"its baseline {window.baseline_id} was deleted before it closed"
            store.windows.failed(wid, reason, owner=owner)
            return Closed(wid, "failed", reason=reason)
        try:
            return close_window(window, baseline, settings, store, owner)
        except StoreError:
            raise
        except Exception as err:
            logger.exception("Closing window %s failed", wid)
            reason = f"the service failed while closing it ({type(err).__name__}); see its log"
            store.windows.failed(wid, reason, owner=owner)
            return Closed(wid, "failed", reason=reason)
    except StoreError as err:  # the store is down: the window is closed again later
        logger.warning("Window %s of %s not closed now: %s", wid, window.dataset, err)
        with contextlib.suppress(StoreError):  # else its claim runs out
            store.windows.release(wid, owner)
        return Closed(wid, "retry", reason=str(err))
