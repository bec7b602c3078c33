"""A rolling baseline: the stored batch profiles of one dataset over a period, merged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from visiondrift.errors import IncompatibleProfilesError, StoreError

if TYPE_CHECKING:
    from visiondrift.profiles import Profile
    from visiondrift.store import HistoryStore, StoredRun

__all__ = ["rolling_baseline"]


def rolling_baseline(
    store: HistoryStore,
    dataset: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Profile:
    """Merge the stored batch profiles of ``dataset``'s runs between ``since`` and ``until``.

    The result is a baseline (a :class:`~visiondrift.profiles.Profile`) whose provenance says
    where it came from: its dataset, the window spanning the runs' windows, the sources of the
    runs' batches, and ``extra["history"]``: the store (password masked), the dataset, the
    period, the ids of the runs it holds (oldest first), their count, and how many runs of the
    period had no stored profile (not kept, or pruned) and are not in it.

    Parameters
    ----------
    store
        The history store the runs were recorded in.
    dataset
        The dataset whose runs are merged.
    since, until
        The period: runs that finished at or after ``since`` and before ``until`` (timezone-
        aware; ``None``: no bound).

    Raises
    ------
    StoreError
        No run of the period has a stored profile (or the store cannot be read).
    IncompatibleProfilesError
        A run's profile was built with other settings than the period's first run (its message
        names both runs).
    """
    from dataclasses import replace

    runs: list[StoredRun] = []
    merged: Profile | None = None
    for run, profile in store.profiles(dataset=dataset, since=since, until=until):
        if merged is None:
            merged = profile
        else:
            try:
                merged = merged.merge(profile)
            except IncompatibleProfilesError as err:
                raise IncompatibleProfilesError(
                    f"The stored profile of run {run.run_id} (ran at "
                    f"{run.ran_at.isoformat(timespec='seconds')}) cannot be merged with those of "
                    f"the runs before it, from run {runs[0].run_id}: {err} Choose a period of "
                    "runs made with one baseline's settings (--since / --until)."
                ) from err
        runs.append(run)
    period = describe_period(since, until)
    if merged is None:
        raise StoreError(
            f"The history store {store.url} holds no batch profile of dataset {dataset!r} "
            f"{period}. See 'visiondrift history list --dataset {dataset}' for its runs; "
            "profiles are kept when store.keep_profiles is true and dropped by 'history prune'."
        )
    period_runs = store.runs(dataset=dataset, since=since, until=until)
    history = {
        "store": store.url,
        "dataset": dataset,
        "since": None if since is None else since.astimezone(UTC).isoformat(),
        "until": None if until is None else until.astimezone(UTC).isoformat(),
        "runs": [r.run_id for r in runs],
        "n_runs": len(runs),
        "runs_without_profile": max(0, len(period_runs) - len(runs)),
    }
    return replace(
        merged if merged.dataset is not None else merged.with_dataset(dataset),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        extra={**merged.extra, "history": history},
    )


def describe_period(since: datetime | None, until: datetime | None) -> str:
    def shown(value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    if since is None and until is None:
        return "at all"
    if until is None:
        assert since is not None
        return f"since {shown(since)}"
    if since is None:
        return f"before {shown(until)}"
    return f"between {shown(since)} and {shown(until)}"
