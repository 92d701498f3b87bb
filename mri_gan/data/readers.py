"""Read any image file as a single-channel uint8 array, whatever its extension says.

The format is sniffed from the first bytes (the Kaggle dataset ships PNG data behind `.jpg`
names). JPEG is decoded straight to gray by OpenCV (fastest path); other raster formats are
decoded unchanged and converted here so every mode is handled on purpose:

- RGB / BGR             -> luma (ITU-R 601, OpenCV's cvtColor)
- RGBA / gray+alpha     -> composited over black (MRI backgrounds are black), then luma
- palette               -> expanded by the decoder, then luma
- 16-bit / float        -> scaled linearly from [0, max] to [0, 255] (MR scanners use 12 of the 16
                           bits, so a fixed >>8 would give near-black images)
- DICOM (pydicom)       -> rescale slope/intercept, window (WindowCenter/Width, else the data's
                           min..max) to [0, 255]; MONOCHROME1 is inverted; multi-frame -> middle frame

Every failure raises `UnreadableImage` with a short reason (empty file, not an image,
truncated, too small, ...), which audit/prepare report per file.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from mri_gan.errors import MriGanError


class UnreadableImage(MriGanError):
    """A file that cannot be used as an image; `reason` is the short why (for reports)."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")


_MAGIC = [
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"RIFF", "WEBP"),
]


def sniff_format(data: bytes) -> str | None:
    """The image format from the file's first bytes ('JPEG', 'PNG', 'DICOM', ...), or None."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "DICOM"
    return None


def _default_min_side() -> int:
    from mri_gan.config import DataConfig

    return DataConfig().min_side


def _looks_truncated(data: bytes, fmt: str) -> bool:
    if fmt == "JPEG":
        # A complete JPEG has its EOI marker (FF D9) at the end, maybe followed by some padding or
        # vendor bytes; inside entropy-coded data FF is always stuffed, so FF D9 cannot occur there.
        return b"\xff\xd9" not in data[-min(4096, len(data) // 2):]
    if fmt == "PNG":
        return b"IEND" not in data[-64:]
    return False


def to_gray_uint8(img: np.ndarray, bgr: bool = True) -> np.ndarray:
    """Any decoded array (H,W) / (H,W,3) / (H,W,4), any dtype -> uint8 (H,W)."""
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3:
        alpha = None
        if img.shape[2] == 4:
            alpha, img = img[:, :, 3], img[:, :, :3]
        elif img.shape[2] == 2:  # gray + alpha
            alpha, img = img[:, :, 1], img[:, :, 0]
        if img.ndim == 3:
            if img.dtype not in (np.uint8, np.uint16, np.float32):
                img = img.astype(np.float32)
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if bgr else cv2.COLOR_RGB2GRAY)
        if alpha is not None:
            full = 65535.0 if alpha.dtype == np.uint16 else (1.0 if alpha.dtype.kind == "f" else 255.0)
            img = img.astype(np.float32) * (alpha.astype(np.float32) / full)
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    x = img.astype(np.float64)
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    if img.dtype.kind == "f" and 0.0 <= x.min() and x.max() <= 1.0:
        x = x * 255.0  # float images in [0, 1]
    elif img.dtype.kind in "iu" or x.max() > 255.0:
        lo = min(float(x.min()), 0.0)
        hi = float(x.max())
        x = (x - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(x)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _read_dicom(path: str | Path) -> np.ndarray:
    try:
        import pydicom
    except ImportError:  # pragma: no cover
        raise UnreadableImage(path, "DICOM file but pydicom is not installed") from None
    try:
        ds = pydicom.dcmread(str(path))
        arr = ds.pixel_array
    except Exception as e:  # noqa: BLE001 - pydicom raises many types
        raise UnreadableImage(path, f"bad DICOM ({type(e).__name__}: {str(e).splitlines()[0][:80]})") from None
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    photometric = str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2")).upper()
    if frames > 1:
        arr = arr[arr.shape[0] // 2]
    if arr.ndim == 3:  # colour DICOM (RGB after pydicom's conversion)
        return to_gray_uint8(np.ascontiguousarray(arr), bgr=False)
    x = arr.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1) or 1) + float(
        getattr(ds, "RescaleIntercept", 0) or 0)
    center, width = getattr(ds, "WindowCenter", None), getattr(ds, "WindowWidth", None)
    if center is not None and width is not None:
        c = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        w = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
    else:
        c, w = None, None
    if c is not None and w is not None and w >= 1:
        # DICOM PS3.3 C.11.2.1.2 linear window
        y = ((x - (c - 0.5)) / (w - 1.0) + 0.5).clip(0.0, 1.0)
    else:
        lo, hi = float(x.min()), float(x.max())
        y = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    if photometric == "MONOCHROME1":
        y = 1.0 - y
    return np.rint(y * 255.0).astype(np.uint8)


def _decode_with_pil(data: bytes, path) -> np.ndarray:
    import io

    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as im:
            im = ImageOps.exif_transpose(im) if im.format == "JPEG" else im
            if im.mode == "P":
                im = im.convert("RGBA")
            elif im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                im = im.convert("RGB")
            arr = np.asarray(im)
    except OSError as e:
        msg = str(e)
        reason = "truncated" if "truncated" in msg.lower() else f"decode failed ({msg.splitlines()[0][:80]})"
        raise UnreadableImage(path, reason) from None
    except Exception as e:  # noqa: BLE001 - PIL raises many types
        raise UnreadableImage(path, f"decode failed ({type(e).__name__})") from None
    return to_gray_uint8(arr, bgr=False)


def decode_gray(data: bytes, path: str | Path = "<bytes>", min_side: int | None = None) -> np.ndarray:
    """Decode the bytes of an image file to uint8 (H, W); raise `UnreadableImage` with a reason."""
    if len(data) == 0:
        raise UnreadableImage(path, "empty file")
    fmt = sniff_format(data)
    if fmt is None:
        raise UnreadableImage(path, "not an image (unknown format)")
    if _looks_truncated(data, fmt):
        raise UnreadableImage(path, f"truncated {fmt}")
    if fmt == "DICOM":
        img = _read_dicom(path)
    else:
        buf = np.frombuffer(data, np.uint8)
        if fmt == "JPEG":
            img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        else:
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
            img = None if img is None else to_gray_uint8(img, bgr=True)
        if img is None:  # formats/variants OpenCV does not handle (e.g. some TIFF, GIF)
            img = _decode_with_pil(data, path)
    if img is None or img.size == 0:
        raise UnreadableImage(path, f"decode failed ({fmt})")
    min_side = _default_min_side() if min_side is None else min_side
    h, w = img.shape[:2]
    if min(h, w) < min_side:
        raise UnreadableImage(path, f"too small ({w}x{h} px, minimum side {min_side})")
    return np.ascontiguousarray(img)


def read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise UnreadableImage(path, "is a directory") from None
    except OSError as e:
        if Path(path).is_symlink():
            try:
                target = os.readlink(path)
            except OSError:  # pragma: no cover - the link vanished meanwhile
                target = "?"
            raise UnreadableImage(path, f"broken symbolic link (to {target})") from None
        raise UnreadableImage(path, f"cannot open ({e.strerror or type(e).__name__})") from None


def read_gray(path: str | Path, min_side: int | None = None) -> np.ndarray:
    """Read any image file (JPEG/PNG/BMP/TIFF/DICOM, any mode) as uint8 (H, W)."""
    return decode_gray(read_bytes(path), path, min_side)


def header_info(data: bytes) -> dict:
    """Format, mode and size from the header only (cheap; Pillow's mode names: L, RGB, RGBA, P, I;16...)."""
    import io

    from PIL import Image

    fmt = sniff_format(data)
    if fmt == "DICOM":
        return {"format": "DICOM", "mode": "DICOM", "width": None, "height": None}
    try:
        with Image.open(io.BytesIO(data)) as im:
            return {"format": im.format, "mode": im.mode, "width": im.width, "height": im.height}
    except Exception:  # noqa: BLE001 - header unreadable: decoding reports the reason
        return {"format": fmt, "mode": None, "width": None, "height": None}
