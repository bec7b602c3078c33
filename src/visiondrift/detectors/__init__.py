"""Two-sample drift detectors and the multiplicity corrections that combine them.

Every detector follows one contract (see :class:`Detector`): parameters validated in
``__init__``, ``fit(reference)`` returns ``self``, ``test(current)`` returns a frozen
:class:`TestResult` with a p-value and an effect size in a stated unit.

Detectors, the data they take and the unit of their effect size:

- :class:`KSDetector`: 1-D per-image values; KS distance D, share of images.
- :class:`AndersonDarlingDetector`: 1-D per-image values, tail-sensitive; Wasserstein-1 distance
  over the reference standard deviation ("standardised shift").
- :class:`CramerVonMisesDetector`: 1-D per-image values, whole-distribution; standardised shift.
- :class:`FisherExactDetector`: two shares (0/1 outcomes or a :class:`Proportion`); difference
  of the shares.
- :class:`ChiSquareDetector`: category labels or counts; Wasserstein distance between the class
  distributions (with the default 0/1 cost: total variation, share of images).
- :class:`MMDDetector`: vectors (probability vectors, embeddings); MMD in kernel units.
- :class:`BBSDDetector`: probability vectors; largest per-class KS distance D.
- :class:`DomainClassifierDetector`: feature vectors; cross-validated AUC (0.5 = same).
- :class:`ContaminationDetector`: feature vectors; excess share of current rows beyond the
  reference's own high quantile of a cross-fitted domain score (partial contamination).

:func:`correct_results` combines the results of one comparison with Holm (default),
Benjamini-Hochberg or Bonferroni.

May import numpy, scipy and :mod:`visiondrift.errors` only: detectors know nothing of images,
profiles or reports.
"""

from __future__ import annotations

import typing

from visiondrift._lazy import lazy_attributes as _lazy_attributes

if typing.TYPE_CHECKING:
    from visiondrift.detectors._base import Detector, PValueMethod, TestResult
    from visiondrift.detectors.anderson_darling import (
        ADMethod,
        AndersonDarlingDetector,
        standardised_shift,
    )
    from visiondrift.detectors.bbsd import BBSDDetector
    from visiondrift.detectors.chi_square import (
        CategoricalSample,
        ChiSquareDetector,
        ChiSquareMethod,
        ChiSquareStatistic,
    )
    from visiondrift.detectors.contamination import ContaminationDetector, beyond_quantile
    from visiondrift.detectors.cramer_von_mises import CramerVonMisesDetector, CVMMethod
    from visiondrift.detectors.distances import (
        check_cost_matrix,
        class_wasserstein,
        jensen_shannon,
        population_stability_index,
        total_variation,
    )
    from visiondrift.detectors.domain_classifier import DomainClassifierDetector, DomainPValue
    from visiondrift.detectors.fisher import FisherAlternative, FisherExactDetector, Proportion
    from visiondrift.detectors.ks import KSDetector, KSMethod, ks_pvalues
    from visiondrift.detectors.mmd import (
        MMDDetector,
        gaussian_kernel,
        median_bandwidth,
        mmd2_unbiased,
    )
    from visiondrift.detectors.multitest import (
        CorrectedTests,
        Correction,
        adjust_pvalues,
        benjamini_hochberg,
        bonferroni,
        correct_results,
        holm,
        reject,
    )

# Imported on first use: the detectors load scipy.stats (about half a second) and scikit-learn,
# which reading a saved report or listing the command line's options never needs.
_LAZY: dict[str, str] = {
    "ADMethod": "visiondrift.detectors.anderson_darling",
    "AndersonDarlingDetector": "visiondrift.detectors.anderson_darling",
    "BBSDDetector": "visiondrift.detectors.bbsd",
    "CVMMethod": "visiondrift.detectors.cramer_von_mises",
    "CategoricalSample": "visiondrift.detectors.chi_square",
    "ChiSquareDetector": "visiondrift.detectors.chi_square",
    "ChiSquareMethod": "visiondrift.detectors.chi_square",
    "ChiSquareStatistic": "visiondrift.detectors.chi_square",
    "ContaminationDetector": "visiondrift.detectors.contamination",
    "CorrectedTests": "visiondrift.detectors.multitest",
    "Correction": "visiondrift.detectors.multitest",
    "CramerVonMisesDetector": "visiondrift.detectors.cramer_von_mises",
    "Detector": "visiondrift.detectors._base",
    "DomainClassifierDetector": "visiondrift.detectors.domain_classifier",
    "DomainPValue": "visiondrift.detectors.domain_classifier",
    "FisherAlternative": "visiondrift.detectors.fisher",
    "FisherExactDetector": "visiondrift.detectors.fisher",
    "KSDetector": "visiondrift.detectors.ks",
    "Proportion": "visiondrift.detectors.fisher",
    "KSMethod": "visiondrift.detectors.ks",
    "MMDDetector": "visiondrift.detectors.mmd",
    "PValueMethod": "visiondrift.detectors._base",
    "TestResult": "visiondrift.detectors._base",
    "adjust_pvalues": "visiondrift.detectors.multitest",
    "benjamini_hochberg": "visiondrift.detectors.multitest",
    "beyond_quantile": "visiondrift.detectors.contamination",
    "bonferroni": "visiondrift.detectors.multitest",
    "check_cost_matrix": "visiondrift.detectors.distances",
    "class_wasserstein": "visiondrift.detectors.distances",
    "correct_results": "visiondrift.detectors.multitest",
    "gaussian_kernel": "visiondrift.detectors.mmd",
    "holm": "visiondrift.detectors.multitest",
    "jensen_shannon": "visiondrift.detectors.distances",
    "ks_pvalues": "visiondrift.detectors.ks",
    "median_bandwidth": "visiondrift.detectors.mmd",
    "mmd2_unbiased": "visiondrift.detectors.mmd",
    "population_stability_index": "visiondrift.detectors.distances",
    "reject": "visiondrift.detectors.multitest",
    "standardised_shift": "visiondrift.detectors.anderson_darling",
    "total_variation": "visiondrift.detectors.distances",
}


__all__ = [
    "ADMethod",
    "AndersonDarlingDetector",
    "BBSDDetector",
    "CVMMethod",
    "CategoricalSample",
    "ChiSquareDetector",
    "ChiSquareMethod",
    "ChiSquareStatistic",
    "ContaminationDetector",
    "CorrectedTests",
    "Correction",
    "CramerVonMisesDetector",
    "Detector",
    "DomainClassifierDetector",
    "DomainPValue",
    "FisherAlternative",
    "FisherExactDetector",
    "KSDetector",
    "KSMethod",
    "MMDDetector",
    "PValueMethod",
    "Proportion",
    "TestResult",
    "adjust_pvalues",
    "benjamini_hochberg",
    "beyond_quantile",
    "bonferroni",
    "check_cost_matrix",
    "class_wasserstein",
    "correct_results",
    "gaussian_kernel",
    "holm",
    "jensen_shannon",
    "ks_pvalues",
    "median_bandwidth",
    "mmd2_unbiased",
    "population_stability_index",
    "reject",
    "standardised_shift",
    "total_variation",
]

__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, __all__)
