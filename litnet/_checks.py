"""Validation shared by every layer, optimizer and the training loop.

Clear errors instead of broadcasting ones: every message names its owner (the layer,
``"fit"``, ...), what it expected and what it got. The constructor checks
(:func:`check_int`, :func:`check_rng`, :func:`check_float_dtype`) are written once
here so that every layer is exactly as strict as every other.
"""

from __future__ import annotations

import numpy as np

from .parameter import Parameter


class NonFiniteError(ValueError):
    """Raised when an input holds NaN or inf: in training this usually means divergence."""


def _who(owner):
    # The repr of a layer is built only when an error is raised: it costs far more
    # than the checks themselves, and these run on every forward and backward.
    return owner if isinstance(owner, str) else repr(owner)


def check_int(owner, name, value, *, minimum=1):
    """Return ``value`` as an int if it is an integer ``>= minimum``; else a ValueError.

    ``bool`` is rejected although Python counts it as an int: ``Linear(True, 2)``
    is a mistake, not one input feature.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = {0: "non-negative", 1: "positive"}.get(minimum, f">= {minimum}")
        raise ValueError(f"{_who(owner)}: {name} must be a {kind} int, got {value!r}")
    return int(value)


def check_rng(owner, rng):
    """Return ``rng`` if it is a ``numpy.random.Generator``; else a TypeError."""
    if not isinstance(rng, np.random.Generator):
        got = "nothing" if rng is None else f"a {type(rng).__name__}"
        raise TypeError(f"{_who(owner)}: rng must be a numpy.random.Generator, e.g. "
                        f"rng=np.random.default_rng(seed); got {got} (litnet never uses a "
                        "global random state)")
    return rng


def check_float_dtype(owner, dtype):
    """Return ``dtype`` as a floating ``numpy.dtype``; else a TypeError."""
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"{_who(owner)}: dtype must be a floating dtype, got {dtype}")
    return dtype


def check_array(owner, x, *, ndim=None, features=None, feature_axis=1, name="input",
                dtype=None, finite=True, min_batch=1):
    """Validate ``x`` for the layer ``owner`` and return it as an ndarray.

    Raises ``TypeError`` for a non-floating dtype or a dtype that differs from
    ``dtype``, and ``ValueError`` for a wrong rank, a wrong number of features,
    an empty batch, or NaN/inf values. Every message names ``owner``.
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype.kind != "f":                     # not a floating dtype
        raise TypeError(f"{_who(owner)}: expected a floating-point {name} "
                        f"(float32 or float64), got dtype {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{_who(owner)}: {name} has dtype {x.dtype} but the layer's "
                        f"parameters are {np.dtype(dtype)}; convert one of them "
                        f"(e.g. model.to(np.{x.dtype}))")
    if ndim is not None:
        allowed = ndim if isinstance(ndim, tuple) else (ndim,)
        if x.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{_who(owner)}: expected a {want} {name}, got shape {x.shape} "
                             f"({x.ndim}-D)")
    if features is not None and x.shape[feature_axis] != features:
        expected = ["N"] + ["*"] * (x.ndim - 1)
        expected[feature_axis] = str(features)
        raise ValueError(f"{_who(owner)}: expected {name} of shape ({', '.join(expected)}), "
                         f"got {x.shape}")
    if x.ndim >= 1 and x.shape[0] < min_batch:
        if x.shape[0] == 0:
            raise ValueError(f"{_who(owner)}: empty batch ({name} shape {x.shape})")
        raise ValueError(f"{_who(owner)}: expected a batch of at least {min_batch}, "
                         f"got shape {x.shape}")
    if finite and not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise NonFiniteError(f"{_who(owner)}: {name} contains {bad} NaN or inf value(s) "
                         f"(shape {x.shape})")
    return x


def check_grad(owner, grad, expected_shape, dtype=None):
    """Validate an upstream gradient against the shape of the forward output."""
    grad = np.asarray(grad)
    if grad.shape != tuple(expected_shape):
        raise ValueError(f"{_who(owner)}: backward expected a gradient of shape "
                         f"{tuple(expected_shape)} (the forward output), got {grad.shape}")
    if grad.dtype.kind != "f":                  # not a floating dtype
        raise TypeError(f"{_who(owner)}: backward expected a floating gradient, "
                        f"got {grad.dtype}")
    return grad


def require_forward(owner, cache):
    """Raise a clear error when backward is called before forward."""
    if cache is None:
        raise RuntimeError(f"{_who(owner)}: backward called before forward (nothing cached)")
    return cache


def check_parameters(owner, params, allow_empty=False):
    """Return ``params`` (a Parameter or an iterable of them) as a list of Parameters.

    Raises ``TypeError`` naming ``owner`` for anything else (a Module, a plain
    array: wrap it in ``Parameter``), and ``ValueError`` for an empty list
    (unless ``allow_empty``) or a parameter listed twice.
    """
    if isinstance(params, Parameter):
        return [params]
    if isinstance(params, np.ndarray) or not hasattr(params, "__iter__"):
        raise TypeError(f"{owner}: expected an iterable of litnet Parameters (e.g. "
                        f"model.parameters()), got {type(params).__name__}; wrap a plain "
                        "array in litnet.Parameter")
    out = list(params)
    for i, p in enumerate(out):
        if not isinstance(p, Parameter):
            raise TypeError(f"{owner}: element {i} is a {type(p).__name__}, expected a litnet "
                            "Parameter (pass model.parameters(); wrap arrays in Parameter)")
    if not out and not allow_empty:
        raise ValueError(f"{owner}: got an empty parameter list")
    if len({id(p) for p in out}) != len(out):
        raise ValueError(f"{owner}: a parameter appears more than once")
    return out


def readonly(y):
    """Mark ``y``, an array the layer itself made, read-only and return it (free: a flag).

    Layers return what they keep for backward this way, so that an in-place change by the
    caller raises instead of silently changing the gradients.
    """
    y.flags.writeable = False
    return y


def readonly_view(x):
    """A read-only view of ``x`` (the caller's array): ``x`` itself, flags included, is
    untouched, but nothing can be written through the view."""
    v = x.view()
    v.flags.writeable = False
    return v


def kept(x):
    """``x`` as a layer keeps it for backward: ``x`` itself when nobody can change it in
    place (read-only, and so is every array whose memory it views), else a copy."""
    a = x
    while a is not None:                 # x, then the array whose memory x views, ...
        if not isinstance(a, np.ndarray) or a.flags.writeable:
            return x.copy()
        a = a.base
    return x
