"""Just enough PNG decoding (stdlib zlib) to tell a rendered page from a blank screenshot.

Chromium writes 8-bit RGB or RGBA, non-interlaced; anything else is reported, not guessed at.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel at bit depth 8


@dataclass(frozen=True, slots=True)
class Image:
    """Decoded pixels: ``rows[y]`` holds ``width * channels`` bytes."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> tuple[int, ...]:
        start = x * self.channels
        return tuple(self.rows[y][start : start + 3])


def read_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk."""
    if data[:8] != SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def decode(data: bytes) -> Image:
    """All pixels of an 8-bit RGB(A) PNG."""
    width, height = read_size(data)
    bit_depth, colour_type, interlace = data[24], data[25], data[28]
    if bit_depth != 8 or colour_type not in CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {bit_depth}, colour {colour_type}")
    channels = CHANNELS[colour_type]
    raw = zlib.decompress(b"".join(_chunks(data, b"IDAT")))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(
            raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels
        )
        rows.append(row)
        previous = row
    return Image(width, height, channels, rows)


def _chunks(data: bytes, kind: bytes) -> list[bytes]:
    found, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        if data[offset + 4 : offset + 8] == kind:
            found.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return found


def _unfilter(kind: int, row: bytearray, above: bytes, bpp: int) -> bytes:
    if kind == 0:
        return bytes(row)
    if kind == 2:  # Up: the common case for screenshots, done without a Python loop per byte
        return bytes((a + b) & 0xFF for a, b in zip(row, above, strict=True))
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        up = above[i]
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            corner = above[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + _paeth(left, up, corner)) & 0xFF
        else:
            raise ValueError(f"unknown PNG filter {kind}")
    return bytes(row)


def _paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
    if pa <= pb and pa <= pc:
        return left
    return up if pb <= pc else corner
