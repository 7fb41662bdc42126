"""Content-addressed storage for media bytes.

A :class:`MediaStore` keeps bytes under their sha256, so a post names its media by hash
and every worker, on any machine that shares the store, publishes the same file.
:class:`LocalMediaStore` (a directory) is the default; an application can supply its own
(an object store, say) by implementing the protocol.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from socialkit.errors import ConfigError
from socialkit.models._sniff import mp4_duration, sniff
from socialkit.models.media import Media

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "LocalMediaStore",
    "MediaMismatch",
    "MediaStore",
    "default_media_store",
    "set_default_media_store",
]

_CHUNK = 1 << 20


class MediaMismatch(OSError):
    """The store holds other bytes under a media's hash than the media describes (a
    truncated or replaced file). Reading again cannot mend it: the media must be added
    again. A subclass of :class:`OSError`, so code catching read errors still catches it.
    """


@runtime_checkable
class MediaStore(Protocol):
    """Where media bytes live, addressed by sha256.

    Implementations must be safe to share between threads, and ``put_*`` must be
    idempotent: adding the same bytes twice gives an equal :class:`Media`.
    """

    def put_bytes(
        self,
        data: bytes,
        *,
        mime_type: str | None = None,
        filename: str | None = None,
        alt_text: str | None = None,
    ) -> Media:
        """Store ``data`` and describe it."""
        ...

    def put_path(self, path: str | Path, *, alt_text: str | None = None) -> Media:
        """Store the file at ``path`` and describe it."""
        ...

    def put_url(self, url: str, *, alt_text: str | None = None) -> Media:
        """Download ``url``, store it and describe it."""
        ...

    def contains(self, sha256: str) -> bool:
        """True when the bytes for ``sha256`` are present."""
        ...

    def read_bytes(self, media: Media) -> bytes:
        """The bytes of ``media``.

        Raises ``FileNotFoundError`` when absent and :class:`MediaMismatch` when the
        stored bytes are not the ones ``media`` describes (another size, say).
        """
        ...

    def open(self, media: Media) -> BinaryIO:
        """A binary file object over the bytes of ``media``."""
        ...


class LocalMediaStore:
    """A media store in a local directory: ``<root>/<ab>/<cd>/<sha256>``.

    Writes go to a temporary file in the same directory and are renamed into place, so a
    crash never leaves a partial file under a valid name. Reads verify the size.

    Args:
        root: the directory; created on first write.
        max_bytes: refuse files larger than this (default 1 GiB).
    """

    def __init__(self, root: str | Path, *, max_bytes: int = 1 << 30) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"LocalMediaStore({str(self.root)!r})"

    def _path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def path(self, media: Media) -> Path:
        """The local path of ``media``'s bytes (they may not exist)."""
        return self._path_for(media.sha256)

    def contains(self, sha256: str) -> bool:
        return self._path_for(sha256.lower()).is_file()

    def put_bytes(
        self,
        data: bytes,
        *,
        mime_type: str | None = None,
        filename: str | None = None,
        alt_text: str | None = None,
    ) -> Media:
        self._check_size(len(data), filename or "bytes")
        digest = hashlib.sha256(data).hexdigest()
        target = self._path_for(digest)
        if not target.is_file():
            self._write_atomically(target, iter([data]))
        return self._describe(
            digest, len(data), data[: 1 << 16], data, mime_type, filename, alt_text
        )

    def put_path(self, path: str | Path, *, alt_text: str | None = None) -> Media:
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"media file not found: {source}")
        size = source.stat().st_size
        self._check_size(size, str(source))
        hasher = hashlib.sha256()
        with source.open("rb") as fh:
            head = fh.read(1 << 16)
            hasher.update(head)
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                hasher.update(chunk)
        digest = hasher.hexdigest()
        target = self._path_for(digest)
        if not target.is_file():
            with source.open("rb") as fh:
                self._write_atomically(target, iter(lambda: fh.read(_CHUNK), b""))
        return self._describe(digest, size, head, None, None, source.name, alt_text, target)

    def put_url(self, url: str, *, alt_text: str | None = None) -> Media:
        """Download ``url`` (redirects followed, 30 s timeout) into the store.

        Raises:
            ValueError: ``url`` is not an http(s) address, or the file is larger than
                ``max_bytes``.
            OSError: the download failed (an HTTP error status, a network error); the
                one-line message names the address without its query, which may hold a
                signature.
        """
        import httpx

        shown = _without_query(url)
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"media url must be an http(s) address (got {shown!r})")
        hasher = hashlib.sha256()
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            with (
                httpx.Client(follow_redirects=True, timeout=30.0) as client,
                client.stream("GET", url) as response,
            ):
                if response.is_error:
                    raise OSError(
                        f"could not download {shown}: HTTP {response.status_code} "
                        f"{response.reason_phrase}".rstrip()
                    )
                fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".download-")
                size = 0
                head = b""
                try:
                    with os.fdopen(fd, "wb") as out:
                        for chunk in response.iter_bytes(_CHUNK):
                            size += len(chunk)
                            self._check_size(size, shown)
                            if len(head) < 1 << 16:
                                head += chunk[: (1 << 16) - len(head)]
                            hasher.update(chunk)
                            out.write(chunk)
                        out.flush()
                        os.fsync(out.fileno())
                    digest = hasher.hexdigest()
                    target = self._path_for(digest)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(tmp_name, target)
                except BaseException:
                    Path(tmp_name).unlink(missing_ok=True)
                    raise
                header_type = response.headers.get("content-type", "").split(";")[0].strip() or None
        except httpx.HTTPError as exc:
            reason = " ".join(str(exc).split()) or "no answer"
            raise OSError(f"could not download {shown}: {type(exc).__name__}: {reason}") from None
        filename = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or None
        return self._describe(digest, size, head, None, header_type, filename, alt_text, target)

    def read_bytes(self, media: Media) -> bytes:
        data = self._existing(media).read_bytes()
        if len(data) != media.size:
            raise MediaMismatch(
                f"media {media.sha256} has {len(data)} bytes in the store, expected {media.size}"
            )
        return data

    def open(self, media: Media) -> BinaryIO:
        return self._existing(media).open("rb")

    def iter_chunks(self, media: Media, chunk_size: int = _CHUNK) -> Iterator[bytes]:
        """The bytes of ``media`` in chunks, for uploads that stream."""
        with self.open(media) as fh:
            yield from iter(lambda: fh.read(chunk_size), b"")

    def _existing(self, media: Media) -> Path:
        path = self._path_for(media.sha256)
        if not path.is_file():
            raise FileNotFoundError(
                f"media {media.sha256} ({media.filename or media.mime_type}) is not in {self!r}"
            )
        return path

    def _check_size(self, size: int, what: str) -> None:
        if size > self.max_bytes:
            raise ValueError(
                f"media {what}: size {size} bytes exceeds the store limit {self.max_bytes}"
            )

    def _write_atomically(self, target: Path, chunks: Iterator[bytes]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def _describe(
        self,
        digest: str,
        size: int,
        head: bytes,
        whole: bytes | None,
        mime_type: str | None,
        filename: str | None,
        alt_text: str | None,
        stored: Path | None = None,
    ) -> Media:
        found = sniff(head, filename)
        duration = found.duration
        detected = found.mime_type
        if duration is None and detected in ("video/mp4", "video/quicktime"):
            # The moov box often sits at the end of the file.
            if whole is not None:
                duration = mp4_duration(whole)
            elif stored is not None and size > 0:
                with (
                    stored.open("rb") as fh,
                    mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view,
                ):
                    duration = mp4_duration(view)
        return Media(
            sha256=digest,
            mime_type=detected or mime_type or "application/octet-stream",
            size=size,
            alt_text=alt_text,
            width=found.width,
            height=found.height,
            duration=duration,
            filename=filename,
        )


def _without_query(url: str) -> str:
    """``url`` without its query and fragment, for messages."""
    return url.split("?", 1)[0].split("#", 1)[0]


_default_lock = threading.Lock()
_default_store: MediaStore | None = None


def default_media_store() -> MediaStore:
    """The process-wide media store: ``$SOCIALKIT_MEDIA_DIR`` or ``./.socialkit/media``."""
    global _default_store
    with _default_lock:
        if _default_store is None:
            root = os.environ.get("SOCIALKIT_MEDIA_DIR") or os.path.join(".socialkit", "media")
            _default_store = LocalMediaStore(root)
        return _default_store


def set_default_media_store(store: MediaStore | str | Path | None) -> None:
    """Replace the process-wide media store (a store, a directory, or ``None`` to reset)."""
    global _default_store
    if store is not None and not isinstance(store, (str, Path, MediaStore)):
        raise ConfigError(f"not a media store: {store!r}")
    with _default_lock:
        _default_store = LocalMediaStore(store) if isinstance(store, (str, Path)) else store
