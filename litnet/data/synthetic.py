r"""Small synthetic data: 2-D classification sets and the optimizer test function.

Every random choice takes an injected ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np


def _check_rng(who, rng):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{who}: pass rng=np.random.default_rng(seed) (a numpy Generator); "
                        f"got {type(rng).__name__}")


def _check_count(who, name, n, minimum=1):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{who}: {name} must be an int >= {minimum}, got {n!r}")
    return int(n)


def make_spiral(n_per_class, n_classes=3, *, rng, noise=0.1, dtype=np.float32):
    r"""Interleaved spiral arms in the plane, one arm per class: not linearly separable.

    Arm :math:`k` of :math:`K` is the curve
    :math:`r(t) = t,\ \theta(t) = 2\pi k/K + 4t` for :math:`t \in [0, 1]`
    (each arm turns through 4 radians), sampled at ``n_per_class`` evenly
    spaced :math:`t`, plus Gaussian noise of std ``noise`` on each coordinate.

    Parameters
    ----------
    n_per_class : int
    n_classes : int
    rng : numpy.random.Generator
    noise : float
        Standard deviation of the noise added to each coordinate.
    dtype : floating dtype

    Returns
    -------
    x : (n_per_class * n_classes, 2) points, grouped by class
    y : (n_per_class * n_classes,) int64 labels 0..n_classes-1

    Examples
    --------
    >>> import numpy as np
    >>> x, y = make_spiral(100, 3, rng=np.random.default_rng(0))
    >>> x.shape, x.dtype, np.bincount(y).tolist()
    ((300, 2), dtype('float32'), [100, 100, 100])
    """
    who = "make_spiral"
    n = _check_count(who, "n_per_class", n_per_class)
    k = _check_count(who, "n_classes", n_classes)
    _check_rng(who, rng)
    t = np.tile(np.linspace(0.0, 1.0, n), k)
    y = np.repeat(np.arange(k), n)
    theta = 2 * np.pi * y / k + 4 * t
    x = np.stack([t * np.cos(theta), t * np.sin(theta)], axis=1)
    x += noise * rng.standard_normal(x.shape)
    return x.astype(dtype), y.astype(np.int64)


def make_blobs(n_per_class, centers=3, *, rng, std=1.0, n_features=2, dtype=np.float32):
    r"""Isotropic Gaussian clusters, one per class.

    Parameters
    ----------
    n_per_class : int
    centers : int or array_like (K, D)
        The cluster centres, or how many to draw uniformly from the box
        :math:`[-5, 5]^D` with ``rng``.
    rng : numpy.random.Generator
    std : float
        Standard deviation of every cluster along every axis.
    n_features : int
        Dimension :math:`D` when ``centers`` is a count.
    dtype : floating dtype

    Returns
    -------
    x : (n_per_class * K, D) points, grouped by class
    y : (n_per_class * K,) int64 labels 0..K-1

    Examples
    --------
    >>> import numpy as np
    >>> x, y = make_blobs(50, [[0, 0], [10, 10]], rng=np.random.default_rng(0), std=0.5)
    >>> x.shape, y.tolist()[48:52]
    ((100, 2), [0, 0, 1, 1])
    >>> np.round(x[y == 1].mean(axis=0)).tolist()
    [10.0, 10.0]
    """
    who = "make_blobs"
    n = _check_count(who, "n_per_class", n_per_class)
    _check_rng(who, rng)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = _check_count(who, "centers", centers)
        d = _check_count(who, "n_features", n_features)
        centers = rng.uniform(-5.0, 5.0, size=(k, d))
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or centers.shape[0] == 0:
        raise ValueError(f"{who}: centers must be a count or an array of shape (K, D), "
                         f"got shape {centers.shape}")
    if not std >= 0:
        raise ValueError(f"{who}: std must be >= 0, got {std!r}")
    k, d = centers.shape
    y = np.repeat(np.arange(k), n)
    x = centers[y] + std * rng.standard_normal((k * n, d))
    return x.astype(dtype), y.astype(np.int64)


# --8<-- [start:elongated_bowl]
def elongated_bowl(xy):
    r"""The optimizer test function :math:`f(x, y) = x^2/20 + y^2` and its gradient.

    A bowl twenty times flatter along :math:`x` than along :math:`y`:
    :math:`\nabla f = (x/10,\ 2y)`, minimum 0 at the origin. Plain SGD
    zig-zags across the steep :math:`y` direction while crawling along
    :math:`x`; the optimizer chapter starts every method at (-7, 2).

    Parameters
    ----------
    xy : array_like, (..., 2)
        One point ``[x, y]`` or any stack of points (e.g. a grid for a
        contour plot, ``np.stack([X, Y], axis=-1)``).

    Returns
    -------
    value : ndarray, (...)
        :math:`f` at each point.
    grad : ndarray, (..., 2)
        :math:`(\partial f/\partial x, \partial f/\partial y)` at each point.

    Examples
    --------
    >>> value, grad = elongated_bowl([-7.0, 2.0])
    >>> float(value), grad.tolist()
    (6.45, [-0.7, 4.0])
    """
    xy = np.asarray(xy)
    if xy.ndim == 0 or xy.shape[-1] != 2:
        raise ValueError(f"elongated_bowl: expected points of shape (..., 2), got {xy.shape}")
    if not np.issubdtype(xy.dtype, np.floating):
        xy = xy.astype(np.float64)
    x, y = xy[..., 0], xy[..., 1]
    value = x**2 / 20 + y**2
    grad = np.stack([x / 10, 2 * y], axis=-1)
    return value, grad
# --8<-- [end:elongated_bowl]
