"""``python -m visiondrift.cli``."""

from visiondrift.cli import main

main()
