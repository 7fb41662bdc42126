"""Draw the sample campaign's images as tiny, valid PNG files (standard library only).

The PNGs beside this script were made by it; it is deterministic, so running it again
gives the same bytes. Run: ``python make_images.py [DIRECTORY]`` (default: the current
directory).
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

Pixel = tuple[int, int, int]


def png(width: int, height: int, paint: Callable[[int, int], Pixel]) -> bytes:
    """An 8-bit RGB PNG of ``width`` x ``height`` whose pixel (x, y) is ``paint(x, y)``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type 0 (none) for every scanline
        for x in range(width):
            rows.extend(paint(x, y))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, truecolour
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def banner(x: int, y: int) -> Pixel:
    """A 3:1 launch banner: a warm gradient with a pale stripe across the middle."""
    if 20 <= y < 28:
        return (250, 240, 220)
    return (120 + x // 2, 60 + y, 40)


def beans(x: int, y: int) -> Pixel:
    """A square of coffee beans: dark brown dots on a cream background."""
    cx, cy = x % 16 - 8, y % 16 - 8
    if cx * cx * 2 + cy * cy < 40:
        return (90, 50, 25)
    return (245, 235, 215)


def cup(x: int, y: int) -> Pixel:
    """A cup seen from above: a brown circle in a white ring on blue."""
    d = (x - 32) ** 2 + (y - 32) ** 2
    if d < 18**2:
        return (110, 70, 40)
    if d < 24**2:
        return (255, 255, 255)
    return (70, 130, 180)


IMAGES: dict[str, tuple[int, int, Callable[[int, int], Pixel]]] = {
    "banner.png": (144, 48, banner),
    "beans.png": (64, 64, beans),
    "cup.png": (64, 64, cup),
}


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path.cwd()
    out.mkdir(parents=True, exist_ok=True)
    for name, (width, height, paint) in IMAGES.items():
        data = png(width, height, paint)
        (out / name).write_bytes(data)
        print(f"{out / name}: {width}x{height}, {len(data)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
