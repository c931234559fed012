r"""Elman recurrent layer: one hidden state carried along a sequence.

.. math:: h_t = \tanh\bigl(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}\bigr),
          \qquad h_0 = 0 .

The same weights are used at every step, so backpropagation through time
multiplies the gradient by :math:`W_{hh}^\top \operatorname{diag}(1 - h_t^2)`
once per step it travels back: this is where the vanishing (or exploding)
gradient of recurrent networks comes from. Weight creation, input checks and the
weight gradients summed over time are shared with :class:`~litnet.LSTM`
(``litnet/_recurrent.py``).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_grad, require_forward
from ._recurrent import accumulate_shared, check_sequence, recurrent_parameters, sizes
from .module import Module

NONLINEARITIES = ("tanh", "relu")


class RNN(Module):
    r"""Single-layer Elman RNN over batch-first sequences, PyTorch's names and init.

    Parameters
    ----------
    input_size : int
        :math:`D`, features of each time step.
    hidden_size : int
        :math:`H`, size of the hidden state.
    rng : numpy.random.Generator
        Draws the initial weights (required).
    dtype : float32 or float64
        Dtype of the parameters; inputs must match it.
    nonlinearity : {"tanh", "relu"}
        :math:`\phi` below; ``"tanh"`` as in PyTorch by default.

    Attributes
    ----------
    weight_ih_l0 : Parameter, (H, D)
    weight_hh_l0 : Parameter, (H, H)
    bias_ih_l0, bias_hh_l0 : Parameter, (H,)
        The same names and layout as ``torch.nn.RNN(D, H, batch_first=True)``,
        so weights copy over one to one. All four start uniform on
        :math:`\pm 1/\sqrt{H}`, drawn in this order, as PyTorch does.
    h_n : ndarray, (N, H)
        The last hidden state after ``forward`` (the same as ``out[:, -1]``).
    grad_h0 : ndarray, (N, H)
        :math:`\partial L/\partial h_0` after ``backward``.

    Shapes
    ------
    x: (N, T, D) -> out: (N, T, H) with ``out[:, t]`` = :math:`h_{t+1}` (the
    state after reading ``x[:, t]``). ``backward(grad_out)`` takes
    :math:`\partial L/\partial\,\text{out}` of shape (N, T, H) and returns
    :math:`\partial L/\partial x` of shape (N, T, D); ``dx[:, t]`` is the
    gradient with respect to the input of step ``t``. When the loss reads only
    the last state, pass a ``grad_out`` that is zero except at ``[:, -1]``.

    Notes
    -----
    With :math:`a_t` the pre-activation, :math:`h_t = \phi(a_t)` and
    :math:`g_t = \partial L/\partial h_t` coming from the output at step
    :math:`t`, backpropagation through time runs :math:`t = T, \dots, 1`:

    .. math::
        \delta h_t = g_t + \delta a_{t+1} W_{hh}, \qquad
        \delta a_t = \delta h_t \odot \phi'(a_t), \qquad
        \frac{\partial L}{\partial x_t} = \delta a_t W_{ih},

    with :math:`\delta a_{T+1} = 0` and :math:`\phi'(a) = 1 - \tanh^2 a` (or
    :math:`[a > 0]` for ReLU). The weights are shared by all steps, so their
    gradients are sums over time:
    :math:`\partial L/\partial W_{ih} = \sum_t \delta a_t^\top x_t`,
    :math:`\partial L/\partial W_{hh} = \sum_t \delta a_t^\top h_{t-1}`,
    :math:`\partial L/\partial b_{ih} = \partial L/\partial b_{hh} = \sum_t \sum_n \delta a_t`.

    Examples
    --------
    >>> import numpy as np
    >>> rnn = RNN(3, 4, rng=np.random.default_rng(0))
    >>> rnn
    RNN(3, 4, nonlinearity='tanh', dtype=float32)
    >>> x = np.ones((2, 5, 3), np.float32)           # N=2 sequences of T=5 steps
    >>> out = rnn(x)
    >>> out.shape, rnn.h_n.shape, bool(np.all(out[:, -1] == rnn.h_n))
    ((2, 5, 4), (2, 4), True)
    >>> g = np.zeros_like(out)
    >>> g[:, -1] = 1.0                                # loss reads the last state only
    >>> rnn.backward(g).shape
    (2, 5, 3)
    """

    def __init__(self, input_size, hidden_size, *, rng=None, dtype=np.float32,
                 nonlinearity="tanh"):
        super().__init__()
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.input_size, self.hidden_size = sizes("RNN", input_size, hidden_size)
        recurrent_parameters(self, gates=1, rng=rng, dtype=dtype)
        self._cache = None

    def forward(self, x, h0=None):
        """Run the sequence ``x`` (N, T, D) from ``h0`` (N, H) or zeros; return (N, T, H).

        ``rnn(x)`` starts from zeros, ``rnn(x, h0)`` from ``h0`` (with the forward hooks).
        """
        x, (h,) = check_sequence(self, x, h0=h0)
        N, T, _ = x.shape
        xw = x @ self.weight_ih_l0.data.T + self.bias_ih_l0.data   # input part, all steps
        W_hh, b_hh = self.weight_hh_l0.data, self.bias_hh_l0.data
        hs = np.empty((N, T + 1, self.hidden_size), dtype=x.dtype)
        hs[:, 0] = h
        for t in range(T):
            # --8<-- [start:forward_step]
            a = xw[:, t] + h @ W_hh.T + b_hh         # xw holds x_t W_ih^T + b_ih
            h = np.tanh(a) if self.nonlinearity == "tanh" else np.maximum(a, 0)
            # --8<-- [end:forward_step]
            hs[:, t + 1] = h
        self._cache = (x, hs)
        self.h_n = h
        return hs[:, 1:].copy()

    def backward(self, grad_out, *, input_grad=True):
        """Backpropagate ``dL/d(out)`` (N, T, H) through time; return ``dL/dx`` (N, T, D)."""
        x, hs = require_forward(self, self._cache)
        N, T, _ = x.shape
        g = check_grad(self, grad_out, (N, T, self.hidden_size))
        W_hh = self.weight_hh_l0.data
        da = np.empty((N, T, self.hidden_size), dtype=hs.dtype)    # delta a_t, every step
        dh_next = np.zeros((N, self.hidden_size), dtype=hs.dtype)  # dL/dh_t via step t+1
        for t in reversed(range(T)):
            # --8<-- [start:backward_step]
            h = hs[:, t + 1]
            dh = g[:, t] + dh_next                    # from the output and from step t+1
            dphi = 1 - h * h if self.nonlinearity == "tanh" else (h > 0).astype(h.dtype)
            da[:, t] = dh * dphi                      # delta a_t = delta h_t * phi'(a_t)
            dh_next = da[:, t] @ W_hh                 # on to h_{t-1}: times W_hh, every step
            # --8<-- [end:backward_step]
        self.grad_h0 = dh_next
        accumulate_shared(self, da, x, hs[:, :-1])
        if not input_grad:                            # x is the data: skip dL/dx
            return None
        return da @ self.weight_ih_l0.data            # dL/dx_t = delta a_t W_ih, every t

    def extra_repr(self):
        return (f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}, "
                f"dtype={self.weight_ih_l0.dtype}")
