"""The baselines uploaded to the service (``vd_baselines``): one active baseline per dataset.

A baseline is a saved profile, kept whole (compressed JSON) with its dataset, a name, its
SHA-256 (of the profile's canonical JSON) and what it holds (``images`` or ``predictions``).
Adding a baseline makes it the dataset's active one unless told otherwise; activating one
deactivates the dataset's others in the same transaction, so a dataset never has two.
"""

from __future__ import annotations

import builtins
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from visiondrift.errors import ConfigError
from visiondrift.store._codec import content_hash, pack, unpack
from visiondrift.store._rows import now_utc, utc

if TYPE_CHECKING:
    from visiondrift.profiles import Profile
    from visiondrift.store._store import HistoryStore

__all__ = ["DATASET_PATTERN", "Baselines", "StoredBaseline", "check_dataset"]

#: What a dataset name may be (a path segment of the service's routes, a metric label).
DATASET_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}"
_DATASET = re.compile(DATASET_PATTERN)


def check_dataset(name: object) -> str:
    """``name`` if it is a valid dataset name, else :class:`ConfigError` saying what is allowed."""
    if not isinstance(name, str) or not _DATASET.fullmatch(name):
        raise ConfigError(
            "A dataset name must be 1 to 200 letters, digits, '.', '_' or '-', starting with a "
            f"letter or digit. Got {name!r} instead."
        )
    return name


@dataclass(frozen=True)
class StoredBaseline:
    """One baseline of the service (without its profile: :meth:`Baselines.profile` reads it).

    Attributes
    ----------
    baseline_id
        Its id (32 hex digits).
    dataset
        The dataset it is the baseline of.
    name
        Its name (the uploaded file's, or given).
    sha256
        The SHA-256 of the profile's canonical JSON.
    kind
        ``images`` (image properties, and a model's outputs when it has one) or
        ``predictions`` (a model's outputs only).
    n_images
        Images or prediction records it was made from.
    active
        Whether it is the dataset's active baseline (windows and runs compare with it).
    created_at
        When it was added (UTC).
    """

    baseline_id: str
    dataset: str
    name: str
    sha256: str
    kind: Literal["images", "predictions"]
    n_images: int
    active: bool
    created_at: datetime


def _row(row: Any) -> StoredBaseline:
    created = utc(row["created_at"])
    assert created is not None
    return StoredBaseline(
        baseline_id=row["baseline_id"],
        dataset=row["dataset"],
        name=row["name"],
        sha256=row["sha256"],
        kind=row["kind"],
        n_images=int(row["n_images"]),
        active=bool(row["active"]),
        created_at=created,
    )


def _kind(profile: Profile) -> Literal["images", "predictions"]:
    # A profile of prediction records has no image: no format was counted.
    return "images" if profile.formats.counts else "predictions"


class Baselines:
    """The baselines of a :class:`~visiondrift.store.HistoryStore` (``store.baselines``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from visiondrift.profiles.builder import ProfileBuilder
    >>> from visiondrift.store import HistoryStore
    >>> builder = ProfileBuilder()
    >>> builder.set_model(["cat", "dog"], {"format": "predictions"})
    >>> builder.add_prediction("a", np.array([0.9, 0.1]))
    >>> store = HistoryStore(pathlib.Path(tempfile.mkdtemp()) / "history.sqlite")
    >>> first = store.baselines.add("pets", builder.build(), name="validation")
    >>> first.active, first.kind, store.baselines.active("pets") == first
    (True, 'predictions', True)
    >>> second = store.baselines.add("pets", builder.build(), name="retrained")
    >>> store.baselines.get(first.baseline_id).active, store.baselines.active("pets").name
    (False, 'retrained')
    >>> store.close()
    """

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

    def add(
        self, dataset: str, profile: Profile, *, name: str | None = None, activate: bool = True
    ) -> StoredBaseline:
        """Keep ``profile`` as a baseline of ``dataset`` (its active one when ``activate``)."""
        from sqlalchemy import insert, update

        from visiondrift.store._schema import BASELINES

        check_dataset(dataset)
        name = (name or profile.dataset or dataset)[:200]
        document = profile.to_dict()
        row = {
            "baseline_id": uuid.uuid4().hex,
            "dataset": dataset,
            "name": name,
            "sha256": content_hash(document),
            "kind": _kind(profile),
            "n_images": int(profile.n_images),
            "active": activate,
            "created_at": now_utc(),
            "profile": pack(document),
        }
        with self.store._write(f"adding a baseline of the dataset {dataset!r}") as conn:
            if activate:
                conn.execute(
                    update(BASELINES)
                    .where((BASELINES.c.dataset == dataset) & BASELINES.c.active)
                    .values(active=False)
                )
            conn.execute(insert(BASELINES).values(**row))
        return _row(row)

    def get(self, baseline_id: str) -> StoredBaseline | None:
        """The baseline ``baseline_id``, or ``None``."""
        from sqlalchemy import select

        from visiondrift.store._schema import BASELINES

        columns = [c for c in BASELINES.c if c.name != "profile"]
        row = self.store._read(
            f"reading the baseline {baseline_id}",
            lambda conn: (
                conn.execute(select(*columns).where(BASELINES.c.baseline_id == baseline_id))
                .mappings()
                .one_or_none()
            ),
        )
        return None if row is None else _row(row)

    def profile(self, baseline_id: str) -> Profile:
        """The profile of the baseline ``baseline_id`` (:class:`KeyError` when there is none)."""
        from sqlalchemy import select

        from visiondrift.profiles import Profile
        from visiondrift.store._schema import BASELINES

        blob = self.store._read(
            f"reading the baseline {baseline_id}",
            lambda conn: conn.execute(
                select(BASELINES.c.profile).where(BASELINES.c.baseline_id == baseline_id)
            ).scalar_one_or_none(),
        )
        if blob is None:
            raise KeyError(f"No baseline has the id {baseline_id!r}.")
        return Profile.from_dict(unpack(blob), origin=f"the stored baseline {baseline_id}")

    def active(self, dataset: str) -> StoredBaseline | None:
        """The active baseline of ``dataset``, or ``None``."""
        found = self.list(dataset, active_only=True)
        return found[0] if found else None

    def list(
        self, dataset: str | None = None, *, active_only: bool = False
    ) -> list[StoredBaseline]:
        """The baselines (of ``dataset``), newest first."""
        from sqlalchemy import select

        from visiondrift.store._schema import BASELINES

        columns = [c for c in BASELINES.c if c.name != "profile"]
        query = select(*columns).order_by(BASELINES.c.created_at.desc())
        if dataset is not None:
            query = query.where(BASELINES.c.dataset == dataset)
        if active_only:
            query = query.where(BASELINES.c.active)
        rows = self.store._read(
            "listing the baselines", lambda conn: list(conn.execute(query).mappings())
        )
        return [_row(r) for r in rows]

    def activate(self, baseline_id: str) -> StoredBaseline | None:
        """Make ``baseline_id`` its dataset's active baseline; ``None`` when there is none."""
        from sqlalchemy import select, update

        from visiondrift.store._schema import BASELINES

        with self.store._write(f"activating the baseline {baseline_id}") as conn:
            dataset = conn.execute(
                select(BASELINES.c.dataset).where(BASELINES.c.baseline_id == baseline_id)
            ).scalar_one_or_none()
            if dataset is None:
                return None
            conn.execute(
                update(BASELINES)
                .where((BASELINES.c.dataset == dataset) & BASELINES.c.active)
                .values(active=False)
            )
            conn.execute(
                update(BASELINES).where(BASELINES.c.baseline_id == baseline_id).values(active=True)
            )
        return self.get(baseline_id)

    def delete(self, baseline_id: str) -> bool:
        """Delete a baseline (its dataset then has no active one if it was); ``False``: none."""
        from sqlalchemy import delete

        from visiondrift.store._schema import BASELINES

        with self.store._write(f"deleting the baseline {baseline_id}") as conn:
            done = conn.execute(
                delete(BASELINES).where(BASELINES.c.baseline_id == baseline_id)
            ).rowcount
        return bool(done)

    def datasets(self) -> builtins.list[str]:
        """The datasets that have a baseline, in name order."""
        from sqlalchemy import select

        from visiondrift.store._schema import BASELINES

        return self.store._read(
            "listing the datasets",
            lambda conn: [
                str(d)
                for d in conn.execute(
                    select(BASELINES.c.dataset).distinct().order_by(BASELINES.c.dataset)
                ).scalars()
            ],
        )
