"""What the experiments share: the MLP they train, the digits split they train it on.

Every experiment that trains "``Linear -> [norm] -> activation`` times depth, then a
``Linear`` head" builds it with :func:`mlp`; every experiment on the digits takes its
split from :func:`digits`, so a seed means the same split everywhere.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..data import load_digits
from ..dropout import Dropout
from ..linear import Linear
from ..module import Sequential


# --8<-- [start:mlp]
def mlp(widths, activation, *, rng, init=None, head_init=None, norm=None, dropout=0.0,
        dtype=np.float32):
    """``Linear -> [norm] -> activation [-> Dropout]`` for each hidden width, then a head.

    widths: ``(n_in, hidden_1, ..., hidden_k, n_out)``. ``activation`` and ``norm`` are
    factories called once per block (``norm`` with the block's width and ``dtype``).
    ``init`` initialises the hidden weights and ``head_init`` the head (``init`` when
    None; litnet's default when both are None). Weights are drawn from ``rng`` in layer
    order, so a seed fixes the whole network.

    Examples
    --------
    >>> import litnet as ln
    >>> net = mlp((64, 100, 100, 10), ln.ReLU, rng=np.random.default_rng(0),
    ...           norm=lambda n, dtype: ln.BatchNorm1d(n, dtype=dtype))
    >>> [type(m).__name__ for m in net]
    ['Linear', 'BatchNorm1d', 'ReLU', 'Linear', 'BatchNorm1d', 'ReLU', 'Linear']
    """
    layers = []
    for n_in, n_out in zip(widths[:-2], widths[1:-1], strict=True):
        layers.append(Linear(n_in, n_out, init=init, rng=rng, dtype=dtype))
        if norm is not None:
            layers.append(norm(n_out, dtype))
        layers.append(activation())
        if dropout:
            layers.append(Dropout(dropout, rng=rng))
    head = Linear(widths[-2], widths[-1], init=head_init or init, rng=rng, dtype=dtype)
    return Sequential(*layers, head)
# --8<-- [end:mlp]


@lru_cache(maxsize=4)
def digits(seed):
    """The digits split of one seed, ``(x_train, y_train, x_test, y_test)``: 1,500 / 297
    float32 images in [0, 1], read-only (shared by every caller).

    Examples
    --------
    >>> x_train, y_train, x_test, y_test = digits(0)
    >>> x_train.shape, x_test.shape, x_train.flags.writeable
    ((1500, 64), (297, 64), False)
    """
    split = load_digits(rng=np.random.default_rng(seed))
    for a in split:
        a.flags.writeable = False
    return split


def readonly(a, dtype=np.float64):
    """A read-only copy of ``a`` as ``dtype``, for results shared between callers.

    Examples
    --------
    >>> readonly([1, 2]).flags.writeable
    False
    """
    a = np.array(a, dtype=dtype)
    a.flags.writeable = False
    return a
