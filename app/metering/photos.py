"""Meter photos from customers' phones: checked, decoded, re-encoded (which drops EXIF and GPS) and stored."""

import io
import uuid
from pathlib import Path

from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # before the browser shrinks it, a phone photo can be a few MB
MAX_SIDE = 1600
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
Image.MAX_IMAGE_PIXELS = 40_000_000  # refuse decompression bombs


class PhotoError(ValueError):
    pass


def clean_photo(data: bytes) -> bytes:
    """A JPEG with no metadata, at most MAX_SIDE pixels on its longer side; PhotoError if it is no photo."""
    if not data:
        raise PhotoError(_("Add a photo of the meter's display."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoError(_("The photo is too large (at most 5 MB)."))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise PhotoError(_("Send a JPEG, PNG or WebP photo."))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            picture = image.convert("RGB")  # a fresh image: no EXIF, GPS or other metadata comes along
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as error:
        raise PhotoError(_("That file is not a photo we can read.")) from error
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()


def store_photo(folder: Path, data: bytes) -> str:
    """Save cleaned JPEG bytes under a random name; returns the name to keep on the reading."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.jpg"
    (folder / name).write_bytes(data)
    return name
