"""readers: every format and mode -> uint8 (H, W); bad files -> UnreadableImage with a reason."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from mri_gan.data.readers import UnreadableImage, read_gray, sniff_format

H, W = 40, 60


def _ramp():
    """A gray ramp with a bright square: every value differs, so conversions are checkable."""
    img = np.tile(np.linspace(0, 200, W).astype(np.uint8), (H, 1))
    img[10:20, 10:30] = 250
    return img


def _save_pil(im, path, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    path.write_bytes(buf.getvalue())
    return path


@pytest.mark.parametrize("fmt,ext", [("PNG", ".png"), ("BMP", ".bmp"), ("TIFF", ".tif")])
def test_lossless_gray_formats_exact(tmp_path, fmt, ext):
    g = _ramp()
    p = _save_pil(Image.fromarray(g, "L"), tmp_path / f"a{ext}", fmt)
    out = read_gray(p)
    assert out.dtype == np.uint8 and out.shape == (H, W)
    np.testing.assert_array_equal(out, g)


def test_jpeg_gray_and_rgb(tmp_path):
    g = _ramp()
    p1 = _save_pil(Image.fromarray(g, "L"), tmp_path / "g.jpg", "JPEG", quality=95)
    p2 = _save_pil(Image.fromarray(np.dstack([g] * 3), "RGB"), tmp_path / "c.jpeg", "JPEG", quality=95)
    for p in (p1, p2):
        out = read_gray(p)
        assert out.shape == (H, W) and out.dtype == np.uint8
        assert np.abs(out.astype(int) - g).mean() < 3


def test_rgb_png_uses_luma(tmp_path):
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[..., 0] = 255  # pure red
    out = read_gray(_save_pil(Image.fromarray(rgb, "RGB"), tmp_path / "r.png", "PNG"))
    assert abs(int(out[0, 0]) - 76) <= 1  # 0.299 * 255


def test_png_behind_jpg_name(tmp_path):
    g = _ramp()
    p = _save_pil(Image.fromarray(g, "L"), tmp_path / "liar.jpg", "PNG")
    assert sniff_format(p.read_bytes()) == "PNG"
    np.testing.assert_array_equal(read_gray(p), g)


def test_rgba_composited_over_black(tmp_path):
    rgba = np.full((H, W, 4), 200, np.uint8)
    rgba[..., 3] = 255
    rgba[:, : W // 2, 3] = 0  # left half transparent
    out = read_gray(_save_pil(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png", "PNG"))
    assert out[:, : W // 2].max() == 0
    assert abs(int(out[:, W // 2:].mean()) - 200) <= 1


def test_palette(tmp_path):
    g = _ramp()
    im = Image.fromarray(g, "L").convert("P")
    assert im.mode == "P"
    out = read_gray(_save_pil(im, tmp_path / "p.png", "PNG"))
    assert np.abs(out.astype(int) - g).max() <= 2


def test_16bit_scaled_to_full_range(tmp_path):
    g16 = (np.tile(np.linspace(0, 4095, W), (H, 1))).astype(np.uint16)  # 12-bit data in 16-bit
    p = tmp_path / "deep.png"
    cv2.imwrite(str(p), g16)
    out = read_gray(p)
    assert out.dtype == np.uint8
    assert out.max() == 255 and out.min() == 0  # not the near-black of a >>8
    assert abs(int(out[0, W // 2]) - 128) <= 3


def _write_dicom(path, arr, photometric="MONOCHROME2", slope=None, intercept=None, center=None, width=None):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if center is not None:
        ds.WindowCenter, ds.WindowWidth = center, width
    ds.PixelData = arr.astype(np.uint16).tobytes()
    ds.save_as(str(path), enforce_file_format=True)
    return path


def test_dicom_minmax_and_monochrome1(tmp_path):
    arr = np.tile(np.linspace(0, 4000, W), (H, 1)).astype(np.uint16)
    a = read_gray(_write_dicom(tmp_path / "a.dcm", arr))
    assert a.shape == (H, W) and a[0, 0] == 0 and a[0, -1] == 255
    b = read_gray(_write_dicom(tmp_path / "b", arr, photometric="MONOCHROME1"))  # no extension
    np.testing.assert_array_equal(b, 255 - a)


def test_dicom_rescale_and_window(tmp_path):
    arr = np.tile(np.linspace(0, 1000, W), (H, 1)).astype(np.uint16)
    # stored 0..1000, slope 2 intercept -500 -> -500..1500; window [0, 1000] (center 500, width 1000)
    out = read_gray(_write_dicom(tmp_path / "w.dcm", arr, slope=2, intercept=-500, center=500, width=1000))
    x = arr.astype(float) * 2 - 500
    assert (out[x < 0] == 0).all() and (out[x > 1000] == 255).all()
    mid = np.argmin(np.abs(x[0] - 500))
    assert abs(int(out[0, mid]) - 128) <= 4


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"),
    (b"hello, I am a text file\n" * 10, "not an image"),
])
def test_bad_bytes(tmp_path, content, reason):
    p = tmp_path / "bad.jpg"
    p.write_bytes(content)
    with pytest.raises(UnreadableImage) as e:
        read_gray(p)
    assert reason in e.value.reason


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated(tmp_path, fmt):
    rng = np.random.default_rng(0)
    im = Image.fromarray(rng.integers(0, 255, (128, 128), dtype=np.uint8), "L")
    data = io.BytesIO()
    im.save(data, format=fmt)
    p = tmp_path / "cut.img"
    p.write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    with pytest.raises(UnreadableImage) as e:
        read_gray(p)
    assert "truncated" in e.value.reason


def test_too_small_and_missing(tmp_path):
    p = _save_pil(Image.fromarray(np.zeros((1, 1), np.uint8), "L"), tmp_path / "dot.png", "PNG")
    with pytest.raises(UnreadableImage) as e:
        read_gray(p)
    assert "too small" in e.value.reason and "1x1" in e.value.reason
    with pytest.raises(UnreadableImage, match="cannot open"):
        read_gray(tmp_path / "nope.png")
    with pytest.raises(UnreadableImage, match="directory"):
        read_gray(tmp_path)
