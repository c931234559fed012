r"""Inverted dropout: zero each value with probability :math:`p`, scale the rest by
:math:`1/(1-p)`."""

from __future__ import annotations

import numpy as np

from ._checks import check_array, check_grad, readonly, readonly_view, require_forward
from .module import Module


class Dropout(Module):
    r"""Inverted dropout; the identity in evaluation mode.

    Parameters
    ----------
    p : float
        Probability of zeroing each value, in :math:`[0, 1)`.
    rng : numpy.random.Generator
        Draws the masks (required; litnet has no global random state).

    Shapes
    ------
    x: any shape (N, \*) -> y: same shape and dtype.

    Notes
    -----
    In training mode a fresh mask :math:`m_i \sim \text{Bernoulli}(1-p)` is
    drawn at every forward and

    .. math:: y_i = \frac{m_i}{1-p}\, x_i, \qquad
              \frac{\partial L}{\partial x_i} = \frac{m_i}{1-p}\,\frac{\partial L}{\partial y_i} .

    Dividing by :math:`1-p` keeps :math:`\mathbb E[y_i] = x_i`, so evaluation
    mode needs no rescaling: there :math:`y = x`, returned as a read-only view of
    ``x`` (no copy; ``x`` itself stays writable). The training output is
    read-only too.

    A gradient check needs the same function at every evaluation: call
    :meth:`freeze_mask` and the mask drawn by the next forward (or the current
    one, if there is one) is reused until :meth:`unfreeze_mask`. It also works
    as a context manager, ``with drop.freeze_mask(): ...``, which unfreezes on
    exit.

    Examples
    --------
    >>> import numpy as np
    >>> drop = Dropout(0.5, rng=np.random.default_rng(0))
    >>> x = np.ones((2, 4))
    >>> drop(x)                                  # kept values are scaled by 1/(1-p) = 2
    array([[2., 0., 0., 0.],
           [2., 2., 2., 2.]])
    >>> with drop.freeze_mask():
    ...     bool(np.array_equal(drop(x), drop(x)))
    True
    >>> y = drop.eval()(x)                        # x itself, seen through a read-only view
    >>> bool(np.shares_memory(y, x)), y.flags.writeable, x.flags.writeable
    (True, False, True)
    """

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)) \
                or not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1), got {p!r}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError("Dropout: pass rng=np.random.default_rng(seed); litnet never uses "
                            "a global random state")
        self.p = float(p)
        self.rng = rng
        self.frozen = False
        self._mask = None          # the last training mask, m / (1 - p)
        self._cache = None

    # --8<-- [start:forward]
    def forward(self, x):
        x = check_array(self, x)
        if not self.training:
            self._cache = (x.shape, None)
            return readonly_view(x)                       # y = x, read-only: x stays safe
        if not self.frozen or self._mask is None:
            keep = self.rng.random(x.shape) >= self.p     # P(keep) = 1 - p
            self._mask = keep / (1.0 - self.p)            # m / (1 - p): 0 or 1/(1-p)
        elif self._mask.shape != x.shape:
            raise ValueError(f"Dropout: the frozen mask has shape {self._mask.shape} but the "
                             f"input has shape {x.shape}; call unfreeze_mask() first")
        mask = self._mask.astype(x.dtype)
        self._cache = (x.shape, mask)
        return readonly(x * mask)
    # --8<-- [end:forward]

    # --8<-- [start:backward]
    def backward(self, grad_out):
        shape, mask = require_forward(self, self._cache)
        g = check_grad(self, grad_out, shape)
        if mask is None:                       # evaluation: the identity
            return g.copy()
        return g * mask.astype(g.dtype)
    # --8<-- [end:backward]

    def freeze_mask(self):
        """Reuse one mask for every following forward, until :meth:`unfreeze_mask`.

        Returns the layer itself, so it chains (``Dropout(0.5, rng=rng).freeze_mask()``)
        and works as a context manager that unfreezes on exit
        (``with drop.freeze_mask(): ...``).
        """
        self.frozen = True
        return self

    def unfreeze_mask(self):
        """Draw a fresh mask at every forward again (the default); returns self."""
        self.frozen = False
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.unfreeze_mask()
        return False

    def extra_repr(self):
        return f"p={self.p}"

