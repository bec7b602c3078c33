"""Outputs to probabilities, class names, and the embedding projection."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from visiondrift.errors import ConfigError, ModelError, UnsupportedVersionError
from visiondrift.models import EmbeddingProjection, softmax, to_probabilities
from visiondrift.models.outputs import (
    choose_output,
    class_scores,
    is_distribution,
    labels_from_metadata,
    read_labels_file,
)


def test_softmax_is_stable_and_sums_to_one() -> None:
    logits = np.array([[1000.0, 1001.0, 999.0], [-5.0, 0.0, 5.0]], dtype=np.float32)
    p = softmax(logits)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(p[0], softmax(logits[1:2] * 0 + [[0.0, 1.0, -1.0]])[0], atol=1e-6)


def test_auto_activation() -> None:
    probs = np.array([[0.2, 0.8], [0.5, 0.5]], dtype=np.float32)
    np.testing.assert_allclose(to_probabilities(probs), probs)
    logits = np.array([[2.0, -1.0], [0.0, 3.0]], dtype=np.float32)
    np.testing.assert_allclose(to_probabilities(logits), softmax(logits))
    # Rows within the tolerance count as probabilities and are renormalised exactly.
    near = np.array([[0.3, 0.7005]], dtype=np.float32)
    out = to_probabilities(near, tolerance=1e-3)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-7)
    assert out[0, 1] > 0.69
    # ...and outside it, softmax is applied.
    np.testing.assert_allclose(to_probabilities(near, tolerance=1e-4), softmax(near))


def test_forced_activation() -> None:
    probs = np.array([[0.2, 0.8]], dtype=np.float32)
    np.testing.assert_allclose(to_probabilities(probs, "softmax"), softmax(probs))
    np.testing.assert_allclose(to_probabilities(probs, "none"), probs)
    with pytest.raises(ConfigError, match="'activation'"):
        to_probabilities(probs, "sigmoid")  # type: ignore[arg-type]


def test_single_column() -> None:
    p = np.array([[0.25], [1.0]], dtype=np.float32)
    np.testing.assert_allclose(to_probabilities(p), [[0.75, 0.25], [0.0, 1.0]])
    logit = np.array([[0.0], [-3.0]], dtype=np.float32)
    expected = 1 / (1 + np.exp(3.0))
    np.testing.assert_allclose(
        to_probabilities(logit), [[0.5, 0.5], [1 - expected, expected]], rtol=1e-6
    )


def test_is_distribution() -> None:
    assert is_distribution(np.array([[0.0, 1.0]]))
    assert not is_distribution(np.array([[-0.5, 1.5]]))
    assert not is_distribution(np.array([[np.nan, 1.0]]))


def test_class_scores_shapes() -> None:
    assert class_scores(np.zeros((2, 1, 1, 7)), "out").shape == (2, 7)
    assert class_scores(np.zeros((2,)), "out").shape == (2, 1)
    with pytest.raises(ModelError, match=r"shape \[2, 3, 7\].*'output' option"):
        class_scores(np.zeros((2, 3, 7)), "out")


def test_choose_output() -> None:
    assert choose_output(["a"], None, [], "m.onnx") == "a"
    assert choose_output(["a", "emb"], None, ["emb"], "m.onnx") == "a"
    assert choose_output(["a", "b"], "b", [], "m.onnx") == "b"
    with pytest.raises(ModelError, match=r"m\.onnx has 2 outputs: a, b"):
        choose_output(["a", "b"], None, [], "m.onnx")


def test_labels_files(tmp_path: Path) -> None:
    lines = tmp_path / "labels.txt"
    lines.write_text("cat\n dog \n\nbird\n", encoding="utf-8")
    assert read_labels_file(lines) == ("cat", "dog", "bird")
    as_json = tmp_path / "labels.json"
    as_json.write_text('["cat", "dog"]', encoding="utf-8")
    assert read_labels_file(as_json) == ("cat", "dog")
    as_map = tmp_path / "map.json"
    as_map.write_text('{"1": "dog", "0": "cat"}', encoding="utf-8")
    assert read_labels_file(as_map) == ("cat", "dog")
    broken = tmp_path / "broken.json"
    broken.write_text('["cat", ', encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON"):
        read_labels_file(broken)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ModelError, match="holds no class names"):
        read_labels_file(empty)


def test_labels_from_metadata() -> None:
    assert labels_from_metadata({"labels": '["a", "b"]'}) == ("a", "b")
    assert labels_from_metadata({"Classes": "a, b ,c"}) == ("a", "b", "c")
    assert labels_from_metadata({"author": "me"}) is None


def test_projection_round_trip_gives_identical_outputs() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 300)).astype(np.float32)
    p = EmbeddingProjection(input_dim=300, n_components=64, seed=11)
    q = EmbeddingProjection.from_dict(p.to_dict())
    r = pickle.loads(pickle.dumps(p))
    assert p.output_dim == 64
    y = p.apply(x)
    assert y.shape == (10, 64)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(q.apply(x), y)
    np.testing.assert_array_equal(r.apply(x), y)
    other = EmbeddingProjection(input_dim=300, n_components=64, seed=12)
    assert not np.array_equal(other.apply(x), y)


def test_projection_preserves_distances_roughly() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((20, 2000)).astype(np.float32)
    y = EmbeddingProjection(input_dim=2000, seed=0).apply(x)
    d_x = np.linalg.norm(x[:10] - x[10:], axis=1)
    d_y = np.linalg.norm(y[:10] - y[10:], axis=1)
    ratio = d_y / d_x
    assert ratio.min() > 0.6
    assert ratio.max() < 1.4


def test_small_embeddings_pass_through() -> None:
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    p = EmbeddingProjection(input_dim=6)
    assert p.is_identity
    np.testing.assert_array_equal(p.apply(x), x)
    np.testing.assert_array_equal(p.apply(x.reshape(2, 2, 3)), x)  # flattened


def test_projection_errors() -> None:
    p = EmbeddingProjection(input_dim=100, n_components=8)
    with pytest.raises(ConfigError, match="expects embeddings with 100 values per image"):
        p.apply(np.zeros((2, 99)))
    with pytest.raises(ConfigError, match="'n_components'"):
        EmbeddingProjection(input_dim=10, n_components=0)
    with pytest.raises(UnsupportedVersionError, match="version 99"):
        EmbeddingProjection.from_dict({**p.to_dict(), "version": 99})
