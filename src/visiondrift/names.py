"""What a profile records of file names and locations: keep them, hash them, or drop them.

In a clinic a file name often carries a patient identifier (``patient_4711_smith.jpg``) and a
folder name a ward or a date. The ``names`` setting decides what a profile, and every report made
from it, records of them:

- ``"keep"`` (the default): each image's name relative to the folder given (or its line in a list
  file), and the source's location as given.
- ``"hash"``: each name is replaced by a keyed hash, the first :data:`HASH_HEX_DIGITS` hex digits
  of HMAC-SHA256(key, name as UTF-8). The key comes from the user, by reference (an environment
  variable or a key file), and is never stored or printed; so the same file gets the same hash in
  every run made with the same key, and nobody without the key can tell which file it is or test
  a guess. :func:`hash_name` computes the hash of a name, to find a file the gallery points at.
- ``"drop"``: no name at all; images are numbered by their position in the sorted listing
  (``#17``), which says nothing about the file.

With ``"hash"`` or ``"drop"`` the source's location is recorded as :data:`REDACTED`, or relative
to a root the user names (``names_root``); the per-image sampling key is derived from the hashed
name (``hash``) or from the image's own stored measurements (``drop``) instead of its path; the
detail of an unusable file has every part of its path removed; and folder names become labels only
when asked for explicitly (``labels="imagefolder"``), never by the ``"auto"`` guess.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, Literal

from visiondrift.errors import ConfigError
from visiondrift.sources import ImageItem

__all__ = [
    "DEFAULT_KEY_ENV",
    "HASH_HEX_DIGITS",
    "MIN_KEY_BYTES",
    "NAME_POLICIES",
    "REDACTED",
    "NamePolicy",
    "NamesKey",
    "anonymise",
    "check_policy",
    "hash_name",
    "record_location",
    "recorded_names",
    "redact_command",
    "scrub_detail",
    "thumbnail_paths",
]

NamePolicy = Literal["keep", "hash", "drop"]
NAME_POLICIES: Final = ("keep", "hash", "drop")
#: Hex digits kept of the HMAC-SHA256 of a name (64 bits: collisions are negligible below
#: billions of images, and the hash stays short enough to read in a gallery).
HASH_HEX_DIGITS: Final = 16
#: Shortest key accepted for ``names="hash"`` (128 bits).
MIN_KEY_BYTES: Final = 16
#: Environment variable read for the key when no other reference is given.
DEFAULT_KEY_ENV: Final = "VISIONDRIFT_NAMES_KEY"
#: What a location or a command line becomes when it may not be recorded.
REDACTED: Final = "<redacted>"
#: Parts of a path shorter than this are not scrubbed from error details (they would garble
#: the text and identify nobody).
MIN_SCRUBBED_PART: Final = 3


@dataclass(frozen=True)
class NamesKey:
    """The secret key of ``names="hash"``. Its repr never shows the key.

    Build one from a reference with :meth:`from_env` or :meth:`from_file`.
    """

    secret: bytes = field(repr=False)
    #: Where the key came from (an environment variable's or a file's name), for messages.
    origin: str = "<bytes>"

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) < MIN_KEY_BYTES:
            size = len(self.secret) if isinstance(self.secret, bytes) else "no"
            raise ConfigError(
                f"The key for hashing names ({self.origin}) must be at least {MIN_KEY_BYTES} "
                f"bytes long; it has {size} bytes. Generate one with: "
                'python -c "import secrets; print(secrets.token_hex(32))".'
            )

    def __repr__(self) -> str:
        return f"NamesKey(origin={self.origin!r}, secret=<hidden>)"

    @classmethod
    def from_env(cls, variable: str = DEFAULT_KEY_ENV) -> NamesKey:
        """The key held by the environment variable ``variable`` (its text, UTF-8)."""
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(
                f"names='hash' needs a secret key, and the environment variable {variable!r} "
                'is not set. Set it (for example to the output of python -c "import secrets; '
                'print(secrets.token_hex(32))"), or name another variable or a key file '
                "(--names-key-env VAR, --names-key-file FILE). Keep the same key for every run "
                "so that the same file gets the same hash."
            )
        return cls(value.strip().encode("utf-8"), origin=f"environment variable {variable!r}")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> NamesKey:
        """The key held by the file ``path`` (its bytes, without a trailing line break)."""
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            raise ConfigError(
                f"Cannot read the key file for hashing names '{path}': "
                f"{err.strerror or err}. Pass a readable file holding the secret key."
            ) from err
        return cls(data.strip(), origin=f"key file '{Path(path).name}'")


def check_policy(names: object) -> NamePolicy:
    """``names`` if it is one of ``keep``, ``hash``, ``drop``; else a :class:`ConfigError`."""
    if names == "keep" or names == "hash" or names == "drop":
        return names
    raise ConfigError(
        f"The 'names' option must be one of {list(NAME_POLICIES)}. Got {names!r} instead."
    )


def hash_name(name: str, key: NamesKey | bytes) -> str:
    """The keyed hash recorded for an image named ``name`` with ``names="hash"``.

    ``name`` is the image's path relative to the folder profiled (``/``-separated), or its line
    in a list file.

    Examples
    --------
    >>> hash_name("ward3/patient_4711.jpg", b"0123456789abcdef0123")
    'd7e341a996339353'
    """
    secret = key.secret if isinstance(key, NamesKey) else NamesKey(key).secret
    digest = hmac.new(secret, name.encode("utf-8", "surrogateescape"), hashlib.sha256)
    return digest.hexdigest()[:HASH_HEX_DIGITS]


def _position(index: int) -> str:
    return f"#{index + 1}"


def recorded_names(
    names: Sequence[str], policy: NamePolicy, key: NamesKey | None = None
) -> list[str]:
    """What is recorded for each of ``names`` (in listing order) under ``policy``."""
    if policy == "keep":
        return list(names)
    if policy == "drop":
        return [_position(i) for i in range(len(names))]
    if key is None:
        raise ConfigError(
            "names='hash' needs a secret key: pass names_key=NamesKey.from_env('VAR') or "
            "NamesKey.from_file('key.txt') (on the command line --names-key-env VAR or "
            "--names-key-file FILE)."
        )
    return [hash_name(n, key) for n in names]


def record_location(
    location: str, policy: NamePolicy, root: str | os.PathLike[str] | None = None
) -> str:
    """The source location recorded: relative to ``root`` if given, else kept or redacted."""
    if root is not None:
        base = Path(root).resolve()
        target = Path(location).resolve()
        try:
            rel = target.relative_to(base)
        except ValueError as err:
            raise ConfigError(
                "The 'names_root' option must be a folder that contains the data: the data is "
                "not inside it. Pass a parent folder of the data (--names-root DIR)."
            ) from err
        return rel.as_posix() or "."
    return location if policy == "keep" else REDACTED


def scrub_detail(detail: str, secrets: Iterable[str]) -> str:
    """``detail`` with every occurrence of each of ``secrets`` (and of its path parts) removed."""
    parts: set[str] = set()
    for text in secrets:
        parts.add(text)
        for piece in Path(text).parts:
            parts.add(piece)
            parts.add(Path(piece).stem)
    for part in sorted(parts, key=len, reverse=True):
        if len(part) >= MIN_SCRUBBED_PART:
            detail = detail.replace(part, REDACTED)
    return detail


def redact_command(argv: Sequence[str]) -> str:
    """A command line with every value but the sub-command replaced by :data:`REDACTED`.

    Option names stay (``--alpha``), so the page still shows how the run was made; their values
    and the positional arguments (folders, files) may name patients and are not recorded.
    """
    out: list[str] = []
    for i, arg in enumerate(argv):
        if i == 0 and not arg.startswith("-"):
            out.append(arg)
        elif arg.startswith("-"):
            out.append(arg.split("=", 1)[0] + ("=" + REDACTED if "=" in arg else ""))
        else:
            out.append(REDACTED)
    return " ".join(["visiondrift", *out])


def thumbnail_paths(
    image_root: str | os.PathLike[str], policy: NamePolicy, key: NamesKey | None
) -> Mapping[str, str] | None:
    """Recorded name -> file under ``image_root``, to find thumbnails of hashed names.

    ``None`` when the files cannot be found from what the report holds: with ``"drop"`` (a
    position says nothing about the file) or with ``"hash"`` and no key.
    """
    if policy == "keep":
        return None
    if policy == "drop" or key is None:
        return None
    from visiondrift.sources import FolderSource

    items = FolderSource(image_root, labels="none").items
    hashed = recorded_names([i.name for i in items], "hash", key)
    return {name: item.path for name, item in zip(hashed, items, strict=True)}


def anonymise(
    items: Sequence[ImageItem], policy: NamePolicy, key: NamesKey | None, *, start: int = 0
) -> list[ImageItem]:
    """``items`` with their names replaced as ``policy`` says (paths unchanged); ``start`` is the
    listing position of the first item (positions number a whole listing read in chunks)."""
    if policy == "keep":
        return list(items)
    if policy == "drop":
        new = [_position(start + i) for i in range(len(items))]
    else:
        new = recorded_names([i.name for i in items], policy, key)
    return [replace(item, key=name) for item, name in zip(items, new, strict=True)]
