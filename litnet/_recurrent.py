"""What :class:`~litnet.RNN` and :class:`~litnet.LSTM` share: the four weights and
their initialisation, the checks of a sequence and its initial states, and the
weight gradients summed over batch and time.
"""

from __future__ import annotations

import numpy as np

from . import init
from ._checks import check_array, check_float_dtype, check_int, check_rng
from .parameter import Parameter


def sizes(who, input_size, hidden_size):
    """``(input_size, hidden_size)`` as ints, each checked to be a positive int."""
    return check_int(who, "input_size", input_size), check_int(who, "hidden_size", hidden_size)


def recurrent_parameters(layer, *, gates, rng, dtype):
    r"""Create ``weight_ih_l0`` (G·H, D), ``weight_hh_l0`` (G·H, H) and the two biases
    (G·H,), all uniform on :math:`\pm 1/\sqrt{H}` in this order (PyTorch's init)."""
    who = type(layer).__name__
    check_rng(who, rng)
    dtype = check_float_dtype(who, dtype)
    D, H = layer.input_size, layer.hidden_size
    bound = 1.0 / np.sqrt(H)
    for name, shape in (("weight_ih_l0", (gates * H, D)), ("weight_hh_l0", (gates * H, H)),
                        ("bias_ih_l0", (gates * H,)), ("bias_hh_l0", (gates * H,))):
        setattr(layer, name, Parameter(init.uniform(shape, bound=bound, rng=rng, dtype=dtype)))


def check_sequence(layer, x, **states):
    """Validate a (N, T, D) sequence and optional (N, H) initial states.

    Returns ``(x, [state, ...])``, each state a fresh zero array when it is None.
    """
    dtype = layer.weight_ih_l0.dtype
    x = check_array(layer, x, ndim=3, features=layer.input_size, feature_axis=2,
                    dtype=dtype)
    if x.shape[1] == 0:
        raise ValueError(f"{layer!r}: empty sequence (T = 0; input shape {x.shape})")
    N, H = x.shape[0], layer.hidden_size
    out = []
    for name, state in states.items():
        if state is None:
            out.append(np.zeros((N, H), dtype=dtype))
            continue
        state = check_array(layer, state, ndim=2, features=H, name=name, dtype=dtype)
        if state.shape[0] != N:
            raise ValueError(f"{layer!r}: {name} must have shape ({N}, {H}) for a batch of "
                             f"{N}, got {state.shape}")
        out.append(state)
    return x, out


def accumulate_shared(layer, dz, x, h_prev):
    r"""Add the gradients of the weights shared by all steps, given
    :math:`\delta z_t` (N, T, G·H) for every step: sums over batch and time."""
    # sum_t dz_t^T x_t and sum_t dz_t^T h_{t-1}; optimize=True makes einsum hand them
    # to BLAS as matrix products (about ten times faster than its own loops)
    layer.weight_ih_l0.accumulate(np.einsum("ntk,ntd->kd", dz, x, optimize=True))
    layer.weight_hh_l0.accumulate(np.einsum("ntk,nth->kh", dz, h_prev, optimize=True))
    db = dz.sum(axis=(0, 1))
    layer.bias_ih_l0.accumulate(db)
    layer.bias_hh_l0.accumulate(db)
