"""Recognise a media file from its first bytes: type, and dimensions or duration when cheap.

Only the container headers are read; nothing is decoded. Unknown formats fall back to the
file name's extension.
"""

from __future__ import annotations

import mimetypes
import struct
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import mmap


@attrs.frozen
class Sniffed:
    mime_type: str | None
    width: int | None = None
    height: int | None = None
    duration: float | None = None


def sniff(head: bytes, filename: str | None = None) -> Sniffed:
    """Identify ``head`` (the first bytes of a file; 64 KiB is plenty for images).

    MP4/QuickTime durations need the ``moov`` box, which may sit at the end of a file;
    :func:`mp4_duration` takes the whole file when that matters.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return Sniffed("image/png", width, height)
    if head.startswith(b"\xff\xd8"):
        width, height = _jpeg_size(head)
        return Sniffed("image/jpeg", width, height)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return Sniffed("image/gif", width, height)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image/webp", *_webp_size(head))
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        mime = "video/quicktime" if brand == b"qt  " else "video/mp4"
        if brand in (b"avif", b"avis"):
            mime = "image/avif"
        if brand in (b"heic", b"heix", b"mif1"):
            mime = "image/heic"
        return Sniffed(mime, duration=mp4_duration(head))
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed("video/webm")
    if head.startswith(b"%PDF-"):
        return Sniffed("application/pdf")
    guessed = mimetypes.guess_type(filename)[0] if filename else None
    return Sniffed(guessed)


def _jpeg_size(data: bytes) -> tuple[int | None, int | None]:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None, None


def _webp_size(data: bytes) -> tuple[int | None, int | None]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None, None


def mp4_duration(data: bytes | mmap.mmap) -> float | None:
    """Duration in seconds from the ``moov/mvhd`` box, or ``None`` when not in ``data``.

    ``data`` may be a memory map of the file, so a large video is not read into memory.
    A damaged or truncated file gives ``None``, never an error.
    """
    moov = _find_box(data, b"moov", 0, len(data))
    if moov is None:
        return None
    mvhd = _find_box(data, b"mvhd", moov[0], moov[1])
    if mvhd is None or mvhd[0] >= mvhd[1]:
        return None
    start = mvhd[0]
    version = data[start]
    try:
        if version == 1:
            timescale, duration = struct.unpack(">IQ", data[start + 20 : start + 32])
        else:
            timescale, duration = struct.unpack(">II", data[start + 12 : start + 20])
    except struct.error:
        return None
    return duration / timescale if timescale else None


def _find_box(data: bytes | mmap.mmap, kind: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(payload start, payload end) of the first box of ``kind`` between start and end."""
    i = start
    while i + 8 <= end:
        size, box = struct.unpack(">I4s", data[i : i + 8])
        header = 8
        if size == 1 and i + 16 <= end:
            (size,) = struct.unpack(">Q", data[i + 8 : i + 16])
            header = 16
        elif size == 0:
            size = end - i
        if size < header:
            return None
        if box == kind:
            return i + header, min(i + size, end)
        i += size
    return None
