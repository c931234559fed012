r"""The 8×8 handwritten digits that ship with litnet, so nothing is downloaded.

Origin: the copy of the UCI *Optical Recognition of Handwritten Digits* test
set distributed with scikit-learn (``sklearn.datasets.load_digits``): 1,797
images of the digits 0–9 written by 13 people, each a 32×32 bitmap reduced to
8×8 blocks that count the ink pixels, so a pixel is an integer in 0..16.
Authors: E. Alpaydin and C. Kaynak (Boğaziçi University, 1998). Licence:
Creative Commons Attribution 4.0 (CC BY 4.0), via the UCI Machine Learning
Repository, https://doi.org/10.24432/C50P49. ``digits.npz`` beside this file
holds the unchanged pixels (uint8, (1797, 64)) and labels (uint8, (1797,));
README.txt records how it was made and its SHA-256.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import NamedTuple

import numpy as np

N_DIGITS = 1797  # images in the file
MAX_PIXEL = 16   # a pixel counts the ink in a 4x4 block: 0..16


class Split(NamedTuple):
    """A train/test split: ``x_train`` (N, D), ``y_train`` (N,), ``x_test``, ``y_test``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@lru_cache(maxsize=1)
def _read_digits():
    """The raw file, read once: uint8 pixels (1797, 64) and labels (1797,), read-only."""
    with resources.files(__package__).joinpath("digits.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as npz:
            pixels, labels = npz["pixels"], npz["labels"]
    pixels.flags.writeable = False
    labels.flags.writeable = False
    return pixels, labels


def load_digits(*, rng=None, test_size=297, dtype=np.float32, scale=True, images=False):
    r"""Scikit-learn's 8×8 handwritten digits (UCI, CC BY 4.0), split into train and test.

    Parameters
    ----------
    rng : numpy.random.Generator or None
        Shuffles the 1,797 images before splitting, so each seed gives its own
        split. ``None`` keeps the file's order (no randomness at all): the
        first ``1797 - test_size`` images train, the last ``test_size`` test.
    test_size : int
        Number of test images, 297 by default (1,500 train / 297 test, the
        split of the sigmoid-vs-BN reproduction). 0 gives an empty test set.
    dtype : floating dtype
        Dtype of the images (float32 by default, like litnet's layers).
    scale : bool
        Divide the pixel counts 0..16 by 16, so images lie in [0, 1]
        (default). ``False`` keeps the counts 0..16 as floats.
    images : bool
        Return the images as (N, 1, 8, 8), one channel of 8×8 pixels, the
        layout of :class:`~litnet.Conv2d`, instead of rows of 64 numbers.

    Returns
    -------
    Split
        ``(x_train, y_train, x_test, y_test)``: images (N, 64), one row per
        digit in row-major order (``x.reshape(-1, 8, 8)`` shows them; with
        ``images=True`` they come as (N, 1, 8, 8)), and
        integer labels 0..9 (int64, ready for
        :func:`~litnet.softmax_cross_entropy`). Fresh, writable arrays.

    Notes
    -----
    Origin: the UCI *Optical Recognition of Handwritten Digits* data set by
    E. Alpaydin and C. Kaynak (1998), as copied in scikit-learn; licensed
    CC BY 4.0 (https://doi.org/10.24432/C50P49). Classes are balanced
    (174 to 183 images each).

    Examples
    --------
    >>> import numpy as np
    >>> x_train, y_train, x_test, y_test = load_digits(rng=np.random.default_rng(0))
    >>> x_train.shape, y_train.shape, x_test.shape, x_train.dtype
    ((1500, 64), (1500,), (297, 64), dtype('float32'))
    >>> float(x_train.min()), float(x_train.max()), sorted(set(y_test.tolist()))
    (0.0, 1.0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> load_digits(images=True).x_train.shape
    (1500, 1, 8, 8)
    """
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"load_digits: expected a floating dtype, got {dtype}")
    if isinstance(test_size, bool) or not isinstance(test_size, (int, np.integer)) \
            or not 0 <= test_size < N_DIGITS:
        raise ValueError(f"load_digits: test_size must be an int in [0, {N_DIGITS - 1}], "
                         f"got {test_size!r}")
    if not isinstance(images, bool):
        raise TypeError(f"load_digits: images must be True or False, got {images!r}")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError("load_digits: rng must be a numpy.random.Generator "
                        f"(np.random.default_rng(seed)) or None, got {type(rng).__name__}")
    pixels, labels = _read_digits()
    order = np.arange(N_DIGITS) if rng is None else rng.permutation(N_DIGITS)
    x = pixels[order].astype(dtype)
    if scale:
        x /= MAX_PIXEL
    if images:
        x = x.reshape(-1, 1, 8, 8)                 # (N, channels, height, width)
    y = labels[order].astype(np.int64)
    n_train = N_DIGITS - int(test_size)
    return Split(x[:n_train], y[:n_train], x[n_train:], y[n_train:])
