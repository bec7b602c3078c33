"""Write a generated file, or with ``--check`` say whether the committed one is current."""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(target: Path, text: str, argv: list[str], script: str) -> int:
    """Write ``text`` to ``target``; with ``--check`` in ``argv``, exit code 1 when it differs.

    ``script`` is the command that regenerates the file, named in the message.
    """
    if "--check" in argv:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run python {script}", file=sys.stderr)
            return 1
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0
