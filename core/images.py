"""Any image a person has -> the model's 28x28 input, keeping every step.

Accepts the bytes of any file Pillow opens that a person plausibly has (1-bit,
L, LA, P with or without transparency, RGB, RGBA, 16-bit and 32-bit grayscale,
float, CMYK JPEG, WebP, GIF's first frame, ...) and the RGBA array a drawing
canvas returns. The pipeline, in order, each step kept as a small picture:

1. decode, with a file-size cap and a pixel cap (Pillow's decompression-bomb
   error *and* warning become a refusal), EXIF orientation applied first;
2. to grayscale 0..255 floats: 16-bit and 32-bit values are scaled, never
   clipped; transparency is composited onto black or white, whichever contrasts
   with the opaque content, so the sign stays visible;
3. polarity: a *drawing* (a plain background and one stroke colour) is turned
   into light strokes on a dark background, as the brief describes the training
   data; a *photo* is used as is, because the model's first layer normalises
   brightness and contrast per image. (Measured on the validation split, about
   two thirds of the rows have a border brighter than their centre, so there
   is no single "right" polarity for photos; inverting them would only hurt.)
4. geometry: optionally crop to the strokes or the cut-out hand (only where the
   background is plain: a photo's hand cannot be found without segmentation),
   pad to a square with the background value (aspect ratio kept, never
   stretched), then area-average down to 28x28.

A 28x28 grayscale image (a data-set row saved as PNG) comes back exactly as its
pixels. Output contract: ``Prepared.pixels`` is ``(28, 28) float32`` in 0..255.

Deliberately not here: anything that needs the model (see ``core.predict``),
and hand segmentation in photos.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

SIZE = 28  # the model's input side
MAX_FILE_BYTES = 20 * 1024 * 1024  # largest image file accepted, 20 MB
# Largest image accepted, in pixels: a 48-megapixel phone photo still passes;
# Pillow's own guard (about 89 M warns, twice that errors) sits above it.
MAX_PIXELS = 50_000_000
WORK_SIZE = 448  # long side the pipeline works at; plenty for a 28x28 result
THUMB_SIZE = 160  # long side of the step pictures shown on the page
# Extensions offered by upload widgets; decoding itself sniffs the content.
UPLOAD_TYPES = ("png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff")

POLARITIES = ("auto", "keep", "invert")
EMPTY_DRAWING = "Draw a sign first: the canvas is empty."

# A border is "plain" when this share of it lies within PLAIN_TOLERANCE grey
# levels of its median. No validation row of the data set is plain (measured:
# the best reaches 80 %), photos of hands against walls rarely are, a drawing
# canvas always is.
PLAIN_TOLERANCE = 10.0
PLAIN_SHARE = 0.9
FOREGROUND_DIFFERENCE = 48.0  # grey levels from the background that count as ink
TWO_TONE_SHARE = 0.85  # a drawing: this share of pixels is background or stroke
CROP_MARGIN = 0.12  # margin around the cropped strokes, as a share of their size


class ImageError(ValueError):
    """An image that cannot be used; ``str(error)`` is one sentence for the user."""


class EmptyDrawingError(ImageError):
    """A canvas with nothing drawn on it (or a uniform image)."""


@dataclass
class Step:
    """One stage of the pipeline: a name, a small picture, a one-line note."""

    name: str
    image: np.ndarray  # (h, w) or (h, w, 3) uint8, long side <= THUMB_SIZE
    note: str = ""


@dataclass
class Prepared:
    """What the model sees, and how it came from the user's image."""

    pixels: np.ndarray  # (28, 28) float32 in 0..255: the model input
    preview: np.ndarray  # (h, w, 3) uint8: the user's image, upright, work size
    # (left, top, side) of the square in ``preview`` coordinates that became
    # the 28x28 input; may reach outside the preview where it was padded.
    square: tuple[float, float, float]
    kind: str  # "drawing" or "photo"
    inverted: bool
    polarity: str  # one sentence: which polarity was assumed and what was done
    cropped: bool
    steps: list[Step] = field(default_factory=list)

    @property
    def model_input(self) -> np.ndarray:
        """``(1, 28, 28, 1) float32``, ready for the model."""
        return self.pixels.reshape(1, SIZE, SIZE, 1)


# -- decoding ---------------------------------------------------------------


def open_image(data: bytes, name: str = "the file") -> Image.Image:
    """Bytes -> an upright, fully loaded PIL image (first frame), or ImageError.

    The file-size and pixel caps are checked before any pixel is decoded: the
    header alone gives the size, so a decompression bomb costs nothing.
    """
    if not data:
        raise ImageError(f"{name} is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(
            f"{name} is {len(data) / 2**20:.1f} MB; images are limited to "
            f"{MAX_FILE_BYTES // 2**20} MB."
        )
    with warnings.catch_warnings():
        # Pillow warns (instead of failing) between MAX_IMAGE_PIXELS and twice
        # that; turn the warning into an error so it refuses like the rest.
        # (catch_warnings is process-wide, not per thread; should two sessions
        # race here, the image still meets _check_pixels, whose limit is lower
        # than Pillow's, so it is refused either way.)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            _check_pixels(image.size, name)
            if image.format in ("JPEG", "MPO"):  # MPO: a phone's multi-picture JPEG
                # Decode a big JPEG at 1/2, 1/4 or 1/8 scale straight away:
                # still at least WORK_SIZE on each side, several times faster.
                image.draft(image.mode, (WORK_SIZE, WORK_SIZE))
            image.seek(0)  # the first frame of a GIF or an animated WebP
            image.load()
            source_format = image.format
            image = _upright(image, name)
            image.info["source_format"] = source_format
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(
                f"{name} has too many pixels to open safely "
                f"(the limit is {MAX_PIXELS / 1e6:.0f} megapixels)."
            ) from None
        except UnidentifiedImageError:
            raise ImageError(
                f"{name} is not an image that can be read (try PNG, JPEG, WebP "
                "or GIF)."
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as error:
            log.info("decoding %s failed: %s", name, error)
            raise ImageError(
                f"{name} is truncated or damaged and could not be decoded."
            ) from None
    return image


def _upright(image: Image.Image, name: str) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block leaves the image as is
    (a photo is still worth classifying when only its metadata is damaged)."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception as error:  # noqa: BLE001 - any EXIF parsing failure
        log.info("ignoring the unreadable EXIF orientation of %s: %r", name, error)
        return image


def _check_pixels(size: tuple[int, int], name: str) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise ImageError(f"{name} has no pixels.")
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{name} is {width} x {height} pixels, above the limit of "
            f"{MAX_PIXELS / 1e6:.0f} megapixels."
        )


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        "transparency" in image.info
    )


def _high_depth_to_float(image: Image.Image) -> np.ndarray:
    """16-bit, 32-bit integer and float images -> (h, w) float32 in 0..255.

    Scaled by the range the values evidently use (8-bit, 0..1, 16-bit) and
    min-max stretched otherwise; never clipped, so a 16-bit scan does not turn
    white.
    """
    values = np.asarray(image).astype(np.float32)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ImageError("the image holds no finite pixel values.")
    values = np.nan_to_num(values, nan=float(finite.min()))
    low, high = float(finite.min()), float(finite.max())
    if image.mode == "F" and low >= 0 and high <= 1:
        return values * 255.0
    if low >= 0 and high <= 255 and not image.mode.startswith("I;16"):
        return values
    if low >= 0 and high <= 65535:
        return values / 257.0
    return (values - low) / max(high - low, 1e-12) * 255.0


def _shrink(image: Image.Image) -> Image.Image:
    """Fit the long side into WORK_SIZE (area average); never enlarge."""
    width, height = image.size
    scale = WORK_SIZE / max(width, height)
    if scale >= 1:
        return image
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # reducing_gap: an integer reduce() first, then the exact resize; several
    # times faster on a photo, and the same area average within a grey level.
    return image.resize(new_size, Image.Resampling.BOX, reducing_gap=2.0)


def _to_gray_alpha(
    image: Image.Image,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """PIL image of any mode -> gray (h, w) float32 0..255, alpha (h, w) float32
    0..1 or None, and a colour preview (h, w, 3) uint8, all at work size."""
    mode = image.mode
    if mode == "1":
        image = image.convert("L")
    elif mode in ("P", "PA"):
        image = image.convert("RGBA" if _has_transparency(image) else "RGB")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGB")
    elif mode == "La":
        image = image.convert("LA")
    elif mode == "RGBa":
        image = image.convert("RGBA")
    elif mode == "L" and "transparency" in image.info:
        image = image.convert("LA")
    elif mode == "RGB" and "transparency" in image.info:
        image = image.convert("RGBA")

    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        gray = _high_depth_to_float(image)
        shrunk = _shrink(Image.fromarray(gray.astype(np.float32)))
        gray = np.asarray(shrunk, dtype=np.float32)
        preview = np.clip(gray, 0, 255).astype(np.uint8)
        return gray, None, np.repeat(preview[:, :, None], 3, axis=2)

    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if _has_transparency(image) else "RGB")
    image = _shrink(image)
    alpha = None
    if image.mode in ("LA", "RGBA"):
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255.0
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    preview = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return gray, alpha, preview


def _composite(
    gray: np.ndarray, alpha: np.ndarray, preview: np.ndarray, empty: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """Put the transparent parts onto black or white, whichever contrasts with
    the opaque content (alpha-weighted mean), so the sign stays visible."""
    weight = float(alpha.sum())
    if weight < 1.0:
        raise EmptyDrawingError(empty)
    content_mean = float((gray * alpha).sum() / weight)
    background = 0.0 if content_mean >= 128 else 255.0
    gray = gray * alpha + background * (1.0 - alpha)
    a3 = alpha[:, :, None]
    preview = (preview * a3 + background * (1.0 - a3)).round().astype(np.uint8)
    where = "black" if background == 0 else "white"
    return gray, preview, f"transparency composited onto {where}"


# -- analysis and geometry --------------------------------------------------


def _border(gray: np.ndarray) -> np.ndarray:
    width = max(1, round(0.02 * min(gray.shape)))
    return np.concatenate(
        [
            gray[:width].ravel(),
            gray[-width:].ravel(),
            gray[width:-width, :width].ravel(),
            gray[width:-width, -width:].ravel(),
        ]
    )


@dataclass
class _Analysis:
    background: float  # median of the border, grey level
    plain: bool  # the border is one flat colour
    drawing: bool  # plain, and the picture is background plus one stroke colour
    stroke: float | None  # median grey level of the ink, where there is ink
    has_ink: bool


def _analyse(gray: np.ndarray) -> _Analysis:
    border = _border(gray)
    background = float(np.median(border))
    near = np.abs(border - background) <= PLAIN_TOLERANCE
    plain = float(np.mean(near)) >= PLAIN_SHARE
    ink = np.abs(gray - background) > FOREGROUND_DIFFERENCE
    has_ink = bool(ink.any())
    stroke = float(np.median(gray[ink])) if has_ink else None
    drawing = False
    if plain and has_ink:
        near_background = np.abs(gray - background) <= 2 * PLAIN_TOLERANCE
        near_stroke = np.abs(gray - stroke) <= 3 * PLAIN_TOLERANCE
        drawing = float(np.mean(near_background | near_stroke)) >= TWO_TONE_SHARE
    return _Analysis(background, plain, drawing, stroke, has_ink)


def _ink_box(gray: np.ndarray, background: float) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), exclusive ends, of pixels far from background."""
    ink = np.abs(gray - background) > FOREGROUND_DIFFERENCE
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _square_region(
    gray: np.ndarray, square: tuple[float, float, float], fill: float
) -> np.ndarray:
    """The square (left, top, side) cut from ``gray``, padded with ``fill``."""
    left, top, side = (int(round(v)) for v in square)
    out = np.full((side, side), fill, dtype=np.float32)
    height, width = gray.shape
    src_top, src_left = max(top, 0), max(left, 0)
    src_bottom, src_right = min(top + side, height), min(left + side, width)
    if src_bottom > src_top and src_right > src_left:
        out[src_top - top : src_bottom - top, src_left - left : src_right - left] = (
            gray[src_top:src_bottom, src_left:src_right]
        )
    return out


def _resize_to_input(square: np.ndarray) -> np.ndarray:
    side = square.shape[0]
    if side == SIZE:
        return square.astype(np.float32)
    resample = Image.Resampling.BOX if side > SIZE else Image.Resampling.BILINEAR
    resized = Image.fromarray(square.astype(np.float32)).resize(
        (SIZE, SIZE), resample
    )
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 255.0)


def _thumb(image: np.ndarray) -> np.ndarray:
    """A small uint8 picture for the page; 28x28 inputs are enlarged crisply."""
    picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    width, height = picture.size
    scale = THUMB_SIZE / max(width, height)
    resample = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.BOX
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(picture.resize(size, resample))


# -- the pipeline -----------------------------------------------------------


def prepare_bytes(
    data: bytes, name: str = "the file", *, crop: bool = True, polarity: str = "auto"
) -> Prepared:
    """The bytes of an image file -> the model input with every step."""
    return prepare_image(open_image(data, name), name, crop=crop, polarity=polarity)


def prepare_canvas(
    rgba: np.ndarray | None, *, crop: bool = True, polarity: str = "auto"
) -> Prepared:
    """A drawing canvas's ``(h, w, 4) uint8`` RGBA array -> the model input.

    Raises EmptyDrawingError ("draw a sign first") for a missing, untouched or
    cleared canvas, whatever its background colour.
    """
    if rgba is None or np.asarray(rgba).size == 0:
        raise EmptyDrawingError(EMPTY_DRAWING)
    array = np.asarray(rgba)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ImageError("the canvas returned an unexpected image shape.")
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))
    return prepare_image(
        image, "the drawing", crop=crop, polarity=polarity, empty_message=EMPTY_DRAWING
    )


def prepare_image(
    image: Image.Image,
    name: str = "the image",
    *,
    crop: bool = True,
    polarity: str = "auto",
    empty_message: str | None = None,
) -> Prepared:
    """An opened, upright PIL image -> the model input with every step.

    ``empty_message`` replaces the sentences for a fully transparent or a flat
    image (the canvas says "draw a sign first" instead).
    """
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}")
    steps: list[Step] = []
    gray, alpha, preview = _to_gray_alpha(image)
    steps.append(Step("your image, upright", _thumb(preview), image_note(image)))

    note = "luminance, 0..255"
    if alpha is not None and float(alpha.min()) < 0.999:
        transparent = f"{name} is fully transparent: there is nothing to classify."
        gray, preview, note = _composite(
            gray, alpha, preview, empty_message or transparent
        )
    steps.append(Step("grayscale", _thumb(gray), note))

    analysis = _analyse(gray)
    if not analysis.has_ink:
        raise EmptyDrawingError(
            empty_message
            or f"{name} is a single flat colour: there is no sign to classify."
        )
    kind = "drawing" if analysis.drawing else "photo"
    invert, sentence = _choose_polarity(analysis, polarity)
    background = analysis.background
    if invert:
        gray = 255.0 - gray
        background = 255.0 - background
    steps.append(
        Step("inverted" if invert else "polarity kept", _thumb(gray), sentence)
    )

    height, width = gray.shape
    cropped = crop and analysis.plain
    if cropped:
        top, bottom, left, right = _ink_box(gray, background)
        side = max(bottom - top, right - left) * (1 + 2 * CROP_MARGIN)
        side = max(side, 2.0)
        square = (
            (left + right) / 2 - side / 2,
            (top + bottom) / 2 - side / 2,
            side,
        )
        geometry = "cropped to the sign with a margin, padded to a square"
    else:
        side = float(max(height, width))
        square = ((width - side) / 2, (height - side) / 2, side)
        geometry = (
            "already square"
            if height == width
            else "padded to a square (not stretched)"
        )
        if crop and not analysis.plain:
            geometry += "; not cropped: the background is not plain"
    fill = background if analysis.plain else float(np.median(_border(gray)))
    region = _square_region(gray, square, fill)
    steps.append(Step("square", _thumb(region), geometry))

    pixels = _resize_to_input(region)
    steps.append(Step("28x28 model input", _thumb(pixels), "what the model sees"))
    log.info(
        "prepared %s: %dx%d %s, inverted=%s, cropped=%s",
        name,
        width,
        height,
        kind,
        invert,
        cropped,
    )
    return Prepared(
        pixels=pixels,
        preview=preview,
        square=tuple(float(v) for v in square),
        kind=kind,
        inverted=invert,
        polarity=sentence,
        cropped=cropped,
        steps=steps,
    )


def _choose_polarity(analysis: _Analysis, polarity: str) -> tuple[bool, str]:
    """Whether to invert, and the sentence the page shows about it."""
    if polarity == "invert":
        return True, "Inverted, as chosen."
    if polarity == "keep":
        return False, "Used as is, as chosen."
    if analysis.drawing:
        if analysis.stroke is not None and analysis.stroke < analysis.background:
            return True, (
                "Assumed a drawing with dark strokes on a light background: "
                "inverted to light on dark, like the training data."
            )
        return False, (
            "Assumed a drawing with light strokes on a dark background: used as "
            "is, like the training data."
        )
    return False, (
        "Assumed a photo: used as is (the model normalises brightness and "
        "contrast itself)."
    )


def image_note(image: Image.Image) -> str:
    """'PNG, 1200 x 900, RGBA': what was decoded, for the first step."""
    kind = image.format or image.info.get("source_format") or "image"
    return f"{kind}, {image.size[0]} x {image.size[1]}, mode {image.mode}"


def to_png(pixels: np.ndarray) -> bytes:
    """A ``(28, 28)`` array in 0..255 -> PNG bytes (tests, downloads, words)."""
    buffer = io.BytesIO()
    image = np.clip(np.round(pixels), 0, 255).astype(np.uint8)
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()
