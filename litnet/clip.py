r"""Gradient clipping: bound the gradients before the optimiser step.

Call it between ``backward`` and ``step``; it rescales (or clamps) ``.grad``
of the given parameters, as ``torch.nn.utils.clip_grad_norm_`` and
``clip_grad_value_`` do.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._checks import check_parameters


def _non_negative(who, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {name} must be a number, got {value!r}")
    if not value >= 0:                          # also rejects NaN
        raise ValueError(f"{who}: {name} must be >= 0, got {value}")
    return value


# --8<-- [start:clip_grad_norm]
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    r"""Rescale all gradients together so that their global norm is at most ``max_norm``.

    .. math::
        \lVert g \rVert = \Bigl(\sum_{\text{params}} \sum_i |g_i|^p\Bigr)^{1/p},
        \qquad g \gets g \cdot \min\Bigl(1,
        \frac{\text{max\_norm}}{\lVert g \rVert + 10^{-6}}\Bigr)

    One coefficient for every parameter, so the direction of the full
    gradient is kept and only its length is bounded.

    Parameters
    ----------
    parameters : Parameter or iterable of Parameter
        A parameter whose ``.grad`` is ``None`` is skipped (left ``None``), as
        in PyTorch.
    max_norm : float
    norm_type : float
        :math:`p`; ``2.0`` (the global L2 norm) or ``float("inf")`` (the largest
        absolute entry).
    error_if_nonfinite : bool
        Raise ``RuntimeError`` when the total norm is NaN or inf.

    Returns
    -------
    float
        The total norm *before* clipping (0.0 for no parameters).

    Notes
    -----
    As in PyTorch, by default a NaN or infinite total norm is returned, not
    raised, and the gradients are still multiplied by the coefficient (NaN, or
    0 for an infinite norm), so they are no longer usable. Check the returned
    value (``math.isfinite(norm)``) and skip the step, or pass
    ``error_if_nonfinite=True``.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> a, b = ln.Parameter(np.zeros(1)), ln.Parameter(np.zeros(1))
    >>> a.grad, b.grad = np.array([3.0]), np.array([4.0])
    >>> clip_grad_norm_([a, b], max_norm=1.0)
    5.0
    >>> round(float(a.grad[0]), 4), round(float(b.grad[0]), 4)
    (0.6, 0.8)
    """
    who = "clip_grad_norm_"
    params = check_parameters(who, parameters, allow_empty=True)
    max_norm = _non_negative(who, "max_norm", max_norm)
    params = [p for p in params if p.grad is not None]        # skipped, as in torch
    grads = [p.grad.ravel() for p in params if p.grad.size]
    if not grads:
        return 0.0
    norm_type = float(norm_type)
    per_param = [np.linalg.norm(g.astype(np.float64), ord=norm_type) for g in grads]
    total = float(np.linalg.norm(per_param, ord=norm_type))   # norm of the norms
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"{who}: the total gradient norm is {total}; the gradients "
                           "contain NaN or inf")
    coef = max_norm / (total + 1e-6)          # NaN if total is NaN, 0 if it is inf
    if math.isnan(coef) or coef < 1.0:
        with np.errstate(invalid="ignore"):   # inf * 0 when the norm is inf: NaN, as torch
            for p in params:
                p.grad = p.grad * coef        # a new array, in the gradient's own dtype
    return total
# --8<-- [end:clip_grad_norm]


def clip_grad_value_(parameters, clip_value):
    r"""Clamp every gradient entry to :math:`[-c, c]` with :math:`c` = ``clip_value``.

    Unlike :func:`clip_grad_norm_` this changes the gradient's direction.
    Returns ``None``, as PyTorch; a parameter whose ``.grad`` is ``None`` is
    skipped.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> p = ln.Parameter(np.zeros(3))
    >>> p.grad = np.array([-5.0, 0.2, 7.0])
    >>> clip_grad_value_([p], 1.0)
    >>> p.grad.tolist()
    [-1.0, 0.2, 1.0]
    """
    who = "clip_grad_value_"
    params = check_parameters(who, parameters, allow_empty=True)
    clip_value = _non_negative(who, "clip_value", clip_value)
    for p in params:
        if p.grad is not None:                                  # skipped, as in torch
            p.grad = np.clip(p.grad, -clip_value, clip_value)
