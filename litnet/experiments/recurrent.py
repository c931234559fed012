r"""R11 — how far back in time the gradient reaches: tanh RNN against LSTM.

Note 003 says the LSTM was developed because a plain RNN's gradient vanishes
over time, and that its memory cell and gates fix it. We measure the gradient
of a loss that reads **only the last output** with respect to the input of
each of :math:`T = 50` time steps, for untrained layers:

* inputs :math:`x_t \sim \mathcal N(0, I)`, :math:`D = 32` features, batch of 16;
* hidden size :math:`H = 32`, PyTorch's default initialisation (every weight
  and bias uniform on :math:`\pm 1/\sqrt H`), float64;
* loss :math:`L = \frac1N \sum_n w^\top h_T^{(n)}` with a random readout
  :math:`w \sim \mathcal N(0, I_H)`, so ``grad_out`` is zero except at the last step;
* the curve is :math:`\lVert \partial L/\partial x_t \rVert` (Frobenius norm over
  batch and features) per step, geometric mean over five seeds.

Three layers are compared: the tanh :class:`~litnet.RNN`, the
:class:`~litnet.LSTM` as PyTorch initialises it, and the same LSTM with its
forget-gate bias set to 1, the usual recommendation (Gers et al. 2000;
Jozefowicz et al. 2015; Keras' ``unit_forget_bias=True`` default).

What to expect. Going one step back multiplies the RNN's gradient by
:math:`W_{hh}^\top \operatorname{diag}(1 - h_t^2)`; at this initialisation the
spectral radius of :math:`W_{hh}` is about 0.6 and the mean of :math:`1 - h^2`
about 0.75, hence a geometric decay by about 0.45 per step. The LSTM's cell
path multiplies by the forget gate :math:`f_t` instead, which starts near
:math:`\sigma(0) = 1/2` but with no weight matrix in the way, and near
:math:`\sigma(1) \approx 0.73` with the forget bias at 1. An *untrained*
LSTM's gradient therefore still decays geometrically, only at a slower rate
set by its forget gates; a trained one can hold :math:`f_t \approx 1` where it
needs a long memory. The fitted per-step factors are in :func:`gradient_over_time`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..lstm import LSTM
from ..rnn import RNN
from . import plotting
from .claim import also, at_least, at_most

T, INPUT_SIZE, HIDDEN_SIZE, BATCH, SEEDS = 50, 32, 32, 16, 5

#: model key -> label for tables and figures
MODELS = {
    "rnn": "tanh RNN",
    "lstm": "LSTM (PyTorch init)",
    "lstm_forget1": "LSTM, forget-gate bias 1",
}


def build(kind, *, rng, input_size=INPUT_SIZE, hidden_size=HIDDEN_SIZE):
    """One of :data:`MODELS`, in float64, with PyTorch's default initialisation.

    For ``"lstm_forget1"`` the forget-gate rows of ``bias_ih_l0`` are set to 1
    and those of ``bias_hh_l0`` to 0, so the forget gate's bias is exactly 1.

    Examples
    --------
    >>> import numpy as np
    >>> lstm = build("lstm_forget1", rng=np.random.default_rng(0), input_size=2, hidden_size=3)
    >>> (lstm.bias_ih_l0.data + lstm.bias_hh_l0.data)[3:6].tolist()
    [1.0, 1.0, 1.0]
    """
    if kind not in MODELS:
        raise ValueError(f"build: kind must be one of {sorted(MODELS)}, got {kind!r}")
    if kind == "rnn":
        return RNN(input_size, hidden_size, rng=rng, dtype=np.float64)
    layer = LSTM(input_size, hidden_size, rng=rng, dtype=np.float64)
    if kind == "lstm_forget1":
        H = hidden_size
        layer.bias_ih_l0.data[H:2 * H] = 1.0   # the gate order is (i, f, g, o)
        layer.bias_hh_l0.data[H:2 * H] = 0.0
    return layer


# --8<-- [start:input_gradient_norms]
def input_gradient_norms(layer, x, readout):
    r"""``norms[t]`` = :math:`\lVert \partial L/\partial x_t \rVert` for
    :math:`L = \frac1N \sum_n` ``readout`` :math:`\cdot\, h_T^{(n)}`.

    The loss reads the last output only, so the upstream gradient is zero at
    every other step; backpropagation through time carries it back.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> rnn = build("rnn", rng=rng, input_size=2, hidden_size=3)
    >>> norms = input_gradient_norms(rnn, rng.standard_normal((4, 6, 2)), np.ones(3))
    >>> norms.shape, bool(norms[0] < norms[-1])
    ((6,), True)
    """
    out = layer(x)                             # (N, T, H)
    grad_out = np.zeros_like(out)
    grad_out[:, -1] = readout / len(x)         # dL/dh_T; zero at every other step
    dx = layer.backward(grad_out)              # (N, T, D), full BPTT
    return np.linalg.norm(dx, axis=(0, 2))     # one norm per time step
# --8<-- [end:input_gradient_norms]


def decay_fit(norms):
    r"""Fit :math:`\log \lVert g_t \rVert = a + t \log \rho` by least squares.

    Returns ``{"factor": rho, "r2": R^2 of the fit in log space}``: ``rho`` is
    how much the gradient shrinks per step going back in time (1 = no decay),
    and :math:`R^2 \approx 1` says the decay is exponential.

    Examples
    --------
    >>> fit = decay_fit(0.5 ** np.arange(10, 0, -1))
    >>> round(fit["factor"], 6), round(fit["r2"], 6)
    (0.5, 1.0)
    """
    log = np.log(np.asarray(norms, dtype=np.float64))
    t = np.arange(log.size)
    slope, intercept = np.polyfit(t, log, 1)
    residual = log - (intercept + slope * t)
    r2 = 1.0 - residual @ residual / np.sum((log - log.mean()) ** 2)
    return {"factor": float(np.exp(-slope)), "r2": float(r2)}


@lru_cache
def gradient_over_time(seeds=SEEDS):
    """The R11 measurement, for every model of :data:`MODELS` (a fraction of a second).

    Returns
    -------
    dict
        ``"t"``: the steps 0..T-1; for each model key, a dict with ``"norms"``
        (T,) (geometric mean over ``seeds``, read-only), ``"per_seed"``
        (seeds, T), ``"factor"`` and ``"r2"`` from :func:`decay_fit`,
        ``"first_over_last"`` = norms[0] / norms[T-1], and for the LSTMs
        ``"forget_gate"``, the mean forget-gate value over steps, units and batch.

    Seed ``s`` draws the weights, then the inputs, then the readout, from
    ``default_rng(s)``; the three models see the same inputs and readout.

    Examples
    --------
    >>> r = gradient_over_time()
    >>> r["rnn"]["norms"].shape, sorted(k for k in r if k != "t")
    ((50,), ['lstm', 'lstm_forget1', 'rnn'])
    """
    result = {"t": np.arange(T)}
    for kind in MODELS:
        per_seed, forget = [], []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            layer = build(kind, rng=rng)
            inputs = np.random.default_rng([seed, 1])   # the same data for every model
            x = inputs.standard_normal((BATCH, T, INPUT_SIZE))
            readout = inputs.standard_normal(HIDDEN_SIZE)
            per_seed.append(input_gradient_norms(layer, x, readout))
            if kind != "rnn":
                forget.append(layer.gates[..., HIDDEN_SIZE:2 * HIDDEN_SIZE].mean())
        per_seed = np.array(per_seed)
        norms = np.exp(np.log(per_seed).mean(axis=0))
        for a in (norms, per_seed):
            a.setflags(write=False)
        entry = {"norms": norms, "per_seed": per_seed, **decay_fit(norms),
                 "first_over_last": float(norms[0] / norms[-1])}
        if forget:
            entry["forget_gate"] = float(np.mean(forget))
        result[kind] = entry
    result["t"].setflags(write=False)
    return result


@plotting.styled
def plot_gradient_over_time(seeds=SEEDS):
    r"""Figure: :math:`\lVert \partial L/\partial x_t \rVert` over the :data:`T` steps for
    each of :data:`MODELS` (log scale), with the fitted per-step factor in the legend."""
    r = gradient_over_time(seeds)
    fig, ax = plotting.figure()
    for key, label in MODELS.items():
        ax.semilogy(r["t"], r[key]["norms"], label=f"{label} (×{r[key]['factor']:.2f} per step)")
    ax.set(xlabel="time step t of the input (the loss reads the last output)",
           ylabel="‖∂L/∂x_t‖")
    ax.legend()
    return fig


def claims():
    """The R11 claims, each with its bound written once (the reproductions page lists them)."""
    r = gradient_over_time()
    rnn, lstm, lstm1 = r["rnn"], r["lstm"], r["lstm_forget1"]

    def per_seed_ratio(entry):
        return entry["per_seed"][:, 0] / entry["per_seed"][:, -1]

    worst_gain = float(np.min(per_seed_ratio(lstm) / per_seed_ratio(rnn)))
    gain = lstm["first_over_last"] / rnn["first_over_last"]
    gain1 = lstm1["first_over_last"] / rnn["first_over_last"]
    return [
        also(at_most(
            "R11.rnn_exponential",
            "tanh RNN: the gradient reaching step t decays exponentially going back "
            "(log-linear fit R² ≥ 0.99, per-step factor ≤ {bound})",
            rnn["factor"], 0.6, note="the RNN's gradient vanishes over time", fmt=".1f"),
            rnn["r2"] >= 0.99,
            f"×{rnn['factor']:.2f} per step (R² = {rnn['r2']:.4f}); "
            f"‖∂L/∂x₀‖ / ‖∂L/∂x₄₉‖ = {rnn['first_over_last']:.1e}"),
        also(at_least(
            "R11.lstm_slower",
            "LSTM (PyTorch init): over the 50 steps the gradient shrinks at least {bound}× "
            "less than the RNN's, in every seed",
            worst_gain, 1000, note="the LSTM's memory cell keeps long-range gradients",
            fmt="g"),
            measured=f"×{lstm['factor']:.2f} per step; ‖∂L/∂x₀‖ / ‖∂L/∂x₄₉‖ = "
                     f"{lstm['first_over_last']:.1e}, {gain:.1e}× the RNN's "
                     f"(smallest seed: {worst_gain:.1e}×)"),
        also(at_least(
            "R11.forget_gate_sets_rate",
            "untrained, the LSTM's gradient still decays geometrically (R² ≥ 0.99), at a "
            "rate set by the forget gate: a forget bias of 1 moves the per-step factor "
            "toward 1 (≥ {bound})",
            lstm1["factor"], 0.75, note="gates control the gradient flow (∂c_t/∂c_{t−1} = f_t)",
            fmt=".2f"),
            min(lstm["r2"], lstm1["r2"]) >= 0.99 and lstm1["factor"] > lstm["factor"]
            and lstm1["forget_gate"] > lstm["forget_gate"],
            f"mean f {lstm['forget_gate']:.2f} → {lstm1['forget_gate']:.2f}: "
            f"×{lstm['factor']:.2f} → ×{lstm1['factor']:.2f} per step "
            f"(R² {lstm['r2']:.4f}, {lstm1['r2']:.4f}); ‖∂L/∂x₀‖ / ‖∂L/∂x₄₉‖ = "
            f"{lstm1['first_over_last']:.1e}, {gain1:.1e}× the RNN's"),
    ]
