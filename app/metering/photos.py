"""Photos from customers' phones (a meter's display, a complaint's picture): checked, decoded, re-encoded (which
drops EXIF and GPS) and stored."""

import io
import threading
import uuid
import warnings
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # before the browser shrinks it, a phone photo can be a few MB
# A form with a photo reads a request this large (views mark it with web.headers.upload_limit): a photo straight
# from the camera, larger than we keep, still reaches the form, so the refusal comes back at the photo field with
# the rest of the form kept, instead of a bare "too large" page.
PHOTO_REQUEST_LIMIT = 25 * 1024 * 1024
MAX_SIDE = 1600
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
# A 24-megapixel phone camera's photo fits; a small file that claims more pixels (a blank 8900 × 8900 PNG is
# 77 KB) is refused from its header, before anything is decoded. Pillow itself raises (not warns) above it too.
MAX_PIXELS = 25_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow warns above it and raises DecompressionBombError at twice it
# Decoding takes up to ~4 bytes a pixel: at most this many photos are decoded at once in a process.
DECODE_SLOTS = threading.BoundedSemaphore(2)
DECODE_WAIT_SECONDS = 20


class PhotoError(ValueError):
    pass


def clean_photo(data: bytes) -> bytes:
    """A JPEG with no metadata, at most MAX_SIDE pixels on its longer side; PhotoError if it is no photo."""
    if not data:
        raise PhotoError(_("Add a photo of the meter's display."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoError(_("The photo is too large (at most 5 MB)."))
    too_many_pixels = _("That photo has too many pixels. Send one from the phone's camera.")
    try:
        with warnings.catch_warnings(action="ignore", category=Image.DecompressionBombWarning):
            probe = Image.open(io.BytesIO(data))  # reads the header only
        with probe:
            if probe.format not in ALLOWED_FORMATS:
                raise PhotoError(_("Send a JPEG, PNG or WebP photo."))
            if probe.width * probe.height > MAX_PIXELS:
                raise PhotoError(too_many_pixels)
            probe.verify()
        if not DECODE_SLOTS.acquire(timeout=DECODE_WAIT_SECONDS):
            raise PhotoError(_("We are busy reading other photos. Please send yours again in a minute."))
        try:
            picture = _decoded(data)
        finally:
            DECODE_SLOTS.release()
    except Image.DecompressionBombError as error:
        raise PhotoError(too_many_pixels) from error
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise PhotoError(_("That file is not a photo we can read.")) from error
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()


def _decoded(data: bytes) -> Image.Image:
    """The photo at most MAX_SIDE on its longer side, as a fresh RGB image (no EXIF, GPS or other metadata)."""
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # a JPEG is decoded straight at a fraction of its size
        image.load()
        picture = image.convert("RGB")
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    return picture


def photo_folder(kind: str) -> Path:
    """Where photos of one kind ("readings", "complaints") are kept, under the configured UPLOAD_FOLDER."""
    return Path(current_app.config["UPLOAD_FOLDER"]) / kind


def store_photo(folder: Path, data: bytes) -> str:
    """Save cleaned JPEG bytes under a random name; returns the name to keep on the reading."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.jpg"
    (folder / name).write_bytes(data)
    return name
