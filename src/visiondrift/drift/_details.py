"""The typed parts of a saved drift report: metric details, the model summary, the settings.

Owns every nested record of :class:`~visiondrift.drift.DriftReport` that used to be a free
``dict``: what a metric adds beyond its common fields (:data:`MetricDetails`, one record per
kind of test, told apart by ``kind``), what the model said about one side
(:class:`ModelOutputSummary`), and the settings the comparison ran with (:class:`ReportSettings`).
Plain pydantic: it may import pydantic and the standard library only, so that reading and
rendering a saved report needs no numpy, scipy, Pillow or model runtime.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, JsonValue, NonNegativeInt

__all__ = [
    "DETAILS_KIND_OF_FAMILY",
    "METRIC_FAMILIES",
    "AccuracyDetails",
    "ClassMixDetails",
    "ClassShift",
    "ConfidenceDetails",
    "ConfidenceHistogram",
    "ContaminationDetails",
    "DetailsKind",
    "DistributionDetails",
    "DomainDetails",
    "EmbeddingDetails",
    "LabelMetrics",
    "MetricDetails",
    "MetricFamily",
    "MixDetails",
    "ModelOutputSummary",
    "ModelSpecRecord",
    "OutputsDetails",
    "ProfileSettings",
    "ReportSettings",
    "Severity",
    "ShareDetails",
]

Severity = Literal["none", "low", "medium", "high"]

#: Every metric family: it fixes the unit of the effect size and the severity bands. A metric
#: registered by a user belongs to one of them (a per-image value: ``property``, ``texture`` or
#: ``size``), so that its bands and unit are those of its peers.
MetricFamily = Literal[
    "pixel_mean",
    "pixel_std",
    "property",
    "texture",
    "size",
    "integrity",
    "categorical",
    "confidence",
    "class_mix",
    "outputs",
    "accuracy",
    "embedding",
    "domain",
    "contamination",
]
METRIC_FAMILIES: Final[tuple[MetricFamily, ...]] = get_args(MetricFamily)

DetailsKind = Literal[
    "distribution",
    "share",
    "mix",
    "confidence",
    "class_mix",
    "outputs",
    "accuracy",
    "embedding",
    "domain",
    "contamination",
]

#: The kind of details each family's metrics carry (used to read reports of format version 1,
#: whose details had no ``kind``).
DETAILS_KIND_OF_FAMILY: Final[dict[str, DetailsKind]] = {
    "pixel_mean": "distribution",
    "pixel_std": "distribution",
    "property": "distribution",
    "texture": "distribution",
    "size": "distribution",
    "integrity": "share",
    "categorical": "mix",
    "confidence": "confidence",
    "class_mix": "class_mix",
    "outputs": "outputs",
    "accuracy": "accuracy",
    "embedding": "embedding",
    "domain": "domain",
    "contamination": "contamination",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Details(_Frozen):
    #: The metric's own band when its severity was capped (a detection metric at the strongest
    #: effect, an image property at what the model felt); ``None`` when it was not capped.
    band_severity: Severity | None = None


class DistributionDetails(_Details):
    """A per-image value tested with Kolmogorov-Smirnov (image properties, per-image metrics).

    The quantiles are the 5th to 95th percentiles in steps of 5, for the distribution charts.
    """

    kind: Literal["distribution"] = "distribution"
    ks_method: str
    baseline_mean: float
    current_mean: float
    #: Empty in reports written before the percentiles were recorded.
    baseline_quantiles: list[float] = Field(default_factory=list)
    current_quantiles: list[float] = Field(default_factory=list)


class ShareDetails(_Details):
    """A share of files (unusable files, one rejection reason): the counts behind it."""

    kind: Literal["share"] = "share"
    baseline_count: NonNegativeInt
    current_count: NonNegativeInt


class MixDetails(_Details):
    """A category mix (file formats, colour modes, labels): share of images per category."""

    kind: Literal["mix"] = "mix"
    baseline_mix: dict[str, float]
    current_mix: dict[str, float]


class ConfidenceDetails(_Details):
    """The model's top-1 confidence, with the low-confidence share, margin and entropy."""

    kind: Literal["confidence"] = "confidence"
    ks_method: str
    baseline_low_confidence_share: float | None
    current_low_confidence_share: float | None
    baseline_margin_mean: float | None
    current_margin_mean: float | None
    baseline_entropy_mean: float | None
    current_entropy_mean: float | None


class ClassMixDetails(_Details):
    """The predicted-class mix and the distances between the two mixes."""

    kind: Literal["class_mix"] = "class_mix"
    baseline_mix: dict[str, float]
    current_mix: dict[str, float]
    ground_distance: Literal["cost matrix", "0/1"]
    statistic_kind: Literal["pearson", "g"]
    total_variation: float
    jensen_shannon: float
    psi: float
    wasserstein: float


class ClassShift(_Frozen):
    """One class of black-box shift detection: its KS test on the class probability."""

    class_name: str
    statistic: float
    p_value: float
    p_value_adjusted: float
    direction: Literal["current larger", "current smaller", "none"]


class OutputsDetails(_Details):
    """Black-box shift detection over the output probabilities, class by class."""

    kind: Literal["outputs"] = "outputs"
    most_shifted_class: str
    per_class: list[ClassShift]


class LabelMetrics(_Frozen):
    """How right the model is on the labelled images of one side (labels that are classes)."""

    n: NonNegativeInt
    n_correct: NonNegativeInt
    n_labels_not_classes: NonNegativeInt
    accuracy: float
    recall: dict[str, float]
    precision: dict[str, float]
    confusion_matrix: list[list[NonNegativeInt]]
    expected_calibration_error: float
    ece_bins: NonNegativeInt


class AccuracyDetails(_Details):
    """Accuracy, recall, precision, confusion and calibration on both sides."""

    kind: Literal["accuracy"] = "accuracy"
    baseline: LabelMetrics
    current: LabelMetrics


class EmbeddingDetails(_Details):
    """Maximum mean discrepancy between the projected embeddings."""

    kind: Literal["embedding"] = "embedding"
    bandwidth: float
    n_reference_used: NonNegativeInt
    n_current_used: NonNegativeInt
    mmd2_unbiased: float


class DomainDetails(_Details):
    """The domain classifier: AUC, the per-image values it used and their weights."""

    kind: Literal["domain"] = "domain"
    auc: float
    features: list[str]
    feature_weights: dict[str, float]
    fold_auc: list[float]
    n_reference_used: NonNegativeInt | None = None
    n_current_used: NonNegativeInt | None = None


class ContaminationDetails(_Details):
    """The tail of the domain score: shares beyond the baseline's high quantile."""

    kind: Literal["contamination"] = "contamination"
    gamma: float
    share_current_above: float
    share_reference_above: float
    n_current_above: NonNegativeInt
    null_mean_current_above: float
    n_permutations: NonNegativeInt
    n_reference_used: NonNegativeInt
    n_current_used: NonNegativeInt


#: What a metric adds to its common fields, told apart by ``kind``.
MetricDetails = Annotated[
    DistributionDetails
    | ShareDetails
    | MixDetails
    | ConfidenceDetails
    | ClassMixDetails
    | OutputsDetails
    | AccuracyDetails
    | EmbeddingDetails
    | DomainDetails
    | ContaminationDetails,
    Field(discriminator="kind"),
]


class ConfidenceHistogram(_Frozen):
    """Images per top-1 probability bin (``len(edges) == len(counts) + 1``)."""

    edges: list[float]
    counts: list[NonNegativeInt]


class ModelOutputSummary(_Frozen):
    """What the model said about one side of a comparison."""

    #: Where the outputs came from (model file, input, outputs; or the predictions file's
    #: columns): provenance, as recorded by the profile.
    description: dict[str, JsonValue]
    class_names: list[str]
    n: NonNegativeInt
    predicted: dict[str, NonNegativeInt]
    frequencies: dict[str, float]
    confidence_mean: float | None
    confidence_std: float | None
    #: Percentiles of the top-1 probability, by level (``"1"``, ``"5"``, ... ``"99"``).
    confidence_percentiles: dict[str, float]
    confidence_histogram: ConfidenceHistogram
    low_confidence_share: float | None
    low_confidence_threshold: float
    confidence_per_class: dict[str, float]
    #: With labels that are class names; ``None`` otherwise.
    labels: LabelMetrics | None = None


class ModelSpecRecord(_Frozen):
    """The model a profile was made with, as its settings record it (defaults left out)."""

    path: str
    output: str | None = None
    labels: list[str] | None = None
    labels_file: str | None = None
    embedding: str | None = None
    activation: Literal["auto", "softmax", "none"] | None = None
    batch_size: int | None = None
    num_threads: int | None = None
    format: Literal["auto", "onnx", "tflite"] | None = None
    distribution_tolerance: float | None = None
    #: The preprocessing options that differ from the defaults.
    preprocessing: dict[str, JsonValue] | None = None


class ProfileSettings(_Frozen):
    """The baseline profile's settings, as the report records them."""

    measure: dict[str, int | float]
    limits: dict[str, int]
    reservoir_size: int
    seed: int
    max_listed_bad_files: int
    model: ModelSpecRecord | None = None
    low_confidence: float = 0.5
    embedding_components: int = 64
    names: Literal["keep", "hash", "drop"] = "keep"
    #: Per-image metrics registered by the user (name -> version), measured beside the
    #: built-in properties.
    image_metrics: dict[str, int] = Field(default_factory=dict)


class ReportSettings(_Frozen):
    """How the comparison decided: the settings of :class:`~visiondrift.drift.DriftConfig`
    and the baseline profile's settings."""

    alpha: float
    correction: Literal["holm", "bh", "bonferroni"]
    #: (low, medium, high) bands per family, after the user's overrides.
    bands: dict[MetricFamily, tuple[float, float, float]]
    power: float
    permutations: int
    n_atypical: int
    seed: int
    class_cost: list[list[float]] | None = None
    profile: ProfileSettings
