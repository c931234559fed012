r"""Layer normalisation: standardise each sample over its own features.

:func:`normalize` and :func:`normalize_backward` are the per-sample
standardisation and its closed-form gradient; :class:`LayerNorm` and
:class:`~litnet.GroupNorm` differ only in the axes they pass.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_array, check_grad, check_int, require_forward
from .module import Module
from .moments import moments
from .parameter import Parameter


# --8<-- [start:normalize]
def normalize(x, axes, eps, owner="normalize"):
    r"""Standardise ``x`` over ``axes``: :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}`.

    :math:`\mu` and the biased variance :math:`\sigma^2` are taken over
    ``axes`` (kept as size-1 axes so they broadcast) by :func:`~litnet.moments.moments`,
    which retries in float64 where they overflow the dtype, so that
    :math:`1/\sqrt{\sigma^2+\epsilon}` and :math:`\hat x` are still right; a
    ValueError naming ``owner`` where float64 overflows too.

    Returns
    -------
    xhat : ndarray, same shape as ``x``
    inv_std : ndarray
        :math:`1/\sqrt{\sigma^2+\epsilon}`, what :func:`normalize_backward` needs.

    Examples
    --------
    >>> import numpy as np
    >>> xhat, inv_std = normalize(np.array([[1.0, 3.0], [0.0, 10.0]]), axes=(1,), eps=0.0)
    >>> xhat.tolist(), inv_std.ravel().tolist()
    ([[-1.0, 1.0], [-1.0, 1.0]], [1.0, 0.2])
    """
    _, xc, var = moments(owner, x, lambda a: a.mean(axis=axes, keepdims=True))
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
    return (xc * inv_std).astype(x.dtype, copy=False), inv_std


def normalize_backward(dxhat, xhat, inv_std, axes):
    r"""Gradient of :func:`normalize`: the input gradient from the gradient of :math:`\hat x`.

    With :math:`D` values in each group being standardised,

    .. math::
        \frac{\partial L}{\partial x_i} = \frac{1}{D\sqrt{\sigma^2+\epsilon}}
        \Bigl(D\,\frac{\partial L}{\partial \hat x_i}
        - \sum_j \frac{\partial L}{\partial \hat x_j}
        - \hat x_i \sum_j \frac{\partial L}{\partial \hat x_j}\hat x_j\Bigr):

    the first term is the direct path, the two sums are the paths through
    :math:`\mu` and through :math:`\sigma^2`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0, 4.0]])
    >>> xhat, inv_std = normalize(x, (1,), 1e-5)
    >>> dx = normalize_backward(np.ones_like(x), xhat, inv_std, (1,))
    >>> float(np.abs(dx).max()) < 1e-12      # xhat sums to 0, so sum(xhat) has no gradient
    True
    """
    d = xhat.size // inv_std.size                  # values per standardised group
    sum_dxhat = dxhat.sum(axis=axes, keepdims=True)
    sum_dxhat_xhat = (dxhat * xhat).sum(axis=axes, keepdims=True)
    return inv_std / d * (d * dxhat - sum_dxhat - xhat * sum_dxhat_xhat)
# --8<-- [end:normalize]


class LayerNorm(Module):
    r"""Layer normalisation over the trailing ``normalized_shape`` dims, PyTorch semantics.

    Parameters
    ----------
    normalized_shape : int or tuple of int
        The trailing shape to normalise over, e.g. ``C`` for a (N, C) input,
        ``(C, L)`` or ``L`` for a (N, C, L) input.
    eps : float
        Added to the variance before the square root.
    elementwise_affine : bool
        Learn ``weight`` (:math:`\gamma`, starts at 1) and ``bias``
        (:math:`\beta`, starts at 0) of shape ``normalized_shape``.
    bias : bool
        With ``elementwise_affine``, whether to learn :math:`\beta` as well.
    dtype : float32 or float64
        Dtype of the parameters; inputs must match it.

    Shapes
    ------
    x: (N, \*normalized_shape) or (N, ..., \*normalized_shape) -> y: same shape.

    Notes
    -----
    Each sample is standardised by its own mean and (biased) variance over the
    :math:`D` = prod(``normalized_shape``) values, so unlike
    :class:`~litnet.BatchNorm1d` nothing depends on the other samples and
    training and evaluation modes compute the same thing:

    .. math:: y = \gamma \odot \hat x + \beta, \qquad
              \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} .

    Backward: :math:`\partial L/\partial\beta = \sum_n g_n`,
    :math:`\partial L/\partial\gamma = \sum_n g_n \odot \hat x_n` (sums over
    the samples), and :math:`\partial L/\partial x` is
    :func:`normalize_backward` of :math:`\partial L/\partial\hat x = \gamma \odot g`.

    Examples
    --------
    >>> import numpy as np
    >>> ln = LayerNorm(3, dtype=np.float64)
    >>> ln(np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])).round(4)
    array([[-1.2247,  0.    ,  1.2247],
           [-1.2247,  0.    ,  1.2247]])
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, *,
                 dtype=np.float32):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        if not isinstance(normalized_shape, (tuple, list)) or len(normalized_shape) == 0:
            raise ValueError(f"LayerNorm: normalized_shape must be a positive int or a "
                             f"non-empty tuple of positive ints, got {normalized_shape!r}")
        for n in normalized_shape:
            check_int("LayerNorm", "normalized_shape", n)
        if not eps > 0:
            raise ValueError(f"LayerNorm: eps must be positive, got {eps!r}")
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = self.bias = None
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
        self._cache = None

    # --8<-- [start:forward]
    def forward(self, x):
        k = len(self.normalized_shape)
        x = check_array(self, x, dtype=None if self.weight is None else self.weight.dtype)
        if x.ndim <= k or x.shape[-k:] != self.normalized_shape:
            raise ValueError(f"LayerNorm: expected input of shape (N, ..., "
                             f"{', '.join(map(str, self.normalized_shape))}), got {x.shape}")
        axes = tuple(range(x.ndim - k, x.ndim))    # the last k axes of each sample
        xhat, inv_std = normalize(x, axes, self.eps, self)
        self._cache = (xhat, inv_std, axes)
        y = xhat
        if self.weight is not None:
            y = self.weight.data * y
        if self.bias is not None:
            y = y + self.bias.data
        return y
    # --8<-- [end:forward]

    # --8<-- [start:backward]
    def backward(self, grad_out):
        xhat, inv_std, axes = require_forward(self, self._cache)
        g = check_grad(self, grad_out, xhat.shape)
        batch_axes = tuple(range(xhat.ndim - len(axes)))   # sum params' grads over samples
        if self.bias is not None:
            self.bias.accumulate(g.sum(axis=batch_axes))
        if self.weight is not None:
            self.weight.accumulate((g * xhat).sum(axis=batch_axes))
            g = self.weight.data * g                        # dL/dxhat
        return normalize_backward(g, xhat, inv_std, axes)
    # --8<-- [end:backward]

    def extra_repr(self):
        s = (f"{self.normalized_shape}, eps={self.eps}, "
             f"elementwise_affine={self.elementwise_affine}")
        if self.elementwise_affine and self.bias is None:
            s += ", bias=False"
        return s + (f", dtype={self.weight.dtype}" if self.weight is not None else "")
