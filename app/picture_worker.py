"""Decoding and re-encoding uploaded pictures, in a process of its own.

app.services.pictures runs this file as `python -I app/picture_worker.py JOB CPU_SECONDS` for each
picture: the upload's bytes on stdin, one JSON line and the encoded bytes on stdout. The process
limits its own CPU time (the kernel ends it past CPU_SECONDS) and lowers its priority, so a hostile
picture can neither run for ever nor take the cores password hashing needs. It imports only the
standard library and Pillow (the app's imports would cost more than most pictures), so the app may
import it too, for the constants.
"""

import io
import json
import os
import resource
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

# Pictures are decoded only below this size: a small file claiming a huge canvas (a decompression
# bomb) is refused from its header, before any pixel is decoded.
UPLOAD_MAX_PIXELS = 25_000_000
TOO_MANY_PIXELS = "That picture has too many pixels (at most 25 megapixels)."
DAMAGED = "That picture is damaged and cannot be read."
AVATAR_FORMATS = ("PNG", "JPEG", "WEBP")
AVATAR_SIZE = 256
THUMBNAIL_SIZE = (320, 320)
# An animated GIF keeps its frames when all of them together stay under this many pixels (and
# frames); a bigger animation is stored as its first frame. Animated WebP and PNG keep their first.
ANIMATION_MAX_PIXELS = 50_000_000
ANIMATION_MAX_FRAMES = 500
# Encoder settings that cost what they must: zlib level 9 (PNG optimize=True) spends minutes on a
# crafted 25 MP picture, level 3 a second or two; JPEG's optimize=True triples its time for a few
# percent; WebP method 4 costs about twice method 1 (docs/decisions.md).
PNG_COMPRESS_LEVEL = 3
WEBP_METHOD = 1
# Below the server's priority: on a busy machine sign-ins and the event loop get the cores first.
NICENESS = 10


class Refused(Exception):
    """A picture we will not store; the message says why, for the uploader."""


@contextmanager
def checked_image(data: bytes, formats: tuple[str, ...], not_an_image: str) -> Iterator[Image.Image]:
    """Open `data` as an image of one of `formats` for decoding inside the with block.

    A canvas over UPLOAD_MAX_PIXELS (a decompression bomb) is refused from the header, before any
    pixel is decoded. Every failure, in the block too, becomes Refused: `not_an_image` when no
    format recognises the bytes, DAMAGED when the image cannot be decoded.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=formats) as image:
                width, height = image.size
                if width * height > UPLOAD_MAX_PIXELS:
                    raise Refused(TOO_MANY_PIXELS)
                yield image
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(TOO_MANY_PIXELS) from None
    except UnidentifiedImageError:
        raise Refused(not_an_image) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise Refused(DAMAGED) from None


def avatar(data: bytes) -> tuple[dict, list[bytes]]:
    """Crop a picture to a centred square of AVATAR_SIZE pixels, as WebP without metadata."""
    with checked_image(data, AVATAR_FORMATS, "That file is not a PNG, JPEG or WebP picture.") as image:
        image.seek(0)  # the first frame of an animation
        image.load()
        picture = ImageOps.exif_transpose(image)
        picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    square = ImageOps.fit(picture, (AVATAR_SIZE, AVATAR_SIZE), method=Image.Resampling.LANCZOS)
    output = io.BytesIO()
    square.save(output, format="WEBP", quality=85, method=4)  # a fresh image: no EXIF, ICC or XMP
    return {}, [output.getvalue()]


def _clean_frame(frame: Image.Image, mode: str | None = None) -> Image.Image:
    """A copy of a frame without metadata (EXIF, XMP, ICC, comments); transparency stays."""
    copy = frame.convert(mode) if mode and frame.mode != mode else frame.copy()
    copy.info = {key: value for key, value in frame.info.items() if key == "transparency" and copy.mode == frame.mode}
    return copy


def attachment(data: bytes, picture_format: str) -> tuple[dict, list[bytes]]:
    """Decode a picture sent in a chat and encode it again in the same format: the orientation
    applied to the pixels, metadata dropped; plus a WebP thumbnail."""
    output = io.BytesIO()
    with checked_image(data, (picture_format,), "That file is not a picture we can read.") as image:
        frames = getattr(image, "n_frames", 1)
        width, height = image.size
        animated = (
            picture_format == "GIF"
            and 1 < frames <= ANIMATION_MAX_FRAMES
            and frames * width * height <= ANIMATION_MAX_PIXELS
        )
        if animated:
            sequence, durations = [], []
            for frame in ImageSequence.Iterator(image):  # one pass: every frame decoded once
                sequence.append(_clean_frame(frame))
                durations.append(frame.info.get("duration", 100))
            first = sequence[0]
            first.save(
                output,
                format="GIF",
                save_all=True,
                append_images=sequence[1:],
                duration=durations,
                loop=image.info.get("loop", 0),
            )
        else:
            image.seek(0)
            image.load()
            first = ImageOps.exif_transpose(image)
            if picture_format == "JPEG":
                first = _clean_frame(first, first.mode if first.mode in ("L", "RGB") else "RGB")
                first.save(output, format="JPEG", quality=90)
            elif picture_format == "WEBP":
                first = _clean_frame(first, "RGBA" if "A" in first.getbands() else "RGB")
                first.save(output, format="WEBP", quality=90, method=WEBP_METHOD)
            elif picture_format == "GIF":
                first = _clean_frame(first)
                first.save(output, format="GIF")
            else:
                keep = first.mode in ("1", "L", "LA", "RGB", "RGBA", "P", "I;16")
                first = _clean_frame(first, None if keep else "RGBA")
                first.save(output, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        thumbnail = _thumbnail(first)
    return {"width": first.width, "height": first.height}, [output.getvalue(), thumbnail]


def _thumbnail(picture: Image.Image) -> bytes:
    """The picture fit within THUMBNAIL_SIZE as a WebP (never enlarged)."""
    small = picture.convert("RGBA" if "A" in picture.getbands() or "transparency" in picture.info else "RGB")
    small.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    output = io.BytesIO()
    small.save(output, format="WEBP", quality=80, method=4)
    return output.getvalue()


PREVIEW_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
PREVIEW_SIZE = (600, 600)


def preview(data: bytes) -> tuple[dict, list[bytes]]:
    """A link preview's image (fetched from another site): its first frame fit within PREVIEW_SIZE
    (never enlarged), as WebP without metadata."""
    with checked_image(data, PREVIEW_FORMATS, "That is not a picture we can read.") as image:
        image.seek(0)
        image.load()
        picture = ImageOps.exif_transpose(image)
        picture = picture.convert("RGBA" if "A" in picture.getbands() or "transparency" in picture.info else "RGB")
    picture.thumbnail(PREVIEW_SIZE, Image.Resampling.LANCZOS)
    output = io.BytesIO()
    picture.save(output, format="WEBP", quality=80, method=WEBP_METHOD)  # a fresh image: no EXIF, ICC or XMP
    return {"width": picture.width, "height": picture.height}, [output.getvalue()]


JOBS = {
    "avatar": avatar,
    "preview": preview,
    "GIF": lambda data: attachment(data, "GIF"),
    "JPEG": lambda data: attachment(data, "JPEG"),
    "PNG": lambda data: attachment(data, "PNG"),
    "WEBP": lambda data: attachment(data, "WEBP"),
}


def main(argv: list[str]) -> int:
    """Run job argv[0] on stdin's bytes within argv[1] seconds of CPU; write the header line
    {"ok": true, "sizes": [...], ...} and the parts it lists, or {"ok": false, "message": ...}."""
    job, cpu_seconds = JOBS[argv[0]], int(argv[1])
    # Past the soft limit the kernel sends SIGXCPU (which ends the process), past the hard one SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    os.nice(NICENESS)
    data = sys.stdin.buffer.read()
    try:
        header, parts = job(data)
    except Refused as refusal:
        header, parts = {"ok": False, "message": str(refusal)}, []
    else:
        header = {"ok": True, "sizes": [len(part) for part in parts], **header}
    out = sys.stdout.buffer
    out.write(json.dumps(header).encode() + b"\n")
    for part in parts:
        out.write(part)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
