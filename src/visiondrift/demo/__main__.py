"""``python -m visiondrift.demo``: run the demo."""

import sys

from visiondrift.demo._run import main

sys.exit(main())
