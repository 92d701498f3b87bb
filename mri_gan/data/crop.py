"""Margin removal and resizing: the one image transform of the project (`preprocess_array`).

How the crop works (as in the paper, which crops the extra black margin around the head before
resizing): the gray image is blurred (5x5 Gaussian) so JPEG noise and single bright pixels do not
count, thresholded at `data.crop_threshold`, opened (3x3, 2 iterations) to cut thin bridges to
text labels or scanner marks, and the largest external contour is taken as the head; its bounding
box is the crop. Images with no margin give a box equal to the image; images where nothing is
above the threshold (blank), or whose largest blob is tiny (< 1 % of the image: noise only), are
left uncropped rather than cropped to a speck. The blur lets the box reach 1-2 px into the
margin around the head (a thin black rim, harmless; the box is otherwise exact).

Resizing: the crop is padded with black to a centered square (the background of an MRI is black,
so padding adds no information and keeps anatomy undistorted; stretching would change head shape
in a way that correlates with the source sub-dataset), then resized to size x size with
INTER_AREA when shrinking (no aliasing) and INTER_CUBIC when enlarging. `data.pad=False` stretches
instead.
"""

from __future__ import annotations

import cv2
import numpy as np

_MIN_BLOB_FRACTION = 0.01  # a largest blob below 1 % of the image is noise, not a head

def head_bbox(gray: np.ndarray, threshold: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the head: bounding box of the largest blob above `threshold`."""
    h, w = gray.shape
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    _, mask = cv2.threshold(blurred, threshold, 255, cv2.THRESH_BINARY)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8), iterations=2)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return 0, 0, w, h
    largest = max(contours, key=cv2.contourArea)
    x, y, bw, bh = cv2.boundingRect(largest)
    if bw * bh < _MIN_BLOB_FRACTION * h * w:
        return 0, 0, w, h
    return x, y, bw, bh

def crop_margin(gray: np.ndarray, threshold: int) -> np.ndarray:
    """The image cropped to the head's bounding box (a view, no copy)."""
    x, y, w, h = head_bbox(gray, threshold)
    return gray[y:y + h, x:x + w]

def pad_square(img: np.ndarray) -> np.ndarray:
    """Pad with black to a centered square."""
    h, w = img.shape
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    return cv2.copyMakeBorder(img, top, side - h - top, left, side - w - left, cv2.BORDER_CONSTANT, value=0)

def resize(img: np.ndarray, size: int, pad: bool = True) -> np.ndarray:
    """Square (padded or stretched) and resized to size x size uint8."""
    if pad:
        img = pad_square(img)
    h, w = img.shape
    if (h, w) == (size, size):
        return np.ascontiguousarray(img)
    interp = cv2.INTER_AREA if size < max(h, w) else cv2.INTER_CUBIC
    return cv2.resize(img, (size, size), interpolation=interp)

def preprocess_array(gray: np.ndarray, size: int, data_cfg) -> np.ndarray:
    """uint8 gray (H, W) -> uint8 (size, size): crop the margin, pad to square, resize."""
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"preprocess_array expects uint8 (H, W), got {gray.dtype} {gray.shape}")
    return resize(crop_margin(gray, data_cfg.crop_threshold), int(size), data_cfg.pad)
