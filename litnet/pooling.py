r"""Pooling over the pixels of each channel: max, average, and global (adaptive) average.

A pooling layer has no parameters. It looks at windows of a (N, C, H, W)
batch, each channel on its own, and keeps one number per window: the largest
(:class:`MaxPool2d`) or the mean (:class:`AvgPool2d`,
:class:`AdaptiveAvgPool2d`). :func:`windows` is the strided view of all
windows (no copy) and :func:`add_windows` its transpose, which adds a
gradient per window back onto the pixels, one slice addition per position in
the window (as :func:`litnet.conv.col2im` does for convolutions).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._checks import check_array, check_grad, require_forward
from .conv import pair
from .module import Module


def windows(x, kernel, stride):
    """The windows of ``x`` (N, C, H, W) as a read-only view (N, C, H_out, W_out, kh, kw).

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> windows(x, (2, 2), (2, 2))[0, 0, 1, 0]       # the bottom-left 2x2 window
    array([[ 8.,  9.],
           [12., 13.]])
    """
    (kh, kw), (sh, sw) = kernel, stride
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s_n, s_c, s_h, s_w = x.strides
    return as_strided(x, (n, c, oh, ow, kh, kw), (s_n, s_c, s_h * sh, s_w * sw, s_h, s_w),
                      writeable=False)


def add_windows(per_window, shape, stride):
    """The transpose of :func:`windows`: (N, C, H_out, W_out, kh, kw) -> (N, C, H, W).

    Every window's values are added onto the pixels it covers, so a pixel in
    two overlapping windows receives both.
    """
    (sh, sw), (kh, kw) = stride, per_window.shape[4:]
    oh, ow = per_window.shape[2:4]
    out = np.zeros(shape, dtype=per_window.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += per_window[:, :, :, :, i, j]
    return out


class _Pool2d(Module):
    """What the fixed-window pools share: arguments, input checks, the repr."""

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = pair(kernel_size, "kernel_size", name, 1)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", name, 1)
        self._cache = None

    def _check(self, x):
        x = check_array(self, x, ndim=4)
        (kh, kw), (h, w) = self.kernel_size, x.shape[2:]
        if kh > h or kw > w:
            raise ValueError(f"{self!r}: kernel {kh}x{kw} is larger than the input "
                             f"{h}x{w} (input shape {x.shape})")
        return x

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class MaxPool2d(_Pool2d):
    r"""The largest value of each window, PyTorch's ``nn.MaxPool2d(kernel_size, stride)``.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int) or None
        ``None`` (default) means the kernel size: windows side by side.

    Shapes
    ------
    x: (N, C, H, W) -> y: (N, C, H_out, W_out) with
    :math:`H_\text{out} = \lfloor (H - k_h)/s_h \rfloor + 1` (the same for :math:`W`).

    Notes
    -----
    :math:`y = \max_{(i, j) \in \text{window}} x_{ij}`, so the gradient goes
    to the one pixel that was the maximum, all of :math:`g`, and the others
    get 0. On a tie the first maximum in row-major order wins, as in PyTorch.

    Examples
    --------
    >>> pool = MaxPool2d(2)
    >>> pool(np.array([[[[1.0, 2, 0, 0], [3, 4, 0, 5], [0, 0, 0, 0], [0, 6, 7, 0]]]]))
    array([[[[4., 5.],
             [6., 7.]]]])
    >>> pool.backward(np.ones((1, 1, 2, 2)))[0, 0]
    array([[0., 0., 0., 0.],
           [0., 1., 0., 1.],
           [0., 0., 0., 0.],
           [0., 1., 1., 0.]])
    """

    # --8<-- [start:maxpool]
    def forward(self, x):
        x = self._check(x)
        win = windows(x, self.kernel_size, self.stride)
        flat = win.reshape(win.shape[:4] + (-1,))              # (N, C, H_out, W_out, kh kw)
        where = flat.argmax(axis=-1)[..., None]                # which pixel is the maximum
        self._cache = (where, x.shape, win.shape)
        return np.take_along_axis(flat, where, axis=-1)[..., 0]

    def backward(self, grad_out):
        where, shape, win_shape = require_forward(self, self._cache)
        g = check_grad(self, grad_out, win_shape[:4])
        per_window = np.zeros(win_shape[:4] + (win_shape[4] * win_shape[5],), dtype=g.dtype)
        np.put_along_axis(per_window, where, g[..., None], axis=-1)   # g to the maximum only
        return add_windows(per_window.reshape(win_shape), shape, self.stride)
    # --8<-- [end:maxpool]


class AvgPool2d(_Pool2d):
    r"""The mean of each window, PyTorch's ``nn.AvgPool2d(kernel_size, stride)``.

    Parameters and shapes as :class:`MaxPool2d`.

    Notes
    -----
    :math:`y = \frac{1}{k_h k_w}\sum_{(i, j) \in \text{window}} x_{ij}`, so every
    pixel of a window receives :math:`g/(k_h k_w)`.

    Examples
    --------
    >>> AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """

    # --8<-- [start:avgpool]
    def forward(self, x):
        x = self._check(x)
        win = windows(x, self.kernel_size, self.stride)
        self._cache = (x.shape, win.shape)
        return win.mean(axis=(4, 5))

    def backward(self, grad_out):
        shape, win_shape = require_forward(self, self._cache)
        g = check_grad(self, grad_out, win_shape[:4])
        share = g / (win_shape[4] * win_shape[5])              # each pixel's part of the mean
        per_window = np.broadcast_to(share[..., None, None], win_shape)
        return add_windows(per_window, shape, self.stride)
    # --8<-- [end:avgpool]


class AdaptiveAvgPool2d(Module):
    r"""Average pooling to a fixed output size, PyTorch's ``nn.AdaptiveAvgPool2d``.

    ``AdaptiveAvgPool2d(1)`` is *global average pooling*: one number per
    channel, the mean over all pixels, whatever the image size.

    Parameters
    ----------
    output_size : int or (int, int)
        :math:`(H_\text{out}, W_\text{out})`.

    Shapes
    ------
    x: (N, C, H, W) with :math:`H \ge H_\text{out}, W \ge W_\text{out}` ->
    y: (N, C, H_out, W_out).

    Notes
    -----
    Output cell :math:`(a, b)` is the mean of rows
    :math:`\lfloor aH/H_\text{out}\rfloor` to :math:`\lceil (a+1)H/H_\text{out}\rceil - 1`
    and the columns defined in the same way (PyTorch's rule: the cells tile the
    image, overlapping by a pixel when the sizes do not divide). Each pixel of
    a cell receives the cell's gradient divided by the cell's area.

    Examples
    --------
    >>> gap = AdaptiveAvgPool2d(1)
    >>> gap(np.arange(8.0).reshape(1, 2, 2, 2))                 # channel means 1.5 and 5.5
    array([[[[1.5]],
    <BLANKLINE>
            [[5.5]]]])
    >>> gap.backward(np.ones((1, 2, 1, 1)))[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = pair(output_size, "output_size", "AdaptiveAvgPool2d", 1)
        self._cache = None

    def _cells(self, h, w):
        """The (row slice, column slice) of every output cell, in row-major order."""
        (oh, ow) = self.output_size

        def bounds(size, out, a):
            return slice(a * size // out, -(-(a + 1) * size // out))   # floor, ceil

        return [(bounds(h, oh, a), bounds(w, ow, b)) for a in range(oh) for b in range(ow)]

    # --8<-- [start:adaptive]
    def forward(self, x):
        x = check_array(self, x, ndim=4)
        (oh, ow), (h, w) = self.output_size, x.shape[2:]
        if oh > h or ow > w:
            raise ValueError(f"{self!r}: output size {oh}x{ow} is larger than the input "
                             f"{h}x{w} (input shape {x.shape})")
        if (oh, ow) == (1, 1):                                  # global average pooling
            y = x.mean(axis=(2, 3), keepdims=True)
        else:
            y = np.stack([x[:, :, r, c].mean(axis=(2, 3)) for r, c in self._cells(h, w)],
                         axis=-1).reshape(x.shape[:2] + (oh, ow))
        self._cache = x.shape
        return y

    def backward(self, grad_out):
        shape = require_forward(self, self._cache)
        g = check_grad(self, grad_out, shape[:2] + self.output_size)
        dx = np.zeros(shape, dtype=g.dtype)
        flat = g.reshape(shape[:2] + (-1,))
        for k, (r, c) in enumerate(self._cells(*shape[2:])):
            area = (r.stop - r.start) * (c.stop - c.start)
            dx[:, :, r, c] += flat[:, :, k, None, None] / area   # cells may overlap: add
        return dx
    # --8<-- [end:adaptive]

    def extra_repr(self):
        return f"output_size={self.output_size}"
