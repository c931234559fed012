"""A learnable array and the gradient that backward accumulates into it."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A learnable array together with its gradient.

    Parameters
    ----------
    data : array_like
        Initial value. It is copied, so the caller's array is never aliased.

    Attributes
    ----------
    data : numpy.ndarray
        The current value; optimisers replace or update it.
    grad : numpy.ndarray
        ``dL/d(data)``, same shape and dtype as ``data``. ``backward`` *adds*
        to it in place (gradients accumulate, as in PyTorch); ``zero_grad``
        replaces it by a fresh array of zeros, so an array taken from ``.grad``
        before ``zero_grad`` keeps its values.

    Examples
    --------
    >>> p = Parameter([1.0, 2.0])
    >>> p.grad
    array([0., 0.])
    >>> p.shape
    (2,)
    """

    __slots__ = ("data", "grad")

    def __init__(self, data):
        self.data = np.array(data)  # always a private copy
        if not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(f"Parameter: expected a floating dtype, got {self.data.dtype}")
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    def zero_grad(self):
        """Reset the accumulated gradient to zeros (a fresh array)."""
        self.grad = np.zeros_like(self.data)

    def accumulate(self, g):
        """Add ``g`` to the gradient without touching ``g``.

        ``g`` must have the parameter's shape (no silent broadcasting); it is
        cast to the parameter's dtype, so ``.grad`` keeps the dtype of ``.data``.
        The sum is written into ``.grad`` in place (no new array per backward).

        Examples
        --------
        >>> p = Parameter([1.0, 2.0])
        >>> p.accumulate([0.5, 0.5]); p.accumulate([0.5, 0.5])
        >>> p.grad.tolist()
        [1.0, 1.0]
        """
        g = np.asarray(g)
        if g.shape != self.data.shape:
            raise ValueError(f"Parameter of shape {self.data.shape}: cannot accumulate a "
                             f"gradient of shape {g.shape}")
        self.grad += g                  # in place; casts g to the dtype of .grad

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
