"""Where a posted ``source`` may be read from: under ``service.roots`` or ``service.url_prefixes``.

A client names a batch or a baseline by a ``source`` the *server* reads, so the service must
never read anything else. :func:`resolve_source` accepts

* a folder, or a predictions file (CSV / JSON Lines / Parquet), that is under one of the
  configured roots once every symbolic link is resolved (a relative path is taken under each
  root in turn); a folder holding a symbolic link that leads out of the roots is refused
  whole;
* an fsspec URL that starts with one of the configured URL prefixes (at a ``/`` boundary).

and refuses, with a 422 problem naming the rule, everything else: ``..`` segments (also
percent-encoded, once or twice), NUL and other control characters, backslashes, paths outside
the roots (absolute or resolved), list files (their lines could name any file), URLs with
another scheme or prefix, and any source at all when no root and no prefix is configured.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from visiondrift.service._problems import ServiceProblem

if TYPE_CHECKING:
    from visiondrift.settings import ServiceSettings

__all__ = ["MAX_SOURCE_LENGTH", "resolve_source"]

#: The longest source accepted.
MAX_SOURCE_LENGTH = 2000
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: How many links a folder may hold before the check gives up (each is resolved).
_MAX_LINKS = 10_000


def _refuse(detail: str) -> ServiceProblem:
    return ServiceProblem(422, "Source not allowed", detail, slug="source-not-allowed")


def _decoded_forms(text: str) -> list[str]:
    """``text`` and its percent-decodings, until one no longer changes (at most 4)."""
    forms = [text]
    for _ in range(4):
        nxt = unquote(forms[-1])
        if nxt == forms[-1]:
            break
        forms.append(nxt)
    return forms


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise _refuse("The source is empty; give a folder under a root or an allowed URL.")
    if len(text) > MAX_SOURCE_LENGTH:
        raise _refuse(f"The source is longer than {MAX_SOURCE_LENGTH} characters.")
    for form in _decoded_forms(text):
        if _CONTROL.search(form):
            raise _refuse("The source holds a NUL or another control character.")
        if "\\" in form:
            raise _refuse("The source holds a backslash; separate folders with '/'.")
        if ".." in form.split("/"):
            raise _refuse(
                "The source holds a '..' segment (perhaps percent-encoded); name the folder "
                "without going up."
            )


def resolve_source(text: str, config: ServiceSettings) -> str:
    """The location the service may read for the posted ``text`` (a path or a URL).

    Raises
    ------
    ServiceProblem
        422 ``source-not-allowed`` when the source is outside what the settings allow.
    """
    _check_text(text)
    if _URL.match(text):
        return _url(text, config.url_prefixes)
    if "%" in text:
        raise _refuse("A folder name holds '%'; percent-encoding is for URLs only.")
    return _path(text, config.roots)


def _url(text: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        boundary = prefix.endswith("/") or text == prefix or text[len(prefix) :].startswith("/")
        if text.startswith(prefix) and boundary:
            return text
    allowed = ", ".join(prefixes) if prefixes else "none (service.url_prefixes is empty)"
    raise _refuse(
        f"The service may not read this URL: it reads URLs under {allowed}. Ask its operator "
        "to add the prefix to service.url_prefixes, or upload the images."
    )


def _path(text: str, roots: tuple[Path, ...]) -> str:
    if not roots:
        raise _refuse(
            "The service reads no folder (service.roots is empty): upload the images, or ask "
            "its operator to add a root."
        )
    real_roots = [Path(os.path.realpath(r)) for r in roots]
    given = Path(text)
    candidates = [given] if given.is_absolute() else [r / given for r in real_roots]
    if any(len(part.encode()) > 255 for part in given.parts):
        raise _refuse("A folder name in the source is longer than 255 bytes.")
    for candidate in candidates:
        try:
            real = Path(os.path.realpath(candidate))
            kind = "dir" if real.is_dir() else "file" if real.is_file() else None
        except OSError as err:
            raise _refuse(f"The source cannot be resolved: {err.strerror or err}.") from None
        inside = next((r for r in real_roots if real == r or real.is_relative_to(r)), None)
        if inside is None:
            continue
        if kind == "dir":
            _check_links(real, real_roots)
            return str(real)
        if kind == "file":
            return _file(real)
    if any(
        Path(os.path.realpath(c)).is_relative_to(r) or Path(os.path.realpath(c)) == r
        for c in candidates
        for r in real_roots
    ):
        raise _refuse(f"No folder or file '{text}' exists under the service's roots.")
    raise _refuse(
        f"The source '{text}' is not under one of the service's roots (service.roots); name "
        "a folder under one of them (relative paths are taken under each root)."
    )


def _file(real: Path) -> str:
    from visiondrift.app._inputs import is_predictions_source

    if is_predictions_source(real):
        return str(real)
    raise _refuse(
        f"The file '{real.name}' is not a predictions file (CSV, JSON Lines, Parquet); the "
        "service reads folders of images and predictions files, not list files."
    )


def _check_links(folder: Path, roots: list[Path]) -> None:
    """Refuse a folder that holds a symbolic link leading out of every root (links inside the
    roots are followed, as the profiler follows them, each real folder once)."""
    seen_links = 0
    visited = {os.path.realpath(folder)}
    for here, dirs, files in os.walk(folder, followlinks=True):
        for name in (*dirs, *files):
            path = Path(here) / name
            if not path.is_symlink():
                continue
            seen_links += 1
            if seen_links > _MAX_LINKS:
                raise _refuse(f"The folder holds more than {_MAX_LINKS} symbolic links.")
            target = Path(os.path.realpath(path))
            if not any(target == r or target.is_relative_to(r) for r in roots):
                raise _refuse(
                    f"The folder holds a symbolic link ('{path.relative_to(folder)}') that "
                    "leads out of the service's roots; remove it or copy what it points to."
                )
        kept = []
        for name in dirs:
            real = os.path.realpath(Path(here) / name)
            if real not in visited:
                visited.add(real)
                kept.append(name)
        dirs[:] = kept
