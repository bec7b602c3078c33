"""Images under any fsspec URL: ``s3://bucket/prefix``, ``gs://``, ``https://`` directory
listings, ``memory://``, ``file://``.

The tree is listed one directory (one prefix) at a time, like a local folder
(:class:`~visiondrift.sources._tree.TreeSource`), and each object's bytes are read where it is
decoded. Credentials come from the URL's file system: the environment or the standard provider
chain (for S3: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, profiles, instance roles;
``AWS_ENDPOINT_URL`` for an S3-compatible server), or ``storage_options``. They are never
recorded: locations and paths are stored without a URL's password (:func:`redact_url`), and
error messages are scrubbed the same way.

Imports: the standard library, fsspec (when a source is made, not when this module is imported)
and the other modules of :mod:`visiondrift.sources`. Protocols beyond ``file``, ``memory`` and
``http(s)`` need their fsspec implementation (s3fs, gcsfs...): ``pip install
'visiondrift[remote]'`` installs s3fs and aiohttp.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from visiondrift.errors import MissingExtraError, SourceError
from visiondrift.sources._base import Item, LabelMode, redact_error, redact_url
from visiondrift.sources._tree import Entry, TreeSource

__all__ = ["FsspecSource"]


@dataclass(frozen=True, slots=True, repr=False)
class _RemoteFile:
    """Reads one object through its file system (picklable: fsspec file systems pickle by the
    arguments that made them, so a worker process opens its own connection)."""

    fs: Any
    path: str

    def __call__(self) -> bytes:
        try:
            data = self.fs.cat_file(self.path)
        except Exception as err:  # the file system's own error, whose message may hold the URL
            safe = redact_error(err)
            if safe is err:
                raise
            raise safe from None  # the original names the URL with its password
        return bytes(data)

    def __repr__(self) -> str:
        return f"_RemoteFile({redact_url(self.path)!r})"


def _message(err: BaseException) -> str:
    return redact_url(f"{type(err).__name__}: {err}")


class FsspecSource(TreeSource):
    """All images under an fsspec URL, recursively, as a folder is read.

    Parameters
    ----------
    url
        ``protocol://location``: ``s3://bucket/prefix``, ``gs://bucket/prefix``, an
        ``https://`` page listing files (a web server's directory index), ``memory://dir``,
        ``file:///abs/dir``...
    labels, max_images, seed
        As for :class:`~visiondrift.sources.FolderSource`.
    storage_options
        Keyword arguments of the file system (e.g. ``{"anon": True}`` for a public bucket);
        credentials are better left to the environment.

    Examples
    --------
    >>> import fsspec
    >>> fs = fsspec.filesystem("memory")
    >>> fs.pipe({"/doc/cat/1.png": b"a", "/doc/dog/2.png": b"b"})
    >>> [(item.key, item.label) for item in FsspecSource("memory://doc")]
    [('cat/1.png', 'cat'), ('dog/2.png', 'dog')]
    >>> FsspecSource("memory://doc").items[0].path
    'memory:///doc/cat/1.png'
    """

    def __init__(
        self,
        url: str,
        *,
        labels: LabelMode = "auto",
        max_images: int | None = None,
        seed: int = 0,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(labels=labels, max_images=max_images, seed=seed)
        self.url = str(url)
        self._location = redact_url(self.url)
        try:
            import fsspec
        except ImportError as err:  # pragma: no cover - fsspec is a core dependency
            raise MissingExtraError(
                "Reading URLs needs fsspec: pip install 'visiondrift[remote]'"
            ) from err
        try:
            fs, root = fsspec.core.url_to_fs(self.url, **dict(storage_options or {}))
        except ImportError as err:
            raise MissingExtraError(
                f"Reading '{self._location}' needs the file system of its protocol: "
                f"{redact_url(str(err))} (pip install 'visiondrift[remote]' gives s3:// and "
                "https://)."
            ) from redact_error(err)
        except (ValueError, TypeError) as err:
            raise SourceError(
                f"Cannot read the URL '{self._location}': {_message(err)}"
            ) from redact_error(err)
        self._fs = fs
        self._root = str(root).rstrip("/") or str(root)
        protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
        #: A web server lists a folder at its URL with the trailing slash (links are relative).
        self._slash = bool({"http", "https"} & set(protocols))

    @property
    def location(self) -> str:
        return self._location

    def _full(self, rel: str) -> str:
        return f"{self._root}/{rel}" if rel else self._root

    def _list(self, rel_dir: str) -> list[Entry] | None:
        directory = self._full(rel_dir)
        try:
            listed = self._fs.ls(directory + "/" if self._slash else directory, detail=True)
        except Exception as err:  # any file system's own error (HTTP, S3, permissions...)
            if not rel_dir:
                if isinstance(err, FileNotFoundError):
                    raise SourceError(
                        f"Nothing found at '{self._location}': check the URL and the bucket or "
                        "prefix."
                    ) from redact_error(err)
                raise SourceError(
                    f"Cannot list '{self._location}': {_message(err)}. Check the URL and the "
                    "credentials in the environment."
                ) from redact_error(err)
            self.unreadable.append((f"{rel_dir}/", f"cannot list the folder: {_message(err)}"))
            return None
        prefix = directory.rstrip("/") + "/"
        out: dict[str, Entry] = {}
        for entry in listed:
            name = str(entry.get("name", ""))
            is_dir = entry.get("type") == "directory"
            if not name.startswith(prefix):  # a parent link of a web page, or the entry itself
                continue
            base = name[len(prefix) :].rstrip("/")
            if not base or "/" in base or base.startswith(".") or base.startswith("?"):
                continue
            out[base] = Entry(base, is_dir or out.get(base, Entry(base, False)).is_dir)
        if not rel_dir and not out and not self._fs.isdir(directory):
            raise SourceError(
                f"'{self._location}' is not a folder or prefix with files in it. Pass the URL "
                "of a folder, a bucket prefix or a web page listing images."
            )
        return self._sorted(list(out.values()))

    def _item(self, rel: str, label: str | None) -> Item:
        full = self._full(rel)
        shown = full if "://" in full else self._fs.unstrip_protocol(full)
        return Item(
            key=rel,
            path=redact_url(shown),
            label=label,
            opener=_RemoteFile(self._fs, full),
        )
