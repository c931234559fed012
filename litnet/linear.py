r"""Fully connected layer: :math:`y = x W^\top + b`."""

from __future__ import annotations

import numpy as np

from . import init as _init
from ._checks import check_array, check_grad, require_forward
from .module import Module
from .parameter import Parameter


class Linear(Module):
    r"""Affine map :math:`y = x W^\top + b`, PyTorch's weight layout.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        Learn an additive bias (initialised to zero).
    init : callable
        ``init(shape, rng=..., dtype=...)`` for the weight; default
        :func:`litnet.init.lecun_uniform` (PyTorch's default scale).
    rng : numpy.random.Generator
        Source of randomness for the initialiser (required).
    dtype : float32 or float64
        Dtype of the parameters; inputs must match it.

    Shapes
    ------
    x: (N, in_features) -> y: (N, out_features); ``weight``: (out_features,
    in_features) as in ``torch.nn.Linear``; ``bias``: (out_features,).

    Notes
    -----
    The notes write :math:`y = xW` with :math:`W` of shape (in, out); litnet
    stores the transpose so that ``weight`` is the same array PyTorch has.
    With :math:`g = \partial L/\partial y` the backward is

    .. math:: \frac{\partial L}{\partial W} = g^\top x, \qquad
              \frac{\partial L}{\partial b} = \textstyle\sum_n g_n, \qquad
              \frac{\partial L}{\partial x} = g W .

    Examples
    --------
    >>> import numpy as np
    >>> layer = Linear(3, 2, rng=np.random.default_rng(0))
    >>> layer
    Linear(in_features=3, out_features=2, bias=True, dtype=float32)
    >>> layer.weight.shape, layer.bias.shape
    ((2, 3), (2,))
    >>> layer(np.ones((4, 3), np.float32)).shape
    (4, 2)
    """

    def __init__(self, in_features, out_features, bias=True, init=None, *, rng=None,
                 dtype=np.float32):
        super().__init__()
        if rng is None:
            raise TypeError("Linear: pass rng=np.random.default_rng(seed); litnet never uses "
                            "a global random state")
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"Linear: {name} must be a positive int, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        init = init or _init.lecun_uniform
        self.weight = Parameter(init((self.out_features, self.in_features), rng=rng, dtype=dtype))
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None
        self._x = None

    # --8<-- [start:forward]
    def forward(self, x):
        x = check_array(self, x, ndim=2, features=self.in_features,
                        dtype=self.weight.dtype)
        self._x = x  # backward needs the input for dL/dW
        y = x @ self.weight.data.T
        if self.bias is not None:
            y += self.bias.data                  # in place: y is a new array
        return y
    # --8<-- [end:forward]

    # --8<-- [start:backward]
    def backward(self, grad_out):
        x = require_forward(self, self._x)
        g = check_grad(self, grad_out, (x.shape[0], self.out_features))
        self.weight.accumulate(g.T @ x)          # dL/dW = g^T x
        if self.bias is not None:
            self.bias.accumulate(g.sum(axis=0))  # dL/db = sum over the batch
        if not self.needs_input_grad:            # x is the data: nobody reads dL/dx
            return None
        return g @ self.weight.data              # dL/dx = g W
    # --8<-- [end:backward]

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, dtype={self.weight.dtype}")
