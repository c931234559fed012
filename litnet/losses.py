r"""Loss functions. Each returns ``(loss, dloss/dinput)``: the value and the
gradient that starts backpropagation, computed together because they share
most of their work.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_array

_REDUCTIONS = ("mean", "sum")


def _reduction(who, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{who}: reduction must be 'mean' or 'sum', got {reduction!r}")


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
    (log-sum-exp), finite for logits of any finite size.

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
    z = check_array(who, logits, ndim=2, name="logits")
    t = _labels(who, z, target)
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    per_sample = -(t * log_p).sum(axis=1)
    grad = np.exp(log_p) - t                      # dL/dz for each sample
    if reduction == "mean":
        return float(per_sample.mean()), grad / z.shape[0]
    return float(per_sample.sum()), grad
# --8<-- [end:softmax_cross_entropy]


def softmax(logits):
    """Row-wise softmax, stable for large logits.

    Examples
    --------
    >>> import numpy as np
    >>> softmax(np.array([[0.0, 0.0]])).tolist()
    [[0.5, 0.5]]
    """
    z = check_array("softmax", logits, ndim=2, name="logits")
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --8<-- [start:mse]
def mse_loss(y, target, reduction="mean"):
    r"""Squared error :math:`L = \sum (y - t)^2` (``"sum"``) or its mean (``"mean"``).

    No factor :math:`\tfrac12`: :math:`\partial L/\partial y = 2(y - t)` (divided
    by the number of elements for ``"mean"``), as in the residual worked example.

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
    diff = y - t.astype(y.dtype)
    grad = 2 * diff
    if reduction == "mean":
        return float((diff * diff).mean()), grad / y.size
    return float((diff * diff).sum()), grad
# --8<-- [end:mse]


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    r"""Sigmoid + binary cross-entropy on logits, stable for any finite logit.

    .. math::
        L = \max(z, 0) - z t + \log(1 + e^{-|z|}), \qquad
        \frac{\partial L}{\partial z} = \sigma(z) - t .

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
    t = t.astype(z.dtype)
    per = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    e = np.exp(-np.abs(z))
    sig = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    grad = sig - t
    if reduction == "mean":
        return float(per.mean()), grad / z.size
    return float(per.sum()), grad
