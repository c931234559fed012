r"""Loss functions. Each returns ``(loss, dloss/dinput)``: the value and the
gradient that starts backpropagation, computed together because they share
most of their work.
"""

from __future__ import annotations

import numpy as np

from ._checks import NonFiniteError, check_array

_REDUCTIONS = ("mean", "sum")


def _reduction(who, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{who}: reduction must be 'mean' or 'sum', got {reduction!r}")


def _not_empty(who, x, name):
    if x.size == 0:
        raise ValueError(f"{who}: {name} of shape {x.shape} has no elements; expected at "
                         "least one value per sample (for logits: at least one class)")
    return x


def _total(per, reduction):
    """The mean or sum of the finite per-sample losses ``per`` as a float; redone in float64
    if it overflows their dtype (the true value is finite and fits)."""
    with np.errstate(over="ignore"):
        total = per.mean() if reduction == "mean" else per.sum()
    if not np.isfinite(total):
        per = per.astype(np.float64)
        total = per.mean() if reduction == "mean" else per.sum()
    return float(total)


def _finite(who, what, x):
    if not np.isfinite(x).all():
        raise NonFiniteError(f"{who}: the {what} overflows {x.dtype} for these finite inputs "
                            f"(shape {x.shape}); rescale them or use float64")
    return x


def _log_softmax(z):
    """Row-wise log-softmax. When z - max z overflows (a spread of logits beyond the dtype's
    range), it is redone in extended precision, where every finite float32 or float64 spread
    fits on platforms whose long double is wider than float64 (x86-64 Linux)."""
    with np.errstate(over="ignore"):
        shifted = z - z.max(axis=1, keepdims=True)
    if np.isinf(shifted).any():
        z = z.astype(np.longdouble)
        shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _labels(who, logits, target):
    """Integer labels (N,) or one-hot / probability rows (N, C) -> (N, C) floats."""
    target = np.asarray(target)
    n, c = logits.shape
    if target.ndim == 1:
        if not np.issubdtype(target.dtype, np.integer):
            raise TypeError(f"{who}: 1-D targets must be integer class labels, got dtype "
                            f"{target.dtype}")
        if target.shape[0] != n:
            raise ValueError(f"{who}: expected {n} labels for logits of shape {logits.shape}, "
                             f"got {target.shape[0]}")
        if target.size and (target.min() < 0 or target.max() >= c):
            raise ValueError(f"{who}: labels must lie in [0, {c - 1}], got range "
                             f"[{target.min()}, {target.max()}]")
        onehot = np.zeros_like(logits)
        onehot[np.arange(n), target] = 1
        return onehot
    if target.shape != logits.shape:
        raise ValueError(f"{who}: expected targets of shape ({n},) or {logits.shape}, "
                         f"got {target.shape}")
    return check_array(who, target, name="target").astype(logits.dtype)


# --8<-- [start:softmax_cross_entropy]
def softmax_cross_entropy(logits, target, reduction="mean"):
    r"""Softmax followed by cross-entropy, with its gradient.

    .. math::
        p = \operatorname{softmax}(z), \qquad L = -\sum_c t_c \log p_c, \qquad
        \frac{\partial L}{\partial z} = p - t .

    ``log p`` is computed as :math:`z - \max z - \log\sum e^{z - \max z}`
    (log-sum-exp), finite for logits of any finite size: a class with
    :math:`t_c = 0` adds exactly 0 (also where :math:`\log p_c` is
    :math:`-\infty` in the dtype), and a row whose spread :math:`\max z -
    \min z` overflows the dtype is redone in extended precision. Logits with
    no classes, shape (N, 0), are an error.

    Parameters
    ----------
    logits : ndarray, (N, C)
    target : ndarray, (N,) integer labels or (N, C) one-hot / probabilities
    reduction : {"mean", "sum"}

    Returns
    -------
    loss : float
    dlogits : ndarray, (N, C)

    Examples
    --------
    >>> import numpy as np
    >>> loss, d = softmax_cross_entropy(np.array([[1e4, 0.0, -1e4]]), np.array([1]))
    >>> loss, d.round(3).tolist()
    (10000.0, [[1.0, -1.0, 0.0]])
    """
    who = "softmax_cross_entropy"
    _reduction(who, reduction)
    z = _not_empty(who, check_array(who, logits, ndim=2, name="logits"), "logits")
    t = _labels(who, z, target)
    log_p = _log_softmax(z)
    with np.errstate(invalid="ignore"):                        # 0·(-inf): replaced by 0
        per_sample = -np.where(t != 0, t * log_p, 0).sum(axis=1)
    grad = (np.exp(log_p) - t).astype(z.dtype, copy=False)   # dL/dz for each sample
    if reduction == "mean":
        return _total(per_sample, reduction), grad / z.shape[0]
    return _total(per_sample, reduction), grad
# --8<-- [end:softmax_cross_entropy]


def softmax(logits):
    """Row-wise softmax, stable for large logits.

    Examples
    --------
    >>> import numpy as np
    >>> softmax(np.array([[0.0, 0.0]])).tolist()
    [[0.5, 0.5]]
    """
    z = _not_empty("softmax", check_array("softmax", logits, ndim=2, name="logits"), "logits")
    with np.errstate(over="ignore"):     # z - max = -inf (a huge spread): e = 0, correct
        e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --8<-- [start:mse]
def mse_loss(y, target, reduction="mean"):
    r"""Squared error :math:`L = \sum (y - t)^2` (``"sum"``) or its mean (``"mean"``).

    No factor :math:`\tfrac12`: :math:`\partial L/\partial y = 2(y - t)` (divided
    by the number of elements for ``"mean"``), as in the residual worked example.
    Computed in the prediction's dtype: the loss is ``inf`` when :math:`(y-t)^2`
    or its sum overflows it (``fit`` then reports divergence), and a gradient
    :math:`2(y-t)` that overflows raises :class:`NonFiniteError` naming the loss.

    Examples
    --------
    >>> import numpy as np
    >>> loss, d = mse_loss(np.array([[0.5]]), np.array([[1.0]]), reduction="sum")
    >>> loss, d.tolist()
    (0.25, [[-1.0]])
    """
    who = "mse_loss"
    _reduction(who, reduction)
    y = check_array(who, y, ndim=None, name="prediction")
    t = check_array(who, target, name="target")
    if t.shape != y.shape:
        raise ValueError(f"{who}: prediction has shape {y.shape} but target has {t.shape}")
    _not_empty(who, y, "prediction")
    with np.errstate(over="ignore"):
        diff = y - t.astype(y.dtype)
        grad = _finite(who, "gradient 2(y - t)", 2 * diff)
        sq = diff * diff                       # inf where (y - t)^2 overflows the dtype
        if reduction == "mean":
            return float(sq.mean()), grad / y.size
        return float(sq.sum()), grad
# --8<-- [end:mse]


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    r"""Sigmoid + binary cross-entropy on logits, stable for any finite logit.

    .. math::
        L = \max(z, 0) - z t + \log(1 + e^{-|z|}), \qquad
        \frac{\partial L}{\partial z} = \sigma(z) - t .

    The loss is ``inf`` when its sum overflows the logits' dtype, and a
    :class:`NonFiniteError` naming the loss when a single term does (possible
    only for targets outside [0, 1]).

    Examples
    --------
    >>> import numpy as np
    >>> loss, d = binary_cross_entropy_with_logits(np.array([0.0, 1e4]), np.array([1.0, 1.0]))
    >>> round(loss, 4), d.round(3).tolist()
    (0.3466, [-0.25, 0.0])
    """
    who = "binary_cross_entropy_with_logits"
    _reduction(who, reduction)
    z = check_array(who, logits, name="logits")
    t = check_array(who, target, name="target")
    if t.shape != z.shape:
        raise ValueError(f"{who}: logits have shape {z.shape} but target has {t.shape}")
    _not_empty(who, z, "logits")
    t = t.astype(z.dtype)
    with np.errstate(over="ignore"):
        per = _finite(who, "loss", np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))
    e = np.exp(-np.abs(z))
    sig = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    grad = sig - t
    with np.errstate(over="ignore"):           # inf if the sum overflows the dtype
        if reduction == "mean":
            return float(per.mean()), grad / z.size
        return float(per.sum()), grad
