"""Real image files, good and bad, made on the spot for the upload tests."""

import io
import os
import struct
import zlib

from PIL import Image


def picture(fmt: str = "PNG", size=(400, 300), colour=(200, 40, 90), exif: bool = False) -> bytes:
    """A valid image in the given format."""
    image = Image.new("RGB", size, colour)
    output = io.BytesIO()
    options = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x0131] = "leaky-software"  # Software
        options["exif"] = data.tobytes()
    image.save(output, format=fmt, **options)
    return output.getvalue()


def noise_png(side: int) -> bytes:
    """A PNG of random pixels: it does not compress, so its size is about side * side * 3 bytes."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    output = io.BytesIO()
    image.save(output, format="PNG", compress_level=0)
    return output.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def hostile_png(side: int = 5000) -> bytes:
    """A side x side RGBA PNG (5000: 25 megapixels, 6.8 MB) whose alpha channel is sparse noise (one
    pixel in eight is 1): the costliest picture to re-encode we know of that fits the limits, since
    zlib's level 9 (PNG optimize=True) follows long match chains through it. Written by hand (no
    row filters, zlib level 1) to be made in about a second."""
    noise = os.urandom(side * side).translate(bytes(1 if byte < 32 else 0 for byte in range(256)))
    pixels = bytearray(b"\xc8\xc8\xc8\x00" * (side * side))
    pixels[3::4] = noise
    stride = side * 4
    rows = b"".join(b"\x00" + pixels[row * stride : (row + 1) * stride] for row in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlacing
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows, 1))
        + _png_chunk(b"IEND", b"")
    )


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas: a decompression bomb as far as the header goes."""
    data = bytearray(picture("PNG", size=(8, 8)))
    # IHDR starts after the 8-byte signature, 4-byte length and 4-byte type.
    data[16:24] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF
    data[29:33] = struct.pack(">I", crc)
    return bytes(data)


def truncated_png() -> bytes:
    """The start of a real PNG, cut off mid-stream."""
    full = noise_png(64)
    return full[: len(full) // 3]


GIF = picture("GIF")
TEXT_AS_PNG = b"this is not a picture at all\n" * 10
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
