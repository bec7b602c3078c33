"""The demo and what it is made of: ``python -m visiondrift.demo [--out DIR]``.

Owns the end-to-end demo on real photos (:mod:`visiondrift.demo._run`), the sample data it and the
tests derive from photos shipped in pip packages (:mod:`visiondrift.demo.samples`), the small demo
classifier (:mod:`visiondrift.demo.model`) and the writers of dense ONNX / TFLite classifiers the
demo model and the tests use. None of it is part of the monitoring runtime: nothing outside
``demo`` imports it. It may import the application core (:mod:`visiondrift.app`) and everything
below it; it needs the ``demo`` extra.
"""

from __future__ import annotations

import typing

from visiondrift._lazy import lazy_attributes as _lazy_attributes

if typing.TYPE_CHECKING:
    from visiondrift.demo._run import main

_LAZY: dict[str, str] = {"main": "visiondrift.demo._run"}

__all__ = ["main"]

__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, __all__)
