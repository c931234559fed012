r"""Weight initialisers.

Every initialiser has the signature ``init(shape, *, rng, dtype=np.float32)``
and returns a new array. ``shape`` follows :class:`~litnet.Linear`'s weight
layout, ``(out_features, in_features)``, so

.. math:: n_\text{in} = \text{shape}[1], \qquad n_\text{out} = \text{shape}[0],
          \qquad n_\text{avg} = (n_\text{in} + n_\text{out}) / 2 .

Pass extra arguments with :func:`functools.partial`, e.g.
``Linear(100, 100, init=partial(init.normal, std=0.01), rng=rng)``.

Two things are called "Xavier" in the literature, and they differ when
``n_in != n_out``:

* the book *Deep Learning from Scratch* uses std :math:`1/\sqrt{n_\text{in}}`:
  ``xavier_normal(mode="fan_in")``;
* Glorot & Bengio (2010) use variance :math:`1/n_\text{avg} = 2/(n_\text{in}+n_\text{out})`:
  ``xavier_normal(mode="fan_avg")`` (the default, as in PyTorch), or uniform on
  :math:`\pm\sqrt{3/n_\text{avg}}` with ``xavier_uniform``.
"""

from __future__ import annotations

import numpy as np


def _fans(shape):
    if len(shape) < 1:
        raise ValueError(f"init: expected a shape with at least one dimension, got {shape}")
    fan_out = shape[0]
    fan_in = shape[1] if len(shape) > 1 else shape[0]
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return fan_in * receptive, fan_out * receptive


def _fan(shape, mode):
    fan_in, fan_out = _fans(shape)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2
    raise ValueError(f"init: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")


def _rng(rng, name):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"init.{name}: expected rng=numpy.random.Generator "
                        f"(e.g. np.random.default_rng(0)), got {type(rng).__name__}")
    return rng


def normal(shape, *, std=0.01, rng, dtype=np.float32):
    """Normal with mean 0 and a fixed standard deviation ``std``.

    Examples
    --------
    >>> import numpy as np
    >>> w = normal((1000, 1000), std=0.01, rng=np.random.default_rng(0))
    >>> round(float(w.std()), 4), w.dtype
    (0.01, dtype('float32'))
    """
    return _rng(rng, "normal").normal(0.0, std, size=shape).astype(dtype)


def uniform(shape, *, bound, rng, dtype=np.float32):
    """Uniform on ``[-bound, bound]``."""
    return _rng(rng, "uniform").uniform(-bound, bound, size=shape).astype(dtype)


def xavier_normal(shape, *, rng, mode="fan_avg", gain=1.0, dtype=np.float32):
    r"""Normal with std :math:`\text{gain}/\sqrt{n}`, ``n`` chosen by ``mode``.

    ``mode="fan_avg"`` is Glorot's rule (variance :math:`1/n_\text{avg}`);
    ``mode="fan_in"`` is the book's "Xavier" (std :math:`1/\sqrt{n_\text{in}}`).

    Examples
    --------
    >>> import numpy as np
    >>> w = xavier_normal((200, 50), rng=np.random.default_rng(0), dtype=np.float64)
    >>> round(float(w.var() * (200 + 50) / 2), 2)
    1.0
    """
    std = gain / np.sqrt(_fan(shape, mode))
    return _rng(rng, "xavier_normal").normal(0.0, std, size=shape).astype(dtype)


def xavier_uniform(shape, *, rng, mode="fan_avg", gain=1.0, dtype=np.float32):
    r"""Uniform on :math:`\pm\,\text{gain}\sqrt{3/n}`, which has variance :math:`\text{gain}^2/n`.

    Examples
    --------
    >>> import numpy as np
    >>> w = xavier_uniform((100, 300), rng=np.random.default_rng(0))
    >>> bool(np.abs(w).max() <= np.sqrt(3 / 200))
    True
    """
    bound = gain * np.sqrt(3.0 / _fan(shape, mode))
    return _rng(rng, "xavier_uniform").uniform(-bound, bound, size=shape).astype(dtype)


def he_normal(shape, *, rng, mode="fan_in", dtype=np.float32):
    r"""He (Kaiming) normal for ReLU: std :math:`\sqrt{2/n_\text{in}}`.

    Examples
    --------
    >>> import numpy as np
    >>> w = he_normal((500, 800), rng=np.random.default_rng(0))
    >>> round(float(w.std() * np.sqrt(800 / 2)), 2)
    1.0
    """
    std = np.sqrt(2.0 / _fan(shape, mode))
    return _rng(rng, "he_normal").normal(0.0, std, size=shape).astype(dtype)


def he_uniform(shape, *, rng, mode="fan_in", dtype=np.float32):
    r"""He (Kaiming) uniform: :math:`\pm\sqrt{6/n_\text{in}}` (variance :math:`2/n_\text{in}`)."""
    bound = np.sqrt(6.0 / _fan(shape, mode))
    return _rng(rng, "he_uniform").uniform(-bound, bound, size=shape).astype(dtype)


def lecun_uniform(shape, *, rng, dtype=np.float32):
    r"""PyTorch's default for ``nn.Linear``: uniform on :math:`\pm 1/\sqrt{n_\text{in}}`."""
    bound = 1.0 / np.sqrt(_fans(shape)[0])
    return _rng(rng, "lecun_uniform").uniform(-bound, bound, size=shape).astype(dtype)


def zeros(shape, *, rng=None, dtype=np.float32):
    """All zeros (``rng`` is accepted for a uniform signature and ignored)."""
    return np.zeros(shape, dtype=dtype)


def ones(shape, *, rng=None, dtype=np.float32):
    """All ones (``rng`` is accepted for a uniform signature and ignored)."""
    return np.ones(shape, dtype=dtype)
