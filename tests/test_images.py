"""core.images: every kind of image a person has -> the 28x28 input, and every
refusal. Each input is made here, small, with a fixed seed."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from core import images
from core.images import EmptyDrawingError, ImageError


def _encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _hand_like(size=(64, 48), seed=0) -> np.ndarray:
    """(h, w) uint8: a bright ellipse on a darker, textured background (a photo,
    not a drawing: the background is not plain)."""
    rng = np.random.default_rng(seed)
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    background = rng.integers(20, 110, size=(height, width))
    inside = ((xx - width / 2) / (width / 4)) ** 2 + (
        (yy - height / 2) / (height / 3)
    ) ** 2
    hand = 200 + rng.integers(0, 40, (height, width))
    picture = np.where(inside <= 1, hand, background)
    return picture.astype(np.uint8)


def _drawing(dark_on_light: bool, size=200) -> np.ndarray:
    """(size, size) uint8: a thick plus sign on a plain canvas."""
    ink, paper = (0, 255) if dark_on_light else (255, 0)
    canvas = np.full((size, size), paper, dtype=np.uint8)
    canvas[60:140, 92:108] = ink
    canvas[92:108, 60:140] = ink
    return canvas


def _assert_usable(prepared: images.Prepared) -> None:
    pixels = prepared.pixels
    assert pixels.shape == (28, 28) and pixels.dtype == np.float32
    assert np.isfinite(pixels).all()
    assert pixels.min() >= 0 and pixels.max() <= 255
    assert pixels.std() > 10, "the sign vanished (flat input)"


# -- round trip --------------------------------------------------------------


def test_a_data_set_row_saved_as_png_comes_back_exactly():
    row = np.random.default_rng(1).integers(0, 256, size=(28, 28)).astype(np.uint8)
    prepared = images.prepare_bytes(_encode(Image.fromarray(row)), "row.png")
    assert np.abs(prepared.pixels - row).max() <= 1.0
    assert not prepared.inverted and prepared.kind == "photo"


def test_real_validation_rows_round_trip_within_one_grey_level(real_data_dir):
    import pandas as pd

    frame = pd.read_csv(real_data_dir / "sign_mnist_test.csv.gz", nrows=300)
    rows = frame.iloc[:, 1:].to_numpy(np.uint8).reshape(-1, 28, 28)
    for index, row in enumerate(rows):
        prepared = images.prepare_bytes(images.to_png(row), f"row {index}")
        assert np.abs(prepared.pixels - row).max() <= 1.0, f"row {index} changed"
        assert not prepared.inverted, f"row {index} was inverted"


# -- every mode a person plausibly has ---------------------------------------


@pytest.mark.parametrize(
    "mode", ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "F", "I;16"]
)
def test_every_mode_gives_a_usable_input(mode):
    gray = _hand_like()
    base = Image.fromarray(gray)
    if mode == "I;16":
        image = Image.fromarray(gray.astype(np.uint16) * 257)
    elif mode == "I":
        image = Image.fromarray(gray.astype(np.int32) * 257)
    elif mode == "F":
        image = Image.fromarray(gray.astype(np.float32) / 255.0)
    elif mode == "1":
        image = base.point(lambda v: 255 if v > 150 else 0).convert("1")
    elif mode == "P":
        image = base.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE)
    else:
        image = base.convert(mode)
    assert image.mode == mode
    fmt = "TIFF" if mode in ("I", "F", "CMYK") else "PNG"
    prepared = images.prepare_bytes(_encode(image, fmt), f"x.{fmt.lower()}")
    _assert_usable(prepared)


def test_sixteen_bit_is_scaled_not_clipped():
    gray = _hand_like()
    eight = images.prepare_bytes(_encode(Image.fromarray(gray)), "8.png").pixels
    sixteen_image = Image.fromarray(gray.astype(np.uint16) * 257)
    sixteen = images.prepare_bytes(_encode(sixteen_image), "16.png").pixels
    # Clipping to 255 would make nearly every pixel white.
    assert np.abs(sixteen - eight).max() <= 1.0


def test_float_image_outside_unit_range_is_stretched():
    gray = _hand_like().astype(np.float32) * 10 - 1000  # -1000..1550
    prepared = images.prepare_bytes(_encode(Image.fromarray(gray), "TIFF"), "f.tif")
    _assert_usable(prepared)
    assert prepared.pixels.max() > 200 and prepared.pixels.min() < 60


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "GIF", "BMP"])
def test_common_formats_decode(fmt):
    image = Image.fromarray(_hand_like((90, 70))).convert("RGB")
    prepared = images.prepare_bytes(_encode(image, fmt), f"x.{fmt.lower()}")
    _assert_usable(prepared)


def test_cmyk_jpeg_decodes_like_its_rgb_source():
    gray = _hand_like((80, 80))
    rgb = Image.fromarray(gray).convert("RGB")
    from_cmyk = images.prepare_bytes(
        _encode(rgb.convert("CMYK"), "JPEG", quality=95), "cmyk.jpg"
    ).pixels
    from_rgb = images.prepare_bytes(_encode(rgb, "JPEG", quality=95), "rgb.jpg").pixels
    assert np.abs(from_cmyk - from_rgb).mean() < 12


def test_gif_uses_the_first_frame():
    first = Image.fromarray(_hand_like((60, 60), seed=2)).convert("P")
    second = Image.fromarray(255 - _hand_like((60, 60), seed=3)).convert("P")
    data = _encode(first, "GIF", save_all=True, append_images=[second], duration=100)
    only_first = images.prepare_bytes(_encode(first, "GIF"), "one.gif").pixels
    animated = images.prepare_bytes(data, "anim.gif").pixels
    assert np.abs(animated - only_first).max() <= 1.0


def test_exif_orientation_is_applied_before_anything_else():
    picture = np.zeros((20, 40), dtype=np.uint8)  # 40 wide, 20 high
    picture[:5, :5] = 255  # a bright block top-left as stored
    image = Image.fromarray(picture)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    opened = images.open_image(_encode(image, "PNG", exif=exif), "phone.png")
    assert opened.size == (20, 40)  # now 20 wide, 40 high
    upright = np.asarray(opened)
    assert upright[:5, -5:].mean() > 200  # top-left went to top-right
    assert upright[:5, :5].mean() < 50


def test_exif_orientation_of_a_jpeg_photo_is_applied():
    picture = np.zeros((40, 80, 3), dtype=np.uint8)  # 80 wide, 40 high
    picture[:10, :10] = 255
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90 degrees counter-clockwise to display"
    data = _encode(Image.fromarray(picture), "JPEG", exif=exif, quality=95)
    upright = np.asarray(images.open_image(data, "phone.jpg").convert("L"))
    assert upright.shape == (80, 40)
    assert upright[-10:, :10].mean() > 200  # top-left went to bottom-left


def test_a_photo_with_damaged_exif_is_still_read():
    image = Image.fromarray(_hand_like((60, 40))).convert("RGB")
    data = _encode(image, "JPEG", exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f")
    _assert_usable(images.prepare_bytes(data, "odd.jpg"))


def test_transparent_webp_keeps_the_sign_visible():
    rgba = np.zeros((64, 64, 4), dtype=np.uint8)
    rgba[16:48, 20:44] = (30, 30, 30, 255)
    data = _encode(Image.fromarray(rgba), "WEBP", lossless=True)
    _assert_usable(images.prepare_bytes(data, "cutout.webp"))


# -- transparency ------------------------------------------------------------


@pytest.mark.parametrize("ink", [0, 255])
def test_transparent_png_keeps_the_sign_visible(ink):
    rgba = np.zeros((60, 60, 4), dtype=np.uint8)
    rgba[..., :3] = ink  # the colour under transparent pixels is the ink's too
    rgba[15:45, 20:40, 3] = 255  # only the "hand" is opaque
    prepared = images.prepare_bytes(_encode(Image.fromarray(rgba)), "cutout.png")
    gray_step = next(s for s in prepared.steps if s.name == "grayscale")
    assert gray_step.image.std() > 30, "composited to one flat colour"
    assert "composited" in gray_step.note
    _assert_usable(prepared)


def test_palette_png_with_transparent_index_keeps_the_sign_visible():
    picture = np.zeros((50, 50), dtype=np.uint8)  # index 0: transparent black
    picture[10:40, 15:35] = 1  # index 1: opaque black
    image = Image.fromarray(picture, mode="P")
    image.putpalette([0, 0, 0, 0, 0, 0] + [0] * 762)
    data = _encode(image, "PNG", transparency=0)
    prepared = images.prepare_bytes(data, "palette.png")
    _assert_usable(prepared)


def test_fully_transparent_image_is_refused():
    rgba = np.zeros((30, 30, 4), dtype=np.uint8)
    with pytest.raises(ImageError, match="transparent"):
        images.prepare_bytes(_encode(Image.fromarray(rgba)), "ghost.png")


# -- polarity and geometry ---------------------------------------------------


def test_drawings_in_either_polarity_give_the_same_input():
    dark = images.prepare_bytes(_encode(Image.fromarray(_drawing(True))), "d.png")
    light = images.prepare_bytes(_encode(Image.fromarray(_drawing(False))), "l.png")
    assert dark.kind == light.kind == "drawing"
    assert dark.inverted and not light.inverted
    assert "dark strokes" in dark.polarity and "light strokes" in light.polarity
    assert np.abs(dark.pixels - light.pixels).max() <= 1.0
    centre = dark.pixels[12:16, 12:16].mean()
    corner = dark.pixels[:3, :3].mean()
    assert centre > 200 and corner < 30  # light strokes on a dark background


def test_polarity_can_be_forced():
    data = _encode(Image.fromarray(_drawing(True)))
    kept = images.prepare_bytes(data, "d.png", polarity="keep")
    assert not kept.inverted and kept.pixels[:3, :3].mean() > 200
    photo = _encode(Image.fromarray(_hand_like()))
    assert images.prepare_bytes(photo, "p.png", polarity="invert").inverted


def test_crop_to_the_strokes_fills_the_input():
    canvas = np.full((300, 300), 255, dtype=np.uint8)
    canvas[20:60, 30:45] = 0  # a small stroke near a corner
    data = _encode(Image.fromarray(canvas))
    cropped = images.prepare_bytes(data, "c.png", crop=True)
    uncropped = images.prepare_bytes(data, "c.png", crop=False)
    ink_rows = np.flatnonzero((cropped.pixels > 128).any(axis=1))
    assert cropped.cropped and ink_rows.size >= 18
    assert not uncropped.cropped
    assert (uncropped.pixels > 128).sum() < (cropped.pixels > 128).sum() / 4


def test_aspect_ratio_is_kept_by_padding():
    rng = np.random.default_rng(4)
    width, height = 120, 60
    picture = rng.integers(30, 90, size=(height, width)).astype(np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    picture[(xx - 60) ** 2 + (yy - 30) ** 2 <= 20**2] = 250  # a disk, round
    prepared = images.prepare_bytes(_encode(Image.fromarray(picture)), "wide.png")
    bright = prepared.pixels > 170
    rows = np.flatnonzero(bright.any(axis=1))
    cols = np.flatnonzero(bright.any(axis=0))
    assert abs((rows[-1] - rows[0]) - (cols[-1] - cols[0])) <= 1  # still round
    assert prepared.square == (0.0, -30.0, 120.0)


def test_large_photo_is_worked_at_a_small_size_and_steps_are_small():
    picture = np.asarray(
        Image.fromarray(_hand_like((160, 120))).resize((1600, 1200))
    )
    data = _encode(Image.fromarray(picture), "JPEG")
    prepared = images.prepare_bytes(data, "big.jpg")
    assert max(prepared.preview.shape[:2]) <= images.WORK_SIZE
    assert [s.name for s in prepared.steps][-1] == "28x28 model input"
    for step in prepared.steps:
        assert step.image.dtype == np.uint8
        assert max(step.image.shape[:2]) <= images.THUMB_SIZE


# -- the canvas --------------------------------------------------------------


@pytest.mark.parametrize(
    "canvas",
    [
        None,
        np.zeros((280, 280, 4), dtype=np.uint8),  # transparent, nothing drawn
        np.full((280, 280, 4), 255, dtype=np.uint8),  # white, nothing drawn
    ],
    ids=["missing", "transparent", "white"],
)
def test_untouched_canvas_says_draw_a_sign_first(canvas):
    with pytest.raises(EmptyDrawingError, match="Draw a sign first"):
        images.prepare_canvas(canvas)


def test_strokes_on_a_transparent_canvas_are_read():
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[80:200, 130:150] = (0, 0, 0, 255)  # a black stroke, opaque
    prepared = images.prepare_canvas(rgba)
    _assert_usable(prepared)
    assert prepared.pixels[12:16, 12:16].mean() > 150  # the stroke is light


# -- refusals ----------------------------------------------------------------


def test_non_image_is_refused_in_one_sentence():
    with pytest.raises(ImageError, match=r"^notes\.txt is not an image"):
        images.prepare_bytes(b"label,pixel1\n3,100\n", "notes.txt")


def test_empty_file_is_refused():
    with pytest.raises(ImageError, match="empty"):
        images.prepare_bytes(b"", "empty.png")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file_is_refused(fmt):
    data = _encode(Image.fromarray(_hand_like((200, 200))).convert("RGB"), fmt)
    with pytest.raises(ImageError, match="truncated or damaged"):
        images.prepare_bytes(data[: len(data) // 2], f"cut.{fmt.lower()}")


def test_file_above_the_size_cap_is_refused():
    data = b"\x89PNG" + bytes(images.MAX_FILE_BYTES)
    with pytest.raises(ImageError, match="limited to 20 MB"):
        images.prepare_bytes(data, "huge.png")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size but carries almost no data: a bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)


def test_image_above_the_pixel_limit_is_refused_before_decoding():
    with pytest.raises(ImageError, match="megapixels"):
        images.prepare_bytes(_png_header_only(10_000, 6_000), "bomb.png")


@pytest.mark.parametrize("pillow_limit", [1000, 500], ids=["warning", "error"])
def test_pillow_decompression_bomb_guard_becomes_a_refusal(monkeypatch, pillow_limit):
    # 40x40 = 1600 pixels: above 1000 Pillow warns; above 2 * 500 it errors.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pillow_limit)
    data = _encode(Image.fromarray(_hand_like((40, 40))))
    with pytest.raises(ImageError, match="too many pixels"):
        images.prepare_bytes(data, "bomb.png")


def test_flat_image_is_refused():
    data = _encode(Image.new("RGB", (50, 50), (90, 90, 90)))
    with pytest.raises(EmptyDrawingError, match="single flat colour"):
        images.prepare_bytes(data, "grey.png")
