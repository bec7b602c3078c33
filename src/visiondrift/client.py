"""A Python client of the visiondrift service (placeholder: filled in by the client work)."""

from __future__ import annotations

__all__: list[str] = []
