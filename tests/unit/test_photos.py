"""Meter photos: refused from the header when they claim too many pixels, decoded a few at a time, cleaned."""

import io

import pytest
from PIL import Image

from app.metering import photos
from app.metering.photos import PhotoError, clean_photo


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, format="PNG", optimize=True)
    return out.getvalue()


@pytest.fixture
def forbid_decoding(monkeypatch):
    """forbid_decoding(): from then on any attempt to decode pixels fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the image was decoded")

    def forbid():
        monkeypatch.setattr(Image.Image, "load", refuse)
        monkeypatch.setattr(photos, "_decoded", refuse)

    return forbid


@pytest.mark.parametrize("size", [(8900, 8900), (6000, 4500), (40000, 700)])
def test_a_small_file_claiming_too_many_pixels_is_refused_before_decoding(forbid_decoding, size):
    data = png(*size)
    assert len(data) < 200_000  # tiny on the wire, huge in memory
    forbid_decoding()
    with pytest.raises(PhotoError, match="too many pixels"):
        clean_photo(data)


def test_a_phone_camera_photo_is_accepted_and_shrunk():
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (120, 130, 140)).save(out, format="JPEG", quality=80)  # 12 megapixels
    with Image.open(io.BytesIO(clean_photo(out.getvalue()))) as cleaned:
        assert cleaned.format == "JPEG" and max(cleaned.size) == photos.MAX_SIDE


def test_when_every_decoding_slot_is_busy_the_photo_is_refused_not_queued_forever(monkeypatch):
    monkeypatch.setattr(photos, "DECODE_WAIT_SECONDS", 0)  # no timed wait: a moved clock cannot stall it
    taken = 0
    while photos.DECODE_SLOTS.acquire(blocking=False):
        taken += 1
    try:
        assert taken == 2
        with pytest.raises(PhotoError, match="busy"):
            clean_photo(png(100, 100))
    finally:
        for _ in range(taken):
            photos.DECODE_SLOTS.release()
    assert clean_photo(png(100, 100)).startswith(b"\xff\xd8")  # a free slot: decoded again
