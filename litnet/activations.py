r"""Elementwise activations, each derivative written next to its forward.

=============  ===============================  ==================================
layer          forward :math:`f(x)`             derivative :math:`f'(x)`
=============  ===============================  ==================================
Sigmoid        :math:`1/(1+e^{-x})`             :math:`f(1-f) \le 1/4`
Tanh           :math:`\tanh x`                  :math:`1-f^2 \le 1`
ReLU           :math:`\max(0, x)`               :math:`[x > 0]`
LeakyReLU      :math:`x` or :math:`a x`         :math:`1` or :math:`a`
PReLU          like LeakyReLU, :math:`a` learnt :math:`\partial f/\partial a = \min(0,x)`
=============  ===============================  ==================================

Every output here is returned read-only (a flag, free): Sigmoid and Tanh keep
their output for backward, so writing into it would silently change the
gradient; it raises instead. PReLU keeps its input, as it is when read-only
(e.g. another layer's output), else as a copy. The caller's arrays are never
changed, flags included.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import check_array, check_grad, kept, readonly, require_forward
from .module import Module
from .parameter import Parameter


class _Elementwise(Module):
    """Shared bookkeeping: validate input, check the gradient's shape."""

    def _input(self, x):
        return check_array(self, x, ndim=(1, 2, 3, 4))

    def _grad(self, grad_out, like):
        return check_grad(self, grad_out, like.shape)


# --8<-- [start:sigmoid]
class Sigmoid(_Elementwise):
    r"""Logistic sigmoid :math:`\sigma(x) = 1/(1+e^{-x})`;
    :math:`\sigma' = \sigma(1-\sigma) \le 1/4`.

    Computed as :math:`1/(1+e^{-x})`, with full relative precision on both tails.
    For very negative :math:`x` (below about -88 in float32, -709 in float64)
    :math:`e^{-x}` overflows to ``inf`` and the result is 0, where the true
    value is below the smallest normal number of the dtype (about
    :math:`10^{-38}`, :math:`10^{-308}`); that overflow is expected, so its
    warning is silenced.

    Shapes: x: (N, *) -> y: same shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> Sigmoid()(np.array([[-800.0, 0.0, 800.0]]))
    array([[0. , 0.5, 1. ]])
    """

    def forward(self, x):
        x = self._input(x)
        with np.errstate(over="ignore"):        # exp(-x) = inf gives y = 0: correct
            y = 1 / (1 + np.exp(-x))
        self._y = readonly(y)                   # sigma' is written with the output
        return y

    def backward(self, grad_out):
        y = require_forward(self, getattr(self, "_y", None))
        return self._grad(grad_out, y) * y * (1 - y)   # dL/dx = g * s(1-s)
# --8<-- [end:sigmoid]


class Tanh(_Elementwise):
    r"""Hyperbolic tangent; :math:`\tanh' = 1-\tanh^2 \le 1`.

    Examples
    --------
    >>> import numpy as np
    >>> Tanh()(np.array([[0.0, 1e4]]))
    array([[0., 1.]])
    """

    def forward(self, x):
        self._y = readonly(np.tanh(self._input(x)))   # kept: returned read-only
        return self._y

    def backward(self, grad_out):
        y = require_forward(self, getattr(self, "_y", None))
        return self._grad(grad_out, y) * (1 - y * y)


# --8<-- [start:relu]
class ReLU(_Elementwise):
    r"""Rectified linear unit :math:`\max(0, x)`; derivative 1 where :math:`x>0`, else 0.

    Examples
    --------
    >>> import numpy as np
    >>> relu = ReLU()
    >>> relu(np.array([[-2.0, 3.0]]))
    array([[0., 3.]])
    >>> relu.backward(np.array([[5.0, 5.0]]))
    array([[0., 5.]])
    """

    def forward(self, x):
        x = self._input(x)
        self._mask = x > 0                             # where the derivative is 1
        return readonly(np.maximum(x, 0))              # keeps x's dtype

    def backward(self, grad_out):
        mask = require_forward(self, getattr(self, "_mask", None))
        g = self._grad(grad_out, mask)
        return g * mask                   # dL/dx = g [x > 0]; a new array, g is not touched
# --8<-- [end:relu]


class LeakyReLU(_Elementwise):
    r""":math:`x` for :math:`x>0`, else :math:`a x` with a fixed ``negative_slope`` :math:`a`.

    Examples
    --------
    >>> import numpy as np
    >>> LeakyReLU(0.1)(np.array([[-2.0, 3.0]]))
    array([[-0.2,  3. ]])
    """

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        x = self._input(x)
        self._mask = x > 0
        return readonly(np.where(self._mask, x, self.negative_slope * x))

    def backward(self, grad_out):
        mask = require_forward(self, getattr(self, "_mask", None))
        g = self._grad(grad_out, mask)
        return np.where(mask, g, self.negative_slope * g)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class PReLU(_Elementwise):
    r"""Parametric ReLU: like LeakyReLU, but the slope :math:`a` is a learnt ``weight``.

    Parameters
    ----------
    num_parameters : int
        1 (one slope shared by all features, PyTorch's default) or the number
        of features (one slope per column of a (N, C) input).
    init : float
        Initial slope, 0.25 as in PyTorch.

    Notes
    -----
    .. math:: \frac{\partial L}{\partial a} = \sum \frac{\partial L}{\partial y}\,\min(0, x)

    Examples
    --------
    >>> import numpy as np
    >>> p = PReLU(dtype=np.float64)
    >>> p(np.array([[-2.0, 3.0]]))
    array([[-0.5,  3. ]])
    >>> _ = p.backward(np.ones((1, 2)))
    >>> p.weight.grad
    array([-2.])
    """

    def __init__(self, num_parameters=1, init=0.25, dtype=np.float32):
        super().__init__()
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, (int, np.integer)) \
                or num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be a positive int (1, or the number "
                             f"of channels), got {num_parameters!r}")
        if isinstance(init, bool) or not isinstance(init, numbers.Real) or not np.isfinite(init):
            raise ValueError(f"PReLU: init must be a finite number, got {init!r}")
        self.num_parameters = int(num_parameters)
        self.weight = Parameter(np.full(self.num_parameters, init, dtype=dtype))

    def _slope(self, x):
        if self.num_parameters == 1:
            return self.weight.data[0]
        if x.ndim < 2 or x.shape[1] != self.num_parameters:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.num_parameters}, ...), "
                             f"got {x.shape}")
        return self.weight.data.reshape((1, -1) + (1,) * (x.ndim - 2))

    def forward(self, x):
        x = check_array(self, x, ndim=(1, 2, 3, 4), dtype=self.weight.dtype)
        a = self._slope(x)
        self._x = kept(x)                               # a copy unless read-only
        return readonly(np.where(x > 0, x, a * x))

    def backward(self, grad_out):
        x = require_forward(self, getattr(self, "_x", None))
        g = self._grad(grad_out, x)
        neg = np.minimum(x, 0) * g                      # dL/da per element
        if self.num_parameters == 1:
            self.weight.accumulate(np.array([neg.sum()], dtype=x.dtype))
        else:
            axes = (0,) + tuple(range(2, x.ndim))
            self.weight.accumulate(neg.sum(axis=axes))
        return np.where(x > 0, g, self._slope(x) * g)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"
