r"""Two-dimensional convolution, written as one matrix product (im2col) and its transpose (col2im).

A convolution slides a small kernel over the image; at every position it takes
the dot product of the kernel with the patch under it. Written with loops
that is six nested loops. The book *Deep Learning from Scratch* (chapter 7)
turns it into a single matrix product: copy every patch into one column of a
matrix (**im2col**), multiply by the kernels laid out as rows, and the output
is there. The backward pass is the same product transposed, followed by
**col2im**, which adds every column's gradient back onto the pixels of its
patch.

litnet's im2col differs from the book's in one layout choice that makes it
fast in NumPy. The padded images of a batch are laid end to end, one long row
of :math:`L = N H_p W_p` numbers per channel. A patch whose top-left corner
sits at flat position :math:`q` then holds the numbers at
:math:`q + i W_p + j` for the kernel offsets :math:`(i, j)`: for each of the
:math:`k_h k_w` offsets, the patches of all :math:`L` corners are one
*contiguous* slice of that row, shifted by :math:`i W_p + j`. So im2col is a
strided view (no copying until the final reshape) and col2im is
:math:`k_h k_w` slice additions. The price: a column is made for *every*
corner, also for those whose patch hangs over the right or bottom edge or that
the stride skips; their outputs are computed and thrown away. At 8×8 images
with padding 1 that is 100 columns per image for 64 outputs.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import init as _init
from ._checks import check_array, check_grad, require_forward
from .module import Module
from .parameter import Parameter


def pair(value, name, owner, minimum):
    """``value`` as a pair of ints ``>= minimum`` (an int ``k`` means ``(k, k)``)."""
    items = (value, value) if isinstance(value, (int, np.integer)) else value
    ok = isinstance(items, (tuple, list)) and len(items) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum
        for v in items)
    if not ok or isinstance(value, bool):
        raise ValueError(f"{owner}: {name} must be an int >= {minimum} or a pair of them, "
                         f"got {value!r}")
    return int(items[0]), int(items[1])


# --8<-- [start:im2col]
def im2col(rows, kernel, width, length):
    r"""The patches of ``rows`` as columns: (C, length + tail) -> (C kh kw, length).

    ``rows`` holds, per channel, the padded images laid end to end (row
    ``c`` is channel ``c`` of image 0, then of image 1, ...), followed by
    ``tail = (kh - 1) width + (kw - 1)`` zeros so that every patch stays
    inside the array. Column ``q`` of the result is the patch whose top-left
    corner is the flat position ``q``: entry ``(c, i, j)`` of that column is
    ``rows[c, q + i * width + j]``.

    Examples
    --------
    >>> rows = np.array([[0.0, 1, 2, 3, 4, 5, 0]])   # one channel: a 2x3 image, 1 tail zero
    >>> im2col(rows, (1, 2), width=3, length=6)       # kernel offsets (0, 0) and (0, 1)
    array([[0., 1., 2., 3., 4., 5.],
           [1., 2., 3., 4., 5., 0.]])
    """
    kh, kw = kernel
    step_c, step = rows.strides
    # a view: moving one kernel row down is `width` numbers on, one column right is 1
    patches = as_strided(rows, (rows.shape[0], kh, kw, length),
                         (step_c, width * step, step, step), writeable=False)
    return patches.reshape(rows.shape[0] * kh * kw, length)       # the only copy
# --8<-- [end:im2col]


# --8<-- [start:col2im]
def col2im(cols, kernel, width, length):
    r"""The transpose of :func:`im2col`: add every column back onto its patch.

    ``cols``: (C kh kw, length) -> (C, length + tail). A pixel that lies in
    several patches receives the sum of their entries, which is what the
    chain rule asks for: the pixel was used once per patch.

    Examples
    --------
    >>> cols = np.ones((2, 6))                # the two kernel offsets of the example above
    >>> col2im(cols, (1, 2), width=3, length=6)
    array([[1., 2., 2., 2., 2., 2., 1.]])
    """
    kh, kw = kernel
    channels = cols.shape[0] // (kh * kw)
    cols = cols.reshape(channels, kh, kw, length)
    rows = np.zeros((channels, length + (kh - 1) * width + kw - 1), dtype=cols.dtype)
    for i in range(kh):                  # one slice addition per kernel offset (i, j)
        for j in range(kw):
            shift = i * width + j
            rows[:, shift:shift + length] += cols[:, i, j]
    return rows
# --8<-- [end:col2im]


class Conv2d(Module):
    r"""2-D convolution (cross-correlation) of a (N, C, H, W) batch, PyTorch's layout.

    Parameters
    ----------
    in_channels, out_channels : int
        :math:`C_\text{in}` and :math:`C_\text{out}`.
    kernel_size : int or (int, int)
        :math:`(k_h, k_w)`.
    stride : int or (int, int)
        Step between neighbouring patches, :math:`(s_h, s_w)`.
    padding : int or (int, int)
        Zeros added on each side, :math:`(p_h, p_w)`.
    bias : bool
        Learn one additive bias per output channel (initialised to zero, as
        litnet's :class:`~litnet.Linear`).
    init : callable
        ``init(shape, rng=..., dtype=...)`` for the weight; default
        :func:`litnet.init.lecun_uniform`, uniform on
        :math:`\pm 1/\sqrt{C_\text{in} k_h k_w}`, which is PyTorch's default
        (``kaiming_uniform_`` with :math:`a = \sqrt 5`).
    rng : numpy.random.Generator
        Source of randomness for the initialiser (required).
    dtype : float32 or float64
        Dtype of the parameters; inputs must match it.

    Shapes
    ------
    x: (N, C_in, H, W) -> y: (N, C_out, H_out, W_out) with
    :math:`H_\text{out} = \lfloor (H + 2p_h - k_h)/s_h \rfloor + 1` (the same for
    :math:`W`); ``weight``: (C_out, C_in, k_h, k_w) as in ``torch.nn.Conv2d``;
    ``bias``: (C_out,).

    Notes
    -----
    With :math:`\tilde x` the padded input,

    .. math:: y_{n o h w} = b_o + \sum_{c, i, j}
              W_{o c i j}\, \tilde x_{n,\, c,\, s_h h + i,\, s_w w + j} .

    With the patches as the columns of :math:`X_\text{col}` (:func:`im2col`)
    and the kernels as the rows of :math:`W_\text{row}` (C_out, C_in k_h k_w),
    this is :math:`Y = W_\text{row} X_\text{col}`, and backward is
    :class:`~litnet.Linear`'s, transposed:

    .. math:: \frac{\partial L}{\partial W_\text{row}} = G X_\text{col}^\top, \qquad
              \frac{\partial L}{\partial X_\text{col}} = W_\text{row}^\top G, \qquad
              \frac{\partial L}{\partial b_o} = \textstyle\sum_{n,h,w} g_{n o h w},

    after which :func:`col2im` adds each column's gradient onto its patch and
    the padding is cut off. Columns of corners that give no output get a zero
    gradient.

    Examples
    --------
    >>> conv = Conv2d(1, 2, 3, padding=1, rng=np.random.default_rng(0))
    >>> conv
    Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=True, dtype=float32)
    >>> conv.weight.shape, conv(np.ones((4, 1, 8, 8), np.float32)).shape
    ((2, 1, 3, 3), (4, 2, 8, 8))
    >>> edge = Conv2d(1, 1, (1, 2), bias=False, rng=np.random.default_rng(0), dtype=np.float64)
    >>> edge.weight.data[...] = [[[[-1.0, 1.0]]]]        # right neighbour minus left
    >>> edge(np.array([[[[0.0, 1.0, 4.0]]]]))
    array([[[[1., 3.]]]])
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 *, init=None, rng=None, dtype=np.float32):
        super().__init__()
        if rng is None:
            raise TypeError("Conv2d: pass rng=np.random.default_rng(seed); litnet never uses "
                            "a global random state")
        for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"Conv2d: {name} must be a positive int, got {n!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = pair(stride, "stride", "Conv2d", 1)
        self.padding = pair(padding, "padding", "Conv2d", 0)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter((init or _init.lecun_uniform)(shape, rng=rng, dtype=dtype))
        self.bias = Parameter(np.zeros(self.out_channels, dtype=dtype)) if bias else None
        self._cache = None

    def _geometry(self, x):
        """Padded size and output size for ``x``; a clear error if the kernel does not fit."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        hp, wp = x.shape[2] + 2 * ph, x.shape[3] + 2 * pw
        if kh > hp or kw > wp:
            raise ValueError(f"{self!r}: kernel {kh}x{kw} is larger than the padded input "
                             f"{hp}x{wp} (input shape {x.shape}, padding {self.padding})")
        return hp, wp, (hp - kh) // sh + 1, (wp - kw) // sw + 1

    # --8<-- [start:forward]
    def forward(self, x):
        x = check_array(self, x, ndim=4, features=self.in_channels, dtype=self.weight.dtype)
        n, c, h, w = x.shape
        hp, wp, oh, ow = self._geometry(x)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        length = n * hp * wp                               # one column per corner
        rows = np.zeros((c, length + (kh - 1) * wp + kw - 1), dtype=x.dtype)
        rows[:, :length].reshape(c, n, hp, wp)[:, :, ph:ph + h, pw:pw + w] = \
            x.transpose(1, 0, 2, 3)                         # pad, channels first
        cols = im2col(rows, self.kernel_size, wp, length)  # (C kh kw, L)
        out = self.weight.data.reshape(self.out_channels, -1) @ cols   # (C_out, L)
        # keep the corners that give an output: the first oh x ow of each image, strided
        out = out.reshape(-1, n, hp, wp)[:, :, :sh * oh:sh, :sw * ow:sw]
        y = np.ascontiguousarray(out.transpose(1, 0, 2, 3))
        if self.bias is not None:
            y += self.bias.data.reshape(1, -1, 1, 1)
        self._cache = (cols, x.shape, (hp, wp, oh, ow))
        return y
    # --8<-- [end:forward]

    # --8<-- [start:backward]
    def backward(self, grad_out, *, input_grad=True):
        cols, (n, c, h, w), (hp, wp, oh, ow) = require_forward(self, self._cache)
        g = check_grad(self, grad_out, (n, self.out_channels, oh, ow))
        (sh, sw), (ph, pw) = self.stride, self.padding
        # dL/dY for every corner: the upstream gradient where there is an output, else 0
        grid = np.zeros((self.out_channels, n, hp, wp), dtype=cols.dtype)
        grid[:, :, :sh * oh:sh, :sw * ow:sw] = g.transpose(1, 0, 2, 3)
        grid = grid.reshape(self.out_channels, -1)                       # G: (C_out, L)
        self.weight.accumulate((cols @ grid.T).T.reshape(self.weight.shape))  # G X^T
        if self.bias is not None:
            self.bias.accumulate(g.sum(axis=(0, 2, 3)))
        if not input_grad:                        # x is the data: nobody reads dL/dx
            return None
        dcols = self.weight.data.reshape(self.out_channels, -1).T @ grid   # W^T G
        rows = col2im(dcols, self.kernel_size, wp, grid.shape[1])
        dx = rows[:, :grid.shape[1]].reshape(c, n, hp, wp)[:, :, ph:ph + h, pw:pw + w]
        return np.ascontiguousarray(dx.transpose(1, 0, 2, 3))          # cut the padding off
    # --8<-- [end:backward]

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}, "
                f"dtype={self.weight.dtype}")
