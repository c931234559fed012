r"""The mean and variance a normalisation layer divides by, safe from overflow.

:class:`~litnet.BatchNorm1d` takes them over the batch, :func:`~litnet.layernorm.normalize`
(and so :class:`~litnet.LayerNorm` and :class:`~litnet.GroupNorm`) over each sample: the
layers differ only in the averaging they pass to :func:`moments`.
"""

from __future__ import annotations

import numpy as np

from ._checks import _who


# --8<-- [start:moments]
def _centred(x, mean_over):
    mean = mean_over(x)
    xc = x - mean
    return mean, xc, mean_over(xc * xc)            # biased: divides by the count


def moments(owner, x, mean_over):
    r"""The mean of ``x``, ``x`` centred on it, and the biased variance.

    ``mean_over(a)`` averages ``a`` over the axes being normalised, keeping a shape
    that broadcasts against ``x``. Where the sum of the squared deviations (or of
    ``x``) overflows ``x``'s dtype — one deviation beyond about :math:`1.8 \times
    10^{19}` in float32 is enough — all three are taken again in
    float64 and stay float64; where float64 overflows too, a ValueError naming
    ``owner``, never a silent :math:`\hat x = 0`.

    Examples
    --------
    >>> x = np.array([[1e20, -1e20], [3.0, 1.0]], dtype=np.float32)
    >>> mean, xc, var = moments("demo", x, lambda a: a.mean(axis=1, keepdims=True))
    >>> var.dtype, [f"{v:.3g}" for v in var.ravel()]     # (1e20)^2 overflows float32
    (dtype('float64'), ['1e+40', '1'])
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean, xc, var = _centred(x, mean_over)
        if not np.isfinite(var).all():             # a square or a sum overflowed
            mean, xc, var = _centred(x.astype(np.float64), mean_over)
    if np.isfinite(var).all():
        return mean, xc, var
    raise ValueError(f"{_who(owner)}: input too large to normalise (max |x| = "
                     f"{np.abs(x).max():.3g}, its mean or variance overflows float64)")
# --8<-- [end:moments]
