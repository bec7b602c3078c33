"""Every way a model cannot be used gives a ModelError that names the file and the fix."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("ai_edge_litert")
skdata = pytest.importorskip("skimage.data")

from _model_builders import (  # noqa: E402
    write_custom_op_onnx,
    write_custom_op_tflite,
    write_dense,
    write_four_channel_onnx,
)
from visiondrift.errors import (  # noqa: E402
    ConfigError,
    MissingExtraError,
    ModelError,
    VisionDriftError,
)
from visiondrift.models import ModelSpec, Preprocessing  # noqa: E402


@pytest.mark.parametrize("suffix", [".onnx", ".tflite"])
def test_missing_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"nowhere{suffix}"
    with pytest.raises(ModelError, match=r"does not exist.*--model") as info:
        ModelSpec(path).load()
    assert str(path) in str(info.value)


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="is not a file"):
        ModelSpec(tmp_path).load()


@pytest.mark.parametrize("suffix", [".onnx", ".tflite", ".bin"])
def test_not_a_model(tmp_path: Path, suffix: str) -> None:
    """A real image file and a text file, named like models."""
    from PIL import Image

    png = tmp_path / f"photo{suffix}"
    Image.fromarray(skdata.chelsea()).save(png, format="PNG")
    text = tmp_path / f"notes{suffix}"
    text.write_text("this is not a model\n", encoding="utf-8")
    for path in (png, text):
        with pytest.raises(ModelError, match=r"is not an? (ONNX|TFLite) model") as info:
            ModelSpec(path).load()
        assert str(path) in str(info.value)
        assert info.value.__cause__ is not None


def test_unsupported_operator_onnx(tmp_path: Path) -> None:
    path = write_custom_op_onnx(tmp_path / "custom.onnx")
    with pytest.raises(ModelError, match=r"uses an operator that onnxruntime .* cannot run") as e:
        ModelSpec(path).load()
    assert "FancyBlur" in str(e.value)
    assert str(path) in str(e.value)


def test_unsupported_operator_tflite(tmp_path: Path) -> None:
    path = write_custom_op_tflite(tmp_path / "custom.tflite")
    with pytest.raises(ModelError, match="uses an operator that LiteRT cannot run") as e:
        ModelSpec(path).load()
    assert "FancyBlur" in str(e.value)


def test_four_channel_input_cannot_be_produced(tmp_path: Path) -> None:
    path = write_four_channel_onnx(tmp_path / "rgba.onnx")
    with pytest.raises(ModelError) as e:
        ModelSpec(path).load()
    message = str(e.value)
    assert str(path) in message
    assert "[?, 4, 8, 8] float32" in message  # shape and dtype
    assert "expects 4 channels (NCHW)" in message  # layout
    assert "'layout' preprocessing option" in message  # the fix


def test_fixed_size_conflicts_with_size_option(tmp_path: Path) -> None:
    path = write_dense(tmp_path, "tflite")
    with pytest.raises(ModelError, match=r"height is fixed at 8 .* asks for 16.*Remove the 'size'"):
        ModelSpec(path, preprocessing=Preprocessing(size=16)).load()


def test_scaling_that_a_raw_uint8_input_cannot_take(tmp_path: Path) -> None:
    path = write_dense(tmp_path, "onnx", input_dtype="uint8")
    with pytest.raises(ConfigError, match="uint8 without quantisation"):
        ModelSpec(path, preprocessing=Preprocessing(scaling="imagenet")).load()


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_labels_file_length_mismatch(tmp_path: Path, fmt: str) -> None:
    path = write_dense(tmp_path, fmt)
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\nbird\n", encoding="utf-8")
    with pytest.raises(ModelError) as e:
        ModelSpec(path, labels_file=labels).load()
    message = str(e.value)
    assert str(labels) in message
    assert "3 class names" in message
    assert "outputs 5 classes" in message
    assert "'labels_file' option" in message


def test_missing_labels_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"Labels file .* does not exist"):
        ModelSpec(tmp_path / "m.onnx", labels_file=tmp_path / "labels.txt")


def test_unknown_embedding_tensor(tmp_path: Path) -> None:
    for fmt in ("onnx", "tflite"):
        path = write_dense(tmp_path, fmt, hidden_names=["features"])
        with pytest.raises(ModelError, match=r"no tensor named 'penultimate'.*'embedding' option"):
            ModelSpec(path, embedding="penultimate").load()


def test_missing_onnx_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_dense(tmp_path, "onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingExtraError) as e:
        ModelSpec(path).load()
    assert str(e.value) == (
        "Reading ONNX models needs the 'onnx' extra: pip install 'visiondrift[onnx]'"
    )
    assert isinstance(e.value, ImportError)
    assert isinstance(e.value, ModelError)


def test_missing_tflite_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_dense(tmp_path, "tflite")
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(MissingExtraError) as e:
        ModelSpec(path).load()
    assert str(e.value) == (
        "Reading TFLite models needs the 'tflite' extra: pip install 'visiondrift[tflite]'"
    )


def test_bad_image_is_a_clear_error(tmp_path: Path) -> None:
    model = ModelSpec(write_dense(tmp_path, "onnx")).load()
    with pytest.raises(ConfigError, match=r"Image 1 must have shape \(height, width, 3\)"):
        model.predict([skdata.chelsea(), np.zeros((4, 4, 4), dtype=np.uint8)])
    with pytest.raises(ConfigError, match="must be a uint8 array"):
        model.predict([skdata.chelsea().astype(np.float32)])


def test_every_error_is_a_visiondrift_error(tmp_path: Path) -> None:
    with pytest.raises(VisionDriftError):
        ModelSpec(tmp_path / "x.onnx").load()
