"""Multivariate metrics of a comparison: the images as a whole, not one property at a time.

Two more :class:`Candidate` records join the same family-wise correction as the input and
output metrics:

- ``embedding`` (family ``embedding``, when both profiles hold the model's projected embedding):
  maximum mean discrepancy with a Gaussian kernel (median-heuristic bandwidth) and a seeded
  permutation null (:class:`~visiondrift.detectors.mmd.MMDDetector`). The effect is MMD in
  kernel units (0 = same distribution, at most sqrt(2)). Default bands (0.05, 0.10, 0.20): with
  the median bandwidth, a batch of which every image moved by about a tenth of the typical
  distance between two baseline images gives MMD near 0.1; a mixture in which a fraction ``f`` of
  the images comes from a distant distribution gives roughly ``f`` times the distance of that
  part, so 0.05 / 0.10 / 0.20 read "a few percent / a tenth / a fifth of the batch looks new".
- ``domain`` and ``contamination`` (always when both profiles have at least a few images): the
  domain score of :mod:`visiondrift.drift._domain`, a cross-fitted linear discriminant on the
  per-image values, tested as a whole (cross-validated AUC) and in its tail (share of the batch
  beyond the baseline's own high quantile).

All three are ``detection`` metrics: they decide whether anything changed, but they see changes
nobody would notice, so their severity is capped (see :mod:`visiondrift.drift._config`).

All subsample inside the detectors (seeded) so that a 1,000-image batch against a
10,000-image baseline stays well under a second.
"""

from __future__ import annotations

import numpy as np

from visiondrift.detectors.mmd import MMDDetector
from visiondrift.drift._config import DriftConfig
from visiondrift.drift._details import EmbeddingDetails
from visiondrift.drift._domain import (
    DOMAIN_MAX_CURRENT,
    DOMAIN_MAX_REFERENCE,
    MIN_ROWS,
    contamination_candidate,
    domain_candidate,
    domain_features,
)
from visiondrift.drift._input import Candidate
from visiondrift.profiles import Profile

__all__ = [
    "DOMAIN_MAX_CURRENT",
    "DOMAIN_MAX_REFERENCE",
    "MMD_MAX_CURRENT",
    "MMD_MAX_REFERENCE",
    "MMD_PERMUTATIONS",
    "domain_candidates",
    "embedding_candidate",
    "embedding_candidates",
]

#: Rows of each side the MMD test keeps (seeded subsample) and its permutations. The smallest
#: p-value is 1 / (permutations + 1); under a Holm correction over m tests the first step needs
#: p <= alpha / m, so 999 permutations keep the test able to fire alone up to m = 50 at
#: alpha 0.05 (499 stopped at m = 25, which the contamination test's arrival passed).
MMD_MAX_REFERENCE = 1000
MMD_MAX_CURRENT = 500
MMD_PERMUTATIONS = 999


def embedding_candidate(base: Profile, cur: Profile, config: DriftConfig) -> Candidate | None:
    """MMD between the projected embeddings of the two reservoirs, or ``None`` without them."""
    b = base.reservoir.vectors.get("embedding")
    c = cur.reservoir.vectors.get("embedding")
    if b is None or c is None or b.ndim != 2 or c.ndim != 2 or b.shape[1] != c.shape[1]:
        return None
    if b.shape[0] < MIN_ROWS or c.shape[0] < MIN_ROWS:
        return None
    detector = MMDDetector(
        n_permutations=MMD_PERMUTATIONS,
        max_reference=MMD_MAX_REFERENCE,
        max_current=MMD_MAX_CURRENT,
        seed=config.seed,
    )
    result = detector.fit(b.astype(np.float64)).test(c.astype(np.float64))
    effect = result.effect_size

    def sentence() -> str:
        return (
            f"The model sees the images differently: the distance between the batch's and the "
            f"baseline's embeddings is MMD {effect:.3f} (kernel units, 0 = same, at most 1.41)."
        )

    return Candidate(
        name="embedding",
        label="model embedding",
        family="embedding",
        unit="kernel units",
        baseline=None,
        current=None,
        test="Maximum mean discrepancy (Gaussian kernel, median bandwidth), permutation null",
        statistic=result.statistic,
        p_value=result.p_value,
        effect_size=effect,
        effect_unit=result.effect_unit,
        n_baseline=result.n_reference,
        n_current=result.n_current,
        standardised=None,
        sentence=sentence,
        role="detection",
        details=EmbeddingDetails(
            bandwidth=float(result.details["bandwidth"]),
            n_reference_used=int(result.details["n_reference_used"]),
            n_current_used=int(result.details["n_current_used"]),
            mmd2_unbiased=float(result.details["mmd2_unbiased"]),
        ),
    )


def embedding_candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """The MMD on embeddings (family ``embedding``), with embeddings on both sides."""
    found = embedding_candidate(base, cur, config)
    return [] if found is None else [found]


def domain_candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """The domain classifier and the contamination test (families ``domain`` and
    ``contamination``), with at least ``MIN_ROWS`` images per side."""
    features = domain_features(base, cur)
    if features is None:
        return []
    return [domain_candidate(features, config), contamination_candidate(features, config)]
