"""Write src/visiondrift/_defaults.py, the settings tree's defaults as plain values.

The defaults are written once, in ``src/visiondrift/settings.py``; this script copies them into a
module that imports no pydantic, so that profiling (and ``visiondrift baseline``) start without
it. ``python scripts/settings_defaults.py --check`` exits 1 when the file is out of date (a test
runs it).
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from _generated import write_or_check
from pydantic import BaseModel, SecretStr

from visiondrift.settings import DEFAULTS, Settings

TARGET = Path(__file__).resolve().parent.parent / "src" / "visiondrift" / "_defaults.py"

HEADER = '''"""The defaults of the settings tree as plain values: GENERATED, do not edit.

Written by ``python scripts/settings_defaults.py`` from :mod:`visiondrift.settings`, where every
default is written (a test fails when this file differs from it). The configuration objects and
keyword defaults of the profiling path read their defaults here, so that profiling imports no
pydantic; :data:`visiondrift.settings.DEFAULTS` is the same tree as a validated pydantic model.

May import: the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

__all__ = ["DEFAULTS"]
'''


def _literal(value: Any) -> str:
    """A value as ruff formats it (double-quoted strings)."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _type(annotation: Any) -> str:
    if annotation is type(None):
        return "None"
    if annotation is Ellipsis:
        return "..."
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "Literal[" + ", ".join(_literal(a) for a in args) + "]"
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(_type(a) for a in args)
    if origin is not None:
        return f"{origin.__name__}[" + ", ".join(_type(a) for a in args) + "]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel | SecretStr):
        return "Any"  # a section inside a value (a channel, a route) or a secret: not copied
    return str(annotation.__name__)


def _classes(model: type[BaseModel], value: Any, name: str, out: list[str]) -> None:
    lines = ["@dataclass(frozen=True, slots=True)", f"class {name}:"]
    lines.append(f'    """Defaults of {model.__name__}."""')
    lines.append("")
    for key, info in model.model_fields.items():
        sub = info.annotation
        current = getattr(value, key)
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            child = f"{name}{key.title().replace('_', '')}"
            _classes(sub, current, child, out)
            lines.append(f"    {key}: {child} = field(default_factory={child})")
        elif isinstance(current, dict):
            assert not current, (key, current)
            lines.append(f"    {key}: {_type(sub)} = field(default_factory=dict)")
        else:
            text = _literal(str(current) if isinstance(current, Path) else current)
            lines.append(f"    {key}: {_type(sub)} = {text}")
    out.append("\n".join(lines))


def render() -> str:
    classes: list[str] = []
    _classes(Settings, DEFAULTS, "_Defaults", classes)
    body = "\n\n\n".join(classes)
    footer = "#: The settings tree's defaults (``DEFAULTS.profile.reservoir_size``...).\n"
    return f"{HEADER}\n\n{body}\n\n\n{footer}DEFAULTS: Final = _Defaults()\n"


def main() -> int:
    return write_or_check(TARGET, render(), sys.argv[1:], "scripts/settings_defaults.py")


if __name__ == "__main__":
    sys.exit(main())
