from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import socialkit
from socialkit.models._sniff import mp4_duration, sniff
from tests.conftest import PNG_1x1


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_media_store_is_content_addressed(media_store: socialkit.LocalMediaStore) -> None:
    a = media_store.put_bytes(_png(40, 30), alt_text="a")
    b = media_store.put_bytes(_png(40, 30))
    assert a.sha256 == b.sha256 == hashlib.sha256(_png(40, 30)).hexdigest()
    assert (a.mime_type, a.width, a.height) == ("image/png", 40, 30)
    assert media_store.read_bytes(a) == _png(40, 30)
    assert media_store.contains(a.sha256)


def test_media_from_path_detects_type_from_bytes_not_name(
    tmp_path: Path, media_store: socialkit.LocalMediaStore
) -> None:
    path = tmp_path / "misnamed.jpg"
    path.write_bytes(PNG_1x1)
    media = socialkit.Media.from_path(path, alt_text="dot", store=media_store)
    assert media.mime_type == "image/png"
    assert media.filename == "misnamed.jpg"
    assert media.size == len(PNG_1x1)


def test_missing_file_is_a_clear_error(media_store: socialkit.LocalMediaStore) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.png"):
        media_store.put_path("nope.png")


def test_store_limit_is_enforced(tmp_path: Path) -> None:
    store = socialkit.LocalMediaStore(tmp_path, max_bytes=10)
    with pytest.raises(ValueError, match="exceeds the store limit 10"):
        store.put_bytes(b"x" * 11)
    assert list(tmp_path.rglob("*")) == []


def test_truncated_bytes_are_detected(media_store: socialkit.LocalMediaStore) -> None:
    media = media_store.put_bytes(PNG_1x1)
    media_store.path(media).write_bytes(PNG_1x1[:10])
    with pytest.raises(OSError, match="expected"):
        media_store.read_bytes(media)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            b"\xff\xc0\x00\x11\x08\x00\x20\x00\x40\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01",
            ("image/jpeg", 64, 32),
        ),
        (b"GIF89a\x05\x00\x07\x00" + b"\x00" * 10, ("image/gif", 5, 7)),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 12, ("video/mp4", None, None)),
    ],
)
def test_sniffing(head: bytes, expected: tuple[str, int | None, int | None]) -> None:
    found = sniff(head)
    assert (found.mime_type, found.width, found.height) == expected


def test_mp4_duration_from_mvhd() -> None:
    mvhd_payload = (
        b"\x00" + b"\x00" * 3 + b"\x00" * 8 + struct.pack(">II", 1000, 12_500) + b"\x00" * 80
    )
    mvhd = struct.pack(">I4s", 8 + len(mvhd_payload), b"mvhd") + mvhd_payload
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    ftyp = struct.pack(">I4s", 16, b"ftyp") + b"isom\x00\x00\x02\x00"
    found = sniff(ftyp + moov)
    assert found.mime_type == "video/mp4"
    assert found.duration == pytest.approx(12.5)


def _mp4(seconds: float, *, padding: int = 0) -> bytes:
    """A minimal MP4: ftyp, an ``mdat`` of ``padding`` bytes, then moov/mvhd at the end."""
    mvhd_payload = b"\x00" * 12 + struct.pack(">II", 1000, int(seconds * 1000)) + b"\x00" * 80
    mvhd = struct.pack(">I4s", 8 + len(mvhd_payload), b"mvhd") + mvhd_payload
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    ftyp = struct.pack(">I4s", 16, b"ftyp") + b"isom\x00\x00\x02\x00"
    mdat = struct.pack(">I4s", 8 + padding, b"mdat") + b"\x00" * padding
    return ftyp + mdat + moov


def test_a_video_duration_at_the_end_of_a_large_file_is_found(
    media_store: socialkit.LocalMediaStore, tmp_path: Path
) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(_mp4(7.25, padding=200_000))  # moov far past the 64 KiB head
    media = media_store.put_path(path)
    assert (media.mime_type, media.duration) == ("video/mp4", pytest.approx(7.25))


@pytest.mark.parametrize(
    "data",
    [
        struct.pack(">I4s", 16, b"moov") + struct.pack(">I4s", 8, b"mvhd"),  # empty mvhd
        struct.pack(">I4s", 20, b"moov") + struct.pack(">I4s", 12, b"mvhd") + b"\x01\x00",
        struct.pack(">I4s", 1, b"moov"),  # a 64-bit size that is not there
    ],
)
def test_a_damaged_mp4_has_no_duration_rather_than_an_error(data: bytes) -> None:
    assert mp4_duration(data) is None


@pytest.fixture
def media_server() -> Iterator[str]:
    """A loopback server: ``/pic`` is a 40x30 PNG (named ``application/octet-stream``),
    ``/big`` 4096 bytes, anything else 404."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            body = {"/pic": _png(40, 30), "/big": b"\x00" * 4096}.get(path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_media_from_url_is_stored_and_sniffed(
    media_server: str, media_store: socialkit.LocalMediaStore
) -> None:
    media = socialkit.Media.from_url(f"{media_server}/pic?sig=1", alt_text="a", store=media_store)
    assert media.sha256 == hashlib.sha256(_png(40, 30)).hexdigest()
    assert (media.mime_type, media.width, media.height) == ("image/png", 40, 30)
    assert (media.filename, media.alt_text) == ("pic", "a")
    assert media_store.read_bytes(media) == _png(40, 30)


def test_a_failed_download_is_one_line_without_the_query(media_server: str, tmp_path: Path) -> None:
    store = socialkit.LocalMediaStore(tmp_path / "media", max_bytes=1000)
    with pytest.raises(OSError, match="HTTP 404") as missing:
        store.put_url(f"{media_server}/gone.png?X-Amz-Signature=secret-sig")
    assert str(missing.value) == f"could not download {media_server}/gone.png: HTTP 404 Not Found"
    with pytest.raises(ValueError, match="size 4096 bytes exceeds the store limit 1000"):
        store.put_url(f"{media_server}/big")
    with pytest.raises(ValueError, match="must be an http"):
        store.put_url("file:///etc/passwd")
    with pytest.raises(OSError, match="ConnectError") as refused:
        store.put_url("http://127.0.0.1:1/x.png?token=secret-sig")
    message = str(refused.value)
    assert message.startswith("could not download http://127.0.0.1:1/x.png: ConnectError")
    assert "\n" not in message
    assert "secret-sig" not in message
    # nothing half-written is left behind
    assert [p.name for p in (tmp_path / "media").iterdir()] == []
