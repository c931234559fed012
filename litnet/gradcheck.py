r"""Numerical gradient checking by central differences.

For a module :math:`f` and a fixed random projection :math:`G` of its output,
the scalar :math:`L(x, \theta) = \sum f(x; \theta) \odot G` has

.. math::
    \frac{\partial L}{\partial x_i} \approx
    \frac{L(x + \varepsilon e_i) - L(x - \varepsilon e_i)}{2\varepsilon},

with error :math:`O(\varepsilon^2)`. ``backward(G)`` must give the same
numbers. The comparison is the relative error of each tensor,
:math:`\lVert a - n \rVert_2 / \max(\lVert a \rVert_2, \lVert n \rVert_2)`, which
stays meaningful when single entries are near zero. Run it in float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class GradcheckResult:
    """Outcome of a gradient check.

    Attributes
    ----------
    errors : dict
        Relative error per checked tensor (``"input"`` and parameter names).
    worst : float
        The largest of ``errors``.
    where : str
        Tensor with the worst error, and the index of its largest entry-wise gap.
    """

    errors: dict = field(default_factory=dict)
    worst: float = 0.0
    where: str = ""

    def __bool__(self):
        return self.worst < 1e-6

    def __repr__(self):
        return f"GradcheckResult(worst={self.worst:.3g}, where={self.where!r})"


def _relative_error(analytic, numeric):
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
    if scale == 0.0:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / scale)


def numerical_gradient(f, x, eps=1e-6):
    """Central differences of the scalar function ``f()`` with respect to the
    array ``x``, which is perturbed in place and restored exactly.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0])
    >>> numerical_gradient(lambda: float((x ** 2).sum()), x).round(6)
    array([2., 4.])
    """
    if not x.flags.c_contiguous or not x.flags.writeable:
        raise ValueError("numerical_gradient: x is perturbed in place, so it must be a "
                         "writeable C-contiguous array (use np.ascontiguousarray)")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def _record(result, name, analytic, numeric):
    err = _relative_error(analytic, numeric)
    result.errors[name] = err
    if err >= result.worst:
        idx = np.unravel_index(np.argmax(np.abs(analytic - numeric)), analytic.shape) \
            if analytic.size else ()
        result.worst, result.where = err, f"{name}{[int(i) for i in idx]}"


def gradcheck(module, x, *, rng=None, eps=1e-6, check_input=True):
    """Compare ``module.backward`` with central differences, for the input and
    every parameter.

    Parameters
    ----------
    module : litnet.Module
        In float64 (``module.to(np.float64)``); its forward must be
        deterministic (fix Dropout's mask, see :class:`litnet.Dropout`).
    x : ndarray, float64
        A batch (use at least 2 samples so batch statistics are exercised).
    rng : numpy.random.Generator, optional
        Draws the projection ``G``; default ``default_rng(0)``.

    Returns
    -------
    GradcheckResult

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> rng = np.random.default_rng(0)
    >>> layer = ln.Linear(3, 2, rng=rng, dtype=np.float64)
    >>> res = gradcheck(layer, rng.standard_normal((4, 3)))
    >>> sorted(res.errors), res.worst < 1e-8
    (['bias', 'input', 'weight'], True)
    """
    x = np.array(x, dtype=np.float64)  # our own copy: the caller's array is untouched
    for name, p in module.named_parameters():
        if p.dtype != np.float64:
            raise TypeError(f"gradcheck: parameter {name!r} of {type(module).__name__} is "
                            f"{p.dtype}; call module.to(np.float64) first")
    rng = rng if rng is not None else np.random.default_rng(0)
    out = module(x)
    G = rng.standard_normal(out.shape)

    def loss():
        return float(np.sum(module(x) * G))

    module.zero_grad()
    module(x)
    dx = module.backward(G)
    analytic = {name: p.grad.copy() for name, p in module.named_parameters()}

    result = GradcheckResult()
    if check_input:
        _record(result, "input", dx, numerical_gradient(loss, x, eps))
    for name, p in module.named_parameters():
        _record(result, name, analytic[name], numerical_gradient(loss, p.data, eps))
    return result


def gradcheck_loss(loss_fn, x, *args, eps=1e-6, **kwargs):
    """Check a loss ``loss_fn(x, *args, **kwargs) -> (value, dvalue/dx)``.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> z = np.random.default_rng(0).standard_normal((4, 3))
    >>> gradcheck_loss(ln.softmax_cross_entropy, z, np.array([0, 2, 1, 1])).worst < 1e-8
    True
    """
    x = np.array(x, dtype=np.float64)
    _, analytic = loss_fn(x, *args, **kwargs)
    numeric = numerical_gradient(lambda: loss_fn(x, *args, **kwargs)[0], x, eps)
    result = GradcheckResult()
    _record(result, "input", analytic, numeric)
    return result
