"""Draws the page's app icons (web/icons/icon-{192,512}.png): nested squares, a network
inside a network, in the page's accent colour. Standard library only.

    python3 tools/make_icons.py web/icons
"""
import struct
import sys
import zlib
from pathlib import Path

ACCENT = (0x2F, 0x6F, 0xDE)
WHITE = (0xFF, 0xFF, 0xFF)


def pixel(x: float, y: float) -> tuple:
    """The colour at (x, y) in [0, 1]^2: white rings on the accent, every 0.1 from the centre."""
    d = max(abs(x - 0.5), abs(y - 0.5))  # distance to the centre in the square (L-inf) norm
    ring = d * 10 % 1.0
    return WHITE if d < 0.42 and 0.55 < ring < 0.85 else ACCENT


def png(size: int) -> bytes:
    rows = b"".join(
        b"\x00" + bytes(c for x in range(size) for c in pixel((x + 0.5) / size, (y + 0.5) / size))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "web/icons")
    out.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (out / f"icon-{size}.png").write_bytes(png(size))
