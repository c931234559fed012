r"""Long short-term memory: a gated cell state that carries gradients across time.

At each step four gates read the input and the previous hidden state; the
cell state is updated *additively*, :math:`c_t = f_t \odot c_{t-1} + i_t \odot g_t`,
so the gradient flows from :math:`c_t` to :math:`c_{t-1}` multiplied only by
the forget gate :math:`f_t`: no weight matrix, no squashing derivative.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_grad, require_forward
from ._recurrent import accumulate_shared, check_sequence, recurrent_parameters, sizes
from .module import Module


def _sigmoid(z):
    # The logistic function written with tanh: the same value, never overflows.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class LSTM(Module):
    r"""Single-layer LSTM over batch-first sequences, PyTorch's names, gate order and init.

    Parameters
    ----------
    input_size : int
        :math:`D`, features of each time step.
    hidden_size : int
        :math:`H`, size of the hidden and cell states.
    rng : numpy.random.Generator
        Draws the initial weights (required).
    dtype : float32 or float64
        Dtype of the parameters; inputs must match it.

    Attributes
    ----------
    weight_ih_l0 : Parameter, (4H, D)
    weight_hh_l0 : Parameter, (4H, H)
    bias_ih_l0, bias_hh_l0 : Parameter, (4H,)
        Rows in PyTorch's gate order :math:`(i, f, g, o)`: rows ``0:H`` feed
        the input gate, ``H:2H`` the forget gate, ``2H:3H`` the candidate,
        ``3H:4H`` the output gate. Same names and layout as
        ``torch.nn.LSTM(D, H, batch_first=True)``; all start uniform on
        :math:`\pm 1/\sqrt{H}` (so the forget gate starts near 1/2).
    h_n, c_n : ndarray, (N, H)
        The last hidden and cell state after ``forward`` (``h_n`` equals ``out[:, -1]``).
    grad_h0, grad_c0 : ndarray, (N, H)
        :math:`\partial L/\partial h_0` and :math:`\partial L/\partial c_0` after ``backward``.

    Shapes
    ------
    x: (N, T, D) -> out: (N, T, H), ``out[:, t]`` = :math:`h_{t+1}`.
    ``backward(grad_out)`` takes :math:`\partial L/\partial\,\text{out}` (N, T, H)
    and returns :math:`\partial L/\partial x` (N, T, D); ``dx[:, t]`` is the
    gradient with respect to the input of step ``t``. When the loss reads only
    the last output, pass a ``grad_out`` that is zero except at ``[:, -1]``.

    Notes
    -----
    Forward, with :math:`z_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}`
    split into four blocks of :math:`H` columns:

    .. math::
        i_t = \sigma(z^i_t), \quad f_t = \sigma(z^f_t), \quad
        g_t = \tanh(z^g_t), \quad o_t = \sigma(z^o_t),

        c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad
        h_t = o_t \odot \tanh(c_t), \qquad h_0 = c_0 = 0 .

    Backward through time, :math:`t = T, \dots, 1`, with :math:`\delta h_t` and
    :math:`\delta c_t` the full gradients with respect to :math:`h_t` and :math:`c_t`:

    .. math::
        \delta h_t = \frac{\partial L}{\partial \text{out}_t} + \delta z_{t+1} W_{hh},

        \delta c_t = \delta c_{t+1} \odot f_{t+1}
                   + \delta h_t \odot o_t \odot (1 - \tanh^2 c_t),

        \delta z^i_t = \delta c_t \odot g_t \odot i_t (1 - i_t), \quad
        \delta z^f_t = \delta c_t \odot c_{t-1} \odot f_t (1 - f_t),

        \delta z^g_t = \delta c_t \odot i_t \odot (1 - g_t^2), \quad
        \delta z^o_t = \delta h_t \odot \tanh(c_t) \odot o_t (1 - o_t),

        \frac{\partial L}{\partial x_t} = \delta z_t W_{ih} .

    The first term of :math:`\delta c_t` is the cell-state highway:
    :math:`\partial c_t/\partial c_{t-1} = \operatorname{diag}(f_t)`, so over
    :math:`k` steps the gradient is multiplied by :math:`\prod f`, elementwise,
    instead of :math:`k` products of :math:`W_{hh}^\top` and :math:`\tanh'` as in
    the plain :class:`~litnet.RNN`. With forget gates near 1 it barely decays.
    As in :class:`~litnet.RNN`, the weight gradients are sums over time,
    :math:`\partial L/\partial W_{ih} = \sum_t \delta z_t^\top x_t`,
    :math:`\partial L/\partial W_{hh} = \sum_t \delta z_t^\top h_{t-1}`, and both
    biases get :math:`\sum_t \sum_n \delta z_t`.

    Examples
    --------
    >>> import numpy as np
    >>> lstm = LSTM(3, 4, rng=np.random.default_rng(0))
    >>> lstm
    LSTM(3, 4, dtype=float32)
    >>> lstm.weight_ih_l0.shape, lstm.weight_hh_l0.shape, lstm.bias_ih_l0.shape
    ((16, 3), (16, 4), (16,))
    >>> out = lstm(np.ones((2, 5, 3), np.float32))
    >>> out.shape, lstm.c_n.shape, bool(np.all(out[:, -1] == lstm.h_n))
    ((2, 5, 4), (2, 4), True)
    >>> lstm.backward(np.ones_like(out)).shape
    (2, 5, 3)
    """

    def __init__(self, input_size, hidden_size, *, rng=None, dtype=np.float32):
        super().__init__()
        self.input_size, self.hidden_size = sizes("LSTM", input_size, hidden_size)
        recurrent_parameters(self, gates=4, rng=rng, dtype=dtype)
        self._cache = None

    def forward(self, x, h0=None, c0=None):
        """Run ``x`` (N, T, D) from ``h0``, ``c0`` (N, H) or zeros; return (N, T, H).

        ``lstm(x)`` starts from zeros, ``lstm(x, h0, c0)`` from the given states.
        """
        x, (h, c) = check_sequence(self, x, h0=h0, c0=c0)
        N, T, _ = x.shape
        H = self.hidden_size
        xw = x @ self.weight_ih_l0.data.T + self.bias_ih_l0.data   # input part, all steps
        W_hh, b_hh = self.weight_hh_l0.data, self.bias_hh_l0.data
        hs = np.empty((N, T + 1, H), dtype=x.dtype)    # h_0 .. h_T
        cs = np.empty((N, T + 1, H), dtype=x.dtype)    # c_0 .. c_T
        gates = np.empty((N, T, 4 * H), dtype=x.dtype)  # (i, f, g, o) of every step
        hs[:, 0], cs[:, 0] = h, c
        for t in range(T):
            # --8<-- [start:forward_step]
            z = xw[:, t] + h @ W_hh.T + b_hh           # (N, 4H), blocks i, f, g, o
            i = _sigmoid(z[:, :H])                     # input gate: how much to write
            f = _sigmoid(z[:, H:2 * H])                # forget gate: how much to keep
            g = np.tanh(z[:, 2 * H:3 * H])             # candidate values
            o = _sigmoid(z[:, 3 * H:])                 # output gate: how much to show
            c = f * c + i * g                          # additive cell update
            h = o * np.tanh(c)
            # --8<-- [end:forward_step]
            gates[:, t] = np.concatenate([i, f, g, o], axis=1)
            hs[:, t + 1], cs[:, t + 1] = h, c
        self._cache = (x, hs, cs, gates)
        self.h_n, self.c_n = h, c
        return hs[:, 1:].copy()

    def backward(self, grad_out, *, input_grad=True):
        """Backpropagate ``dL/d(out)`` (N, T, H) through time; return ``dL/dx`` (N, T, D)."""
        x, hs, cs, gates = require_forward(self, self._cache)
        N, T, _ = x.shape
        H = self.hidden_size
        grad = check_grad(self, grad_out, (N, T, H))
        W_hh = self.weight_hh_l0.data
        dz = np.empty((N, T, 4 * H), dtype=hs.dtype)     # delta z_t, every step
        dh_next = np.zeros((N, H), dtype=hs.dtype)       # dL/dh_t via step t+1
        dc_next = np.zeros((N, H), dtype=hs.dtype)       # dL/dc_t via step t+1 (the highway)
        for t in reversed(range(T)):
            i, f, g, o = np.split(gates[:, t], 4, axis=1)
            c_prev, tanh_c = cs[:, t], np.tanh(cs[:, t + 1])
            # --8<-- [start:backward_step]
            dh = grad[:, t] + dh_next                          # from the output and step t+1
            dc = dc_next + dh * o * (1 - tanh_c * tanh_c)      # h_t = o tanh(c_t)
            dz[:, t] = np.concatenate([
                dc * g * i * (1 - i),                          # input gate
                dc * c_prev * f * (1 - f),                     # forget gate
                dc * i * (1 - g * g),                          # candidate
                dh * tanh_c * o * (1 - o),                     # output gate
            ], axis=1)
            dc_next = dc * f                                   # dc_t/dc_{t-1} = f_t: the highway
            dh_next = dz[:, t] @ W_hh                          # dz_t/dh_{t-1} = W_hh
            # --8<-- [end:backward_step]
        self.grad_h0, self.grad_c0 = dh_next, dc_next
        accumulate_shared(self, dz, x, hs[:, :-1])
        if not input_grad:                               # x is the data: skip dL/dx
            return None
        return dz @ self.weight_ih_l0.data               # dL/dx_t = delta z_t W_ih, every t

    @property
    def gates(self):
        """The gate values of the last forward, (N, T, 4H) in the order (i, f, g, o),
        read-only; e.g. ``lstm.gates[..., H:2*H]`` are the forget gates."""
        gates = require_forward(self, self._cache)[3].view()
        gates.setflags(write=False)
        return gates

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, dtype={self.weight_ih_l0.dtype}"
