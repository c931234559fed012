r"""Flatten: join axes into one, e.g. the (C, H, W) of each image into C·H·W features."""

from __future__ import annotations

import math

from ._checks import check_array, check_grad, require_forward
from .module import Module


class Flatten(Module):
    r"""Reshape ``x`` so that axes ``start_dim`` .. ``end_dim`` become one, PyTorch semantics.

    Parameters
    ----------
    start_dim, end_dim : int
        The first and last axis to join (negative counts from the end). The
        default, 1 to -1, keeps the batch axis and flattens everything else:
        the bridge from convolutions (N, C, H, W) to a :class:`~litnet.Linear`
        layer (N, C·H·W).

    Shapes
    ------
    x: (N, C, H, W) -> y: (N, C·H·W) with the defaults.

    Notes
    -----
    A reshape moves no number, so backward is the inverse reshape of the
    gradient. The output is a new array (a copy) and never a view of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> flat = Flatten()
    >>> flat(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    >>> flat.backward(np.ones((2, 60))).shape
    (2, 3, 4, 5)
    >>> Flatten(0, 1)(np.zeros((2, 3, 4))).shape
    (6, 4)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, d in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not isinstance(d, int) or isinstance(d, bool):
                raise TypeError(f"Flatten: {name} must be an int, got {d!r}")
        self.start_dim, self.end_dim = start_dim, end_dim
        self._shape = None

    def _flat_shape(self, shape):
        """The output shape for an input of ``shape``; a clear error if the axes do not exist."""
        ndim = len(shape)
        start = self.start_dim + ndim if self.start_dim < 0 else self.start_dim
        end = self.end_dim + ndim if self.end_dim < 0 else self.end_dim
        if not 0 <= start <= end < ndim:
            raise ValueError(f"{self!r}: cannot flatten axes {self.start_dim}..{self.end_dim} "
                             f"of an input of shape {shape} ({ndim}-D)")
        return shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]

    def forward(self, x):
        x = check_array(self, x)
        out_shape = self._flat_shape(x.shape)
        self._shape = x.shape
        return x.reshape(out_shape).copy()          # a copy: never a view of the caller's x

    def backward(self, grad_out):
        shape = require_forward(self, self._shape)
        g = check_grad(self, grad_out, self._flat_shape(shape))
        return g.reshape(shape).copy()

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

