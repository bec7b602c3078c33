"""Write docs/schema/profile.schema.json from the code (run after changing the profile format).

``python scripts/profile_schema.py --check`` exits 1 when the committed file is out of date (a
test does the same comparison).
"""

from __future__ import annotations

import sys
from pathlib import Path

from _generated import write_or_check

from visiondrift.profiles.schema import render_profile_schema

TARGET = Path(__file__).resolve().parent.parent / "docs" / "schema" / "profile.schema.json"


def main() -> int:
    return write_or_check(
        TARGET, render_profile_schema(), sys.argv[1:], "scripts/profile_schema.py"
    )


if __name__ == "__main__":
    raise SystemExit(main())
