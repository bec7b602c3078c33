"""Write docs/schema/profile.schema.json from the code (run after changing the profile format).

``python scripts/profile_schema.py --check`` exits 1 when the committed file is out of date (a
test does the same comparison).
"""

from __future__ import annotations

import sys
from pathlib import Path

from visiondrift.profiles.schema import render_profile_schema

TARGET = Path(__file__).resolve().parent.parent / "docs" / "schema" / "profile.schema.json"


def main() -> int:
    text = render_profile_schema()
    if "--check" in sys.argv[1:]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run python scripts/profile_schema.py", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
