"""A fixed, seeded random projection that shrinks embeddings before they enter a profile.

Kernel two-sample tests on embeddings need the baseline and every batch in the same space, so the
projection is stored in the baseline as its seed and dimensions only; the matrix is regenerated
bit for bit from them. The matrix is drawn with numpy's legacy ``RandomState`` on purpose: its
stream is frozen across numpy releases, unlike ``Generator``'s.

References
----------
Johnson, W. B. and Lindenstrauss, J. (1984). Extensions of Lipschitz mappings into a Hilbert space.
Achlioptas, D. (2003). Database-friendly random projections. JCSS 66(4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visiondrift.errors import ConfigError, ProfileFormatError, UnsupportedVersionError

__all__ = ["EmbeddingProjection"]

_FORMAT = "visiondrift.embedding-projection"
_VERSION = 1


@dataclass(frozen=True)
class EmbeddingProjection:
    """Project ``input_dim``-dimensional embeddings to ``min(input_dim, n_components)`` dims.

    The matrix has i.i.d. Gaussian entries with variance ``1 / n_components``, so squared
    distances are preserved in expectation. When ``input_dim <= n_components`` the embedding is
    already small enough and is passed through unchanged (the identity keeps every distance).

    Parameters
    ----------
    input_dim
        Dimension of the embeddings (after flattening).
    n_components
        Upper bound on the output dimension.
    seed
        Seed of the matrix; the same seed and dims always give the same matrix.

    Examples
    --------
    >>> import numpy as np
    >>> p = EmbeddingProjection(input_dim=1280, n_components=64, seed=7)
    >>> p.apply(np.ones((2, 1280), dtype=np.float32)).shape
    (2, 64)
    >>> q = EmbeddingProjection.from_dict(p.to_dict())
    >>> bool(np.array_equal(q.matrix, p.matrix))
    True
    """

    input_dim: int
    n_components: int = 64
    seed: int = 0
    _matrix: NDArray[np.float32] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("input_dim", "n_components"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(
                    f"The '{name}' parameter of EmbeddingProjection must be a positive int. "
                    f"Got {value!r} instead."
                )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise ConfigError(
                f"The 'seed' parameter of EmbeddingProjection must be an int. Got {self.seed!r}."
            )
        if not 0 <= self.seed < 2**32:
            raise ConfigError(
                "The 'seed' parameter of EmbeddingProjection must be in [0, 2**32). "
                f"Got {self.seed} instead."
            )

    @property
    def output_dim(self) -> int:
        """``min(input_dim, n_components)``."""
        return min(self.input_dim, self.n_components)

    @property
    def is_identity(self) -> bool:
        """Whether the embedding passes through unchanged."""
        return self.input_dim <= self.n_components

    @property
    def matrix(self) -> NDArray[np.float32]:
        """The ``(input_dim, output_dim)`` projection matrix (the identity when small enough)."""
        if self._matrix is None:
            if self.is_identity:
                matrix = np.eye(self.input_dim, dtype=np.float32)
            else:
                rng = np.random.RandomState(int(self.seed))
                draws = rng.standard_normal((self.input_dim, self.n_components))
                matrix = (draws / np.sqrt(self.n_components)).astype(np.float32)
            matrix.setflags(write=False)
            object.__setattr__(self, "_matrix", matrix)
        assert self._matrix is not None
        return self._matrix

    def apply(self, embeddings: ArrayLike) -> NDArray[np.float32]:
        """Project a ``(n, input_dim)`` batch (higher-rank rows are flattened) to ``output_dim``."""
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.input_dim:
            raise ConfigError(
                f"EmbeddingProjection expects embeddings with {self.input_dim} values per image. "
                f"Got {x.shape[1]} instead; the model or its 'embedding' option changed since the "
                "baseline was made."
            )
        if self.is_identity:
            return np.ascontiguousarray(x)
        return np.asarray(x @ self.matrix, dtype=np.float32)

    def to_dict(self) -> dict[str, Any]:
        """Format name, version, dims and seed: enough to rebuild the same matrix."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "input_dim": int(self.input_dim),
            "n_components": int(self.n_components),
            "seed": int(self.seed),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmbeddingProjection:
        """Rebuild a projection saved by :meth:`to_dict`."""
        if data.get("format") != _FORMAT:
            raise ProfileFormatError(
                f"Not an embedding projection: expected format '{_FORMAT}', "
                f"got {data.get('format')!r}."
            )
        version = data.get("version")
        if version != _VERSION:
            raise UnsupportedVersionError(
                f"Embedding projection format version {version!r} is not supported; this "
                f"release reads version {_VERSION}."
            )
        try:
            return cls(
                input_dim=int(data["input_dim"]),
                n_components=int(data["n_components"]),
                seed=int(data["seed"]),
            )
        except KeyError as err:
            raise ProfileFormatError(f"Embedding projection is missing the key {err}.") from err
