"""RNN and LSTM: gradients through time, initial states, PyTorch parity, bad input, R11.

The generic layer-protocol, bad-input and parity tests also run on both layers
through tests/cases.py ("RNN-tanh", "RNN-relu", "LSTM"); this file adds what is
specific to recurrent layers: initial states and their gradients, the last
hidden/cell state, the loss on the last step only, PyTorch's parameter layout
and initialisation, and the R11 trend.
"""

from __future__ import annotations

import numpy as np
import pytest

import litnet as ln
from litnet.experiments import recurrent
from litnet.gradcheck import numerical_gradient

N, T, D, H = 2, 4, 3, 3
KINDS = ["rnn-tanh", "rnn-relu", "lstm"]


def make(kind, rng, dtype=np.float64, input_size=D, hidden_size=H):
    if kind == "lstm":
        return ln.LSTM(input_size, hidden_size, rng=rng, dtype=dtype)
    return ln.RNN(input_size, hidden_size, rng=rng, dtype=dtype,
                  nonlinearity=kind.removeprefix("rnn-"))


def states(kind, rng, n=N):
    """Random initial states: (h0,) for the RNN, (h0, c0) for the LSTM."""
    return tuple(rng.standard_normal((n, H)) for _ in range(2 if kind == "lstm" else 1))


class FromStates(ln.Module):
    """Runs ``layer`` from fixed initial states, so gradcheck sees a one-argument module."""

    def __init__(self, layer, initial):
        super().__init__()
        self.layer, self.initial = layer, initial

    def forward(self, x):
        return self.layer.forward(x, *self.initial)

    def backward(self, grad_out):
        return self.layer.backward(grad_out)


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_from_nonzero_initial_states(kind):
    rng = np.random.default_rng(0)
    layer = make(kind, rng)
    x, initial = rng.standard_normal((N, T, D)), states(kind, rng)
    module = FromStates(layer, initial)
    result = ln.gradcheck(module, x, rng=rng)
    assert result.worst < 1e-6, result
    assert set(result.errors) == {"input", "layer.weight_ih_l0", "layer.weight_hh_l0",
                                  "layer.bias_ih_l0", "layer.bias_hh_l0"}

    # dL/dh0 (and dL/dc0): L = sum(out * G), checked by central differences
    G = rng.standard_normal((N, T, H))
    layer.forward(x, *initial)
    layer.backward(G)
    names = ["grad_h0", "grad_c0"][:len(initial)]
    analytic = [getattr(layer, name).copy() for name in names]
    work = [s.copy() for s in initial]
    for name, a, s in zip(names, analytic, work, strict=True):
        numeric = numerical_gradient(lambda: float(np.sum(layer.forward(x, *work) * G)), s)
        err = np.linalg.norm(a - numeric) / np.linalg.norm(numeric)
        assert err < 1e-6, (name, err)


@pytest.mark.parametrize("kind", KINDS)
def test_matches_torch_with_states_and_last_step_loss(torch, kind):
    rng = np.random.default_rng(1)
    ours = make(kind, rng, hidden_size=5)
    cls = torch.nn.LSTM if kind == "lstm" else torch.nn.RNN
    kw = {} if kind == "lstm" else {"nonlinearity": kind.removeprefix("rnn-")}
    theirs = cls(D, 5, batch_first=True, **kw)
    assert [n for n, _ in theirs.named_parameters()] == [n for n, _ in ours.named_parameters()]
    with torch.no_grad():
        for name, p in ours.named_parameters():
            getattr(theirs, name).copy_(torch.from_numpy(p.data))

    x = rng.standard_normal((3, 7, D))
    initial = tuple(rng.standard_normal((3, 5)) for _ in range(2 if kind == "lstm" else 1))
    G, w = rng.standard_normal((3, 7, 5)), rng.standard_normal(5)

    def close(a, b, what):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-10, atol=1e-10, err_msg=what)

    # loss 1: every output; loss 2: the last hidden state only (grad_out zero elsewhere)
    for loss in ("all", "last"):
        ours.zero_grad()
        out = ours.forward(x, *initial)
        g = G if loss == "all" else np.zeros_like(out)
        if loss == "last":
            g[:, -1] = w
        dx = ours.backward(g)

        xt = torch.tensor(x, requires_grad=True)
        st = [torch.tensor(s[None], requires_grad=True) for s in initial]
        out_t, final = theirs(xt, tuple(st) if kind == "lstm" else st[0])
        h_n_t = final[0] if kind == "lstm" else final
        target = (out_t * torch.tensor(G)).sum() if loss == "all" else \
            (h_n_t[0] * torch.tensor(w)).sum()
        theirs.zero_grad()
        target.backward()

        close(out, out_t, "output")
        close(ours.h_n, h_n_t[0], "h_n")
        if kind == "lstm":
            close(ours.c_n, final[1][0], "c_n")
            close(ours.grad_c0, st[1].grad[0], f"dL/dc0 ({loss})")
        close(ours.grad_h0, st[0].grad[0], f"dL/dh0 ({loss})")
        close(dx, xt.grad, f"dL/dx ({loss})")
        for name, p in ours.named_parameters():
            close(p.grad, getattr(theirs, name).grad, f"{name} ({loss})")


@pytest.mark.parametrize("kind", KINDS)
def test_init_is_pytorch_uniform(kind):
    layer = make(kind, np.random.default_rng(2), input_size=10, hidden_size=64)
    gates = 4 if kind == "lstm" else 1
    shapes = {n: p.shape for n, p in layer.named_parameters()}
    assert shapes == {"weight_ih_l0": (gates * 64, 10), "weight_hh_l0": (gates * 64, 64),
                      "bias_ih_l0": (gates * 64,), "bias_hh_l0": (gates * 64,)}
    bound = 1 / np.sqrt(64)
    for name, p in layer.named_parameters():
        assert p.dtype == np.float64
        assert np.abs(p.data).max() <= bound, name
    w = layer.weight_hh_l0.data
    assert abs(w.std() / (bound / np.sqrt(3)) - 1) < 0.05        # uniform: std = bound/sqrt(3)
    assert abs(w.mean()) < 0.05 * bound


@pytest.mark.parametrize("kind", KINDS)
def test_states_are_not_mutated_and_outputs_are_not_the_cache(kind):
    rng = np.random.default_rng(3)
    layer = make(kind, rng)
    x, initial = rng.standard_normal((N, T, D)), states(kind, rng)
    before = [s.copy() for s in initial]
    out = layer.forward(x, *initial)
    g = rng.standard_normal(out.shape)
    dx = layer.backward(g)
    for s, b in zip(initial, before, strict=True):
        np.testing.assert_array_equal(s, b)
    np.testing.assert_array_equal(out[:, -1], layer.h_n)
    out[...] = 0.0                      # the caller owns the returned array
    layer.h_n[...] = 0.0
    np.testing.assert_array_equal(layer.backward(g), dx)


@pytest.mark.parametrize("kind", KINDS)
def test_sequence_of_one_step(kind):
    rng = np.random.default_rng(4)
    layer = make(kind, rng)
    x = rng.standard_normal((N, 1, D))
    assert layer(x).shape == (N, 1, H)
    assert ln.gradcheck(layer, x, rng=rng).worst < 1e-6


def test_lstm_gates_are_exposed_read_only():
    rng = np.random.default_rng(5)
    lstm = make("lstm", rng)
    with pytest.raises(RuntimeError, match="before forward"):
        lstm.gates  # noqa: B018
    lstm(rng.standard_normal((N, T, D)))
    gates = lstm.gates
    assert gates.shape == (N, T, 4 * H)
    sigmoid_blocks = np.concatenate([gates[..., :2 * H], gates[..., 3 * H:]], axis=-1)
    assert np.all((sigmoid_blocks > 0) & (sigmoid_blocks < 1))
    with pytest.raises(ValueError):
        gates[0, 0, 0] = 0.5


@pytest.mark.parametrize("kind", KINDS)
def test_bad_sequences_and_states(kind):
    rng = np.random.default_rng(6)
    layer = make(kind, rng)
    name = "LSTM" if kind == "lstm" else "RNN"
    x = rng.standard_normal((N, T, D))

    with pytest.raises(ValueError, match=rf"{name}.*empty sequence.*\(2, 0, 3\)"):
        layer(x[:, :0])
    with pytest.raises(ValueError, match=rf"{name}.*expected a 3-D input.*\(2, 3\)"):
        layer(x[:, 0])
    with pytest.raises(ValueError, match=rf"{name}.*h0.*\(2, 3\).*\(3, 3\)"):
        layer.forward(x, np.zeros((3, H)))                    # batch mismatch
    with pytest.raises(ValueError, match=rf"{name}.*h0.*\(2, 4\)"):
        layer.forward(x, np.zeros((N, H + 1)))                # hidden size mismatch
    with pytest.raises(TypeError, match=rf"{name}.*h0.*float32.*float64"):
        layer.forward(x, np.zeros((N, H), np.float32))
    with pytest.raises(ValueError, match=rf"{name}.*h0.*NaN"):
        layer.forward(x, np.full((N, H), np.nan))
    if kind == "lstm":
        with pytest.raises(ValueError, match=r"LSTM.*c0.*\(2, 3\).*\(1, 3\)"):
            layer.forward(x, None, np.zeros((1, H)))


@pytest.mark.parametrize("cls", [ln.RNN, ln.LSTM])
def test_bad_constructor_arguments(cls):
    rng = np.random.default_rng(0)
    name = cls.__name__
    with pytest.raises(TypeError, match=rf"{name}.*rng"):
        cls(3, 4)
    for bad in (0, -1, 2.5, True, "4"):
        with pytest.raises(ValueError, match=rf"{name}: hidden_size must be a positive int"):
            cls(3, bad, rng=rng)
    with pytest.raises(ValueError, match=rf"{name}: input_size"):
        cls(0, 4, rng=rng)
    with pytest.raises(TypeError, match=rf"{name}: dtype"):
        cls(3, 4, rng=rng, dtype=np.int32)


def test_rnn_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu'"):
        ln.RNN(3, 4, rng=np.random.default_rng(0), nonlinearity="sigmoid")


# -- R11 ---------------------------------------------------------------------------------------
def test_r11_rnn_gradient_vanishes_exponentially_lstm_far_slower():
    r = recurrent.gradient_over_time()
    rnn, lstm, lstm1 = r["rnn"], r["lstm"], r["lstm_forget1"]
    assert rnn["norms"].shape == lstm["norms"].shape == (recurrent.T,)
    claims = {c.id: c for c in recurrent.claims()}
    # the RNN: a straight line on a log scale, shrinking by the stated factor per step
    assert rnn["r2"] > 0.99 and rnn["factor"] <= claims["R11.rnn_exponential"].bound
    # per seed, the first step's share of the gradient is larger for the LSTM by the
    # factor the chapter states
    ratio = {k: e["per_seed"][:, 0] / e["per_seed"][:, -1] for k, e in
             (("rnn", rnn), ("lstm", lstm), ("lstm1", lstm1))}
    assert np.all(ratio["rnn"] < 1e-12)
    assert np.all(ratio["lstm"] >= claims["R11.lstm_slower"].bound * ratio["rnn"])
    assert np.all(ratio["lstm1"] >= 1e9 * ratio["rnn"])
    # the forget gate sets the LSTM's rate: larger gate, slower decay
    assert rnn["factor"] < lstm["factor"] < lstm1["factor"] < 1
    assert lstm["forget_gate"] < lstm1["forget_gate"]
    assert lstm1["factor"] >= claims["R11.forget_gate_sets_rate"].bound
    assert all(c.holds for c in claims.values())


def test_r11_norms_are_the_input_gradient_of_the_last_step_loss():
    rng = np.random.default_rng(7)
    rnn = recurrent.build("rnn", rng=rng, input_size=2, hidden_size=3)
    x, w = rng.standard_normal((2, 5, 2)), rng.standard_normal(3)
    norms = recurrent.input_gradient_norms(rnn, x, w)
    xc = x.copy()
    numeric = numerical_gradient(lambda: float(np.mean(rnn(xc)[:, -1] @ w)), xc)
    np.testing.assert_allclose(norms, np.linalg.norm(numeric, axis=(0, 2)), rtol=1e-6)
