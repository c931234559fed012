r"""Batch normalisation: standardise each feature over the batch, then scale and shift.

The module :class:`BatchNorm1d` uses the compact closed-form backward. The
function :func:`batchnorm_backward_graph` computes the same gradients one
node of the computation graph at a time, the way the derivation is usually
drawn; the tests check that the two agree to 1e-12.
"""

from __future__ import annotations

import functools

import numpy as np

from ._checks import (
    check_array,
    check_float_dtype,
    check_grad,
    check_int,
    readonly,
    require_forward,
)
from .module import Module
from .moments import moments
from .parameter import Parameter


def feature_sums(a, axes):
    """Sum of ``a`` over ``axes`` (every axis but the features): shape (C,).

    For a (N, C) array this is ``ones @ a``, a matrix-vector product that BLAS
    computes several times faster than ``a.sum(axis=0)`` with the same result
    to rounding.
    """
    if a.ndim == 2:
        return _ones(a.shape[0], a.dtype) @ a
    return a.sum(axis=axes)


@functools.lru_cache(maxsize=32)
def _ones(n, dtype):
    """A read-only vector of ``n`` ones, made once per batch size and dtype."""
    return readonly(np.ones(n, dtype=dtype))


def feature_means(a):
    """Mean of a (N, C) or (N, C, L) array ``a`` per feature: shape (1, C) or (1, C, 1)."""
    axes = (0,) if a.ndim == 2 else (0, 2)
    keep = (1, a.shape[1]) + (1,) * (a.ndim - 2)
    return (feature_sums(a, axes) / (a.size // a.shape[1])).reshape(keep)


class BatchNorm1d(Module):
    r"""Batch normalisation over a (N, C) or (N, C, L) input, PyTorch semantics.

    Parameters
    ----------
    num_features : int
        :math:`C`, the number of features (channels).
    eps : float
        Added to the variance before the square root.
    momentum : float or None
        Weight of the new batch in the running averages (PyTorch's
        convention, 0.1 by default). ``None`` uses the cumulative average
        over all batches seen, as PyTorch does.
    affine : bool
        Learn a per-feature scale ``weight`` (:math:`\gamma`, starts at 1) and
        shift ``bias`` (:math:`\beta`, starts at 0).
    track_running_stats : bool
        Keep ``running_mean`` (starts at 0), ``running_var`` (starts at 1) and
        ``num_batches_tracked`` as buffers and use them in evaluation mode.
        ``False`` means, as in PyTorch, no buffers and batch statistics in
        both modes.
    eval_uses_batch_stats : bool
        In evaluation mode, normalise with the statistics of the batch being
        evaluated instead of the running ones (the running statistics are
        kept but neither used nor updated). An attribute of the same name can
        be switched at any time, e.g. on a trained model to compare the two
        kinds of statistics on the same data.
    dtype : float32 or float64
        Dtype of the parameters and buffers; inputs must match it.

    Shapes
    ------
    x: (N, C) or (N, C, L) -> y: same shape. Statistics are taken over the
    :math:`m = N` (or :math:`m = N L`) values of each feature.

    Notes
    -----
    Training mode, for each feature, with :math:`m` values :math:`x_i`:

    .. math::
        \mu = \frac1m \sum_i x_i, \quad
        \sigma^2 = \frac1m \sum_i (x_i - \mu)^2, \quad
        \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}}, \quad
        y_i = \gamma \hat x_i + \beta .

    The running averages use the *unbiased* variance (as PyTorch):

    .. math::
        \mu_\text{run} \leftarrow (1 - p)\,\mu_\text{run} + p\,\mu, \qquad
        \sigma^2_\text{run} \leftarrow (1 - p)\,\sigma^2_\text{run}
        + p\,\tfrac{m}{m-1}\,\sigma^2 ,

    with :math:`p` = ``momentum``. Evaluation mode uses :math:`\mu_\text{run}`
    and :math:`\sigma^2_\text{run}` in place of :math:`\mu, \sigma^2`.

    Backward, with :math:`g_i = \partial L/\partial y_i` and
    :math:`\hat\sigma = \sqrt{\sigma^2 + \epsilon}`:

    .. math::
        \frac{\partial L}{\partial \beta} = \sum_i g_i, \qquad
        \frac{\partial L}{\partial \gamma} = \sum_i g_i \hat x_i, \qquad
        \frac{\partial L}{\partial x_i} = \frac{\gamma}{m\,\hat\sigma}
        \Bigl(m\,g_i - \sum_j g_j - \hat x_i \sum_j g_j \hat x_j\Bigr).

    The two subtracted sums are the gradient flowing through :math:`\mu` and
    through :math:`\sigma^2`: every sample's output depends on every other
    sample of the batch. In evaluation mode :math:`\mu, \sigma^2` are
    constants and simply :math:`\partial L/\partial x_i = \gamma g_i/\hat\sigma`.

    A batch of one sample has no variance, so training mode raises an error
    (as PyTorch does). With batch statistics in evaluation mode
    (``eval_uses_batch_stats=True`` or ``track_running_stats=False``) a single
    (1, C) sample is allowed but degenerate: :math:`x - \mu = 0` exactly, so the
    output is exactly :math:`\beta` whatever the input.

    Examples
    --------
    >>> import numpy as np
    >>> bn = BatchNorm1d(2, dtype=np.float64)
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> bn(x).round(4)                 # each column: mean 0, variance ~1
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> bn.running_mean.tolist()       # 0.9 * 0 + 0.1 * batch mean
    [0.2, 2.0]
    >>> bn.running_var.tolist()        # 0.9 * 1 + 0.1 * unbiased batch variance
    [1.1, 20.9]
    >>> bn.eval()(x).round(3)
    array([[0.763, 1.75 ],
           [2.67 , 6.125]])
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, *, eval_uses_batch_stats=False, dtype=np.float32):
        super().__init__()
        self.num_features = check_int("BatchNorm1d", "num_features", num_features)
        if not eps > 0:
            raise ValueError(f"BatchNorm1d: eps must be positive, got {eps!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1] or None, got {momentum!r}")
        dtype = check_float_dtype("BatchNorm1d", dtype)
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        self.eval_uses_batch_stats = bool(eval_uses_batch_stats)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))   # gamma
            self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))    # beta
        else:
            self.weight = self.bias = None
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        self._cache = None

    def _expected_dtype(self):
        if self.affine:
            return self.weight.dtype
        if self.track_running_stats:
            return self.running_mean.dtype
        return None  # no state at all: any floating input dtype is kept

    def _uses_batch_stats(self):
        return self.training or not self.track_running_stats or self.eval_uses_batch_stats

    def _finite_running_var(self):
        if not np.isfinite(self.running_var).all():
            raise ValueError("BatchNorm1d: running_var is not finite (training saw a variance "
                             f"beyond {self.running_var.dtype}); train in float64 or rescale "
                             "the input")
        return self.running_var

    # --8<-- [start:forward]
    def forward(self, x):
        x = check_array(self, x, ndim=(2, 3), features=self.num_features,
                        dtype=self._expected_dtype())
        axes = (0,) if x.ndim == 2 else (0, 2)     # every axis except the features
        shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        m = x.size // self.num_features            # values per feature
        batch_stats = self._uses_batch_stats()
        if batch_stats:
            if self.training and m < 2:
                raise ValueError(f"BatchNorm1d: expected more than 1 value per feature when "
                                 f"training, got input of shape {x.shape}")
            mean, xc, var = moments(self, x, feature_means)  # over the batch (and L)
            mean, var = mean.ravel(), var.ravel()           # per feature: (C,)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var, m)
        else:
            xc = x - self.running_mean.reshape(shape)
            var = self._finite_running_var()
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype).reshape(shape)
        xhat = np.multiply(xc, inv_std, out=xc).astype(x.dtype, copy=False)  # xc is ours
        self._cache = (xhat, inv_std, axes, shape, m, batch_stats)
        if not self.affine:
            return xhat
        y = xhat * self.weight.data.reshape(shape)         # y = gamma xhat + beta,
        y += self.bias.data.reshape(shape)                 # per-column vectors
        return y
    # --8<-- [end:forward]

    # --8<-- [start:running_stats]
    def _update_running_stats(self, mean, var, m):
        self.num_batches_tracked = np.array(self.num_batches_tracked + 1)   # a 0-d int64 array
        if self.momentum is None:                  # cumulative average over all batches
            p = 1.0 / float(self.num_batches_tracked)
        else:
            p = self.momentum
        unbiased = var * (m / (m - 1))
        self.running_mean = ((1 - p) * self.running_mean + p * mean).astype(
            self.running_mean.dtype)                # mean is float64 after a retry
        with np.errstate(over="ignore"):           # a variance beyond the dtype: inf
            self.running_var = ((1 - p) * self.running_var + p * unbiased).astype(
                self.running_var.dtype)
    # --8<-- [end:running_stats]

    # --8<-- [start:backward]
    def backward(self, grad_out):
        xhat, inv_std, axes, shape, m, batch_stats = require_forward(self, self._cache)
        g = check_grad(self, grad_out, xhat.shape)
        dbeta = feature_sums(g, axes)                         # sum_i g_i
        dgamma = feature_sums(g * xhat, axes)                 # sum_i g_i xhat_i
        gamma = self.weight.data.reshape(shape) if self.affine else 1.0
        if self.affine:
            self.weight.accumulate(dgamma)
            self.bias.accumulate(dbeta)
        a = gamma * inv_std                                   # per column: gamma / sigma
        if not batch_stats:                                   # mu, var are constants
            return a * g
        # the two sums, as batch means k and c, carry the gradient through var and mu
        k, c = (dgamma / m).reshape(shape), (dbeta / m).reshape(shape)
        dx = xhat * k
        np.subtract(g, dx, out=dx)                            # dx = a (g - xhat k - c),
        dx -= c                                               # in place in one array
        dx *= a
        return dx
    # --8<-- [end:backward]

    def extra_repr(self):
        s = (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
             f"affine={self.affine}, track_running_stats={self.track_running_stats}")
        if self.eval_uses_batch_stats:
            s += ", eval_uses_batch_stats=True"
        dtype = self._expected_dtype()
        return s + (f", dtype={dtype}" if dtype is not None else "")


# --8<-- [start:backward_graph]
def batchnorm_backward_graph(x, gamma, grad_out, eps=1e-5):
    r"""Training-mode BatchNorm gradients, one computation-graph node at a time.

    The forward pass is split into nine elementary nodes; the backward visits
    them in reverse, each step applying one local derivative. The result is
    the same as :meth:`BatchNorm1d.backward`, which sums these steps into one
    closed form.

    With :math:`\bar a = \partial L/\partial a` for every node :math:`a`:

    .. math::
        \begin{array}{rll}
          & \text{forward} & \text{backward (visited from 9 down to 1)} \\
        1 & \mu = \tfrac1N \sum_i x_i & \bar x_i \mathrel{+}= \bar\mu / N \\
        2 & d = x - \mu & \bar x = \bar d, \ \bar\mu = -\sum_i \bar d_i \\
        3 & q = d^2 & \bar d \mathrel{+}= 2 d\, \bar q \\
        4 & v = \tfrac1N \sum_i q_i & \bar q_i = \bar v / N \\
        5 & s = \sqrt{v + \epsilon} & \bar v = \bar s / (2 s) \\
        6 & r = 1 / s & \bar s = -\bar r / s^2 \\
        7 & \hat x = d\, r & \bar d = r\, \bar{\hat x}, \ \bar r = \sum_i d_i \bar{\hat x}_i \\
        8 & z = \gamma\hat x & \bar{\hat x} = \gamma\bar z,\ \bar\gamma = \sum_i \hat x_i\bar z_i \\
        9 & y = z + \beta & \bar z = \bar y, \ \bar\beta = \sum_i \bar y_i
        \end{array}

    Parameters
    ----------
    x : ndarray, (N, C)
        The input of the forward pass (batch statistics, training mode).
    gamma : ndarray, (C,)
        The scale :math:`\gamma`.
    grad_out : ndarray, (N, C)
        :math:`\partial L/\partial y`.
    eps : float

    Returns
    -------
    dx : ndarray, (N, C)
    dgamma, dbeta : ndarray, (C,)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, 5.0]])
    >>> g = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, -1.0]])
    >>> dx, dgamma, dbeta = batchnorm_backward_graph(x, np.ones(2), g)
    >>> dx.sum(axis=0).round(12).tolist()    # shifting the whole batch changes nothing
    [0.0, 0.0]
    >>> dbeta.tolist()
    [1.0, -1.0]
    """
    x = check_array("batchnorm_backward_graph", x, ndim=2)
    g = check_grad("batchnorm_backward_graph", grad_out, x.shape)
    n = x.shape[0]
    # forward, keeping every intermediate node
    mu = x.sum(axis=0) / n              # 1
    d = x - mu                          # 2
    q = d ** 2                          # 3
    v = q.sum(axis=0) / n               # 4
    s = np.sqrt(v + eps)                # 5
    r = 1.0 / s                         # 6
    xhat = d * r                        # 7
    # (8) z = gamma * xhat, (9) y = z + beta
    # backward, in reverse order
    dbeta = g.sum(axis=0)               # 9
    dz = g
    dgamma = (xhat * dz).sum(axis=0)    # 8
    dxhat = gamma * dz
    dd = r * dxhat                      # 7: the path d -> xhat
    dr = (d * dxhat).sum(axis=0)        #    and the path r -> xhat
    ds = -dr / s ** 2                   # 6
    dv = ds / (2 * s)                   # 5
    dq = np.ones_like(q) * dv / n       # 4
    dd = dd + 2 * d * dq                # 3: the path d -> q -> v
    dx = dd.copy()                      # 2: the path x -> d
    dmu = -dd.sum(axis=0)
    dx = dx + np.ones_like(x) * dmu / n  # 1: the path x -> mu
    return dx, dgamma, dbeta
# --8<-- [end:backward_graph]
