"""Module, Sequential and Parameter: structure, hooks, buffers, dtype conversion."""

from __future__ import annotations

import numpy as np
import pytest

import litnet as ln


def mlp(dtype=np.float64):
    rng = np.random.default_rng(0)
    return ln.Sequential(ln.Linear(3, 4, rng=rng, dtype=dtype), ln.Tanh(),
                         ln.Linear(4, 2, rng=rng, dtype=dtype))


def test_named_parameters_use_pytorch_names_in_order():
    assert [n for n, _ in mlp().named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                        "2.bias"]


def test_children_lists_and_modules():
    class Two(ln.Module):
        def __init__(self):
            super().__init__()
            self.head = ln.Tanh()
            self.blocks = [ln.ReLU(), ln.Sigmoid()]

    two = Two()
    assert [n for n, _ in two.named_children()] == ["head", "blocks.0", "blocks.1"]
    assert [type(m).__name__ for m in two.modules()] == ["Two", "Tanh", "ReLU", "Sigmoid"]
    assert "(blocks.1): Sigmoid()" in repr(two)


def test_buffers_are_registered_copied_and_converted():
    m = ln.Tanh()
    stats = np.zeros(3, np.float32)
    m.register_buffer("running", stats)
    m.register_buffer("count", np.array(0))
    m.register_buffer("running", stats)                     # re-registering does not duplicate
    assert [n for n, _ in m.named_buffers()] == ["running", "count"]
    assert m.running is not stats                           # a copy
    model = ln.Sequential(m)
    assert [n for n, _ in model.named_buffers()] == ["0.running", "0.count"]
    model.to(np.float64)
    assert m.running.dtype == np.float64 and m.count.dtype == np.array(0).dtype


def test_to_rejects_non_floating_dtype():
    with pytest.raises(TypeError, match="expected a floating dtype"):
        mlp().to(np.int32)


def test_forward_and_backward_hooks():
    model = mlp()
    seen = []
    remove_f = model[0].register_forward_hook(lambda m, x, out: seen.append(("f", out.shape)))
    remove_b = model[2].register_backward_hook(
        lambda m, g_out, g_in: seen.append(("b", g_out.shape, g_in.shape)))
    x = np.ones((5, 3))
    model.backward(np.ones(model(x).shape))
    assert seen == [("f", (5, 4)), ("b", (5, 2), (5, 4))]
    remove_f()
    remove_b()
    remove_b()                                              # removing twice is harmless
    model.backward(np.ones(model(x).shape))
    assert len(seen) == 2


def test_run_backward_runs_hooks():
    layer = ln.Sigmoid()
    calls = []
    layer.register_backward_hook(lambda m, g_out, g_in: calls.append(m))
    layer(np.zeros((2, 2)))
    dx = ln.run_backward(layer, np.ones((2, 2)))
    assert calls == [layer]
    np.testing.assert_allclose(dx, 0.25)


def test_one_backward_entry_point_fires_the_roots_hooks():
    """model.backward(g) and run_backward(model, g) are the same call: both fire the
    hooks of the root as well as of every child, once each."""
    model = mlp()
    seen = []
    for m in model.modules():
        m.register_backward_hook(lambda m, g_out, g_in: seen.append(type(m).__name__))
    g = np.ones(model(np.ones((5, 3))).shape)
    dx = model.backward(g)
    assert seen == ["Linear", "Tanh", "Linear", "Sequential"]
    seen.clear()
    np.testing.assert_array_equal(ln.run_backward(model, g), dx)
    assert seen == ["Linear", "Tanh", "Linear", "Sequential"]


def test_a_subclass_calling_super_backward_fires_its_hooks_once():
    class Scaled(ln.Linear):
        def backward(self, grad_out):
            return 2 * super().backward(grad_out)

    layer = Scaled(3, 2, rng=np.random.default_rng(0), dtype=np.float64)
    seen = []
    layer.register_backward_hook(lambda m, g_out, g_in: seen.append(g_in))
    layer(np.ones((4, 3)))
    dx = layer.backward(np.ones((4, 2)))
    assert len(seen) == 1 and seen[0] is dx
    np.testing.assert_allclose(dx, 2 * np.ones((4, 2)) @ layer.weight.data)


def test_call_passes_every_argument_to_forward():
    rng = np.random.default_rng(0)
    x, h0, c0 = (rng.standard_normal(s).astype(np.float32) for s in ((2, 4, 3), (2, 5), (2, 5)))
    lstm, rnn = ln.LSTM(3, 5, rng=rng), ln.RNN(3, 5, rng=rng)
    seen = []
    lstm.register_forward_hook(lambda m, x, out: seen.append(x))
    np.testing.assert_array_equal(lstm(x, h0, c0=c0), lstm.forward(x, h0, c0))
    assert not np.array_equal(lstm(x, h0, c0), lstm(x))
    assert all(s is x for s in seen)                        # the hook sees the input
    np.testing.assert_array_equal(rnn(x, h0=h0), rnn.forward(x, h0))


def test_named_modules_is_the_one_walk():
    shared = ln.Tanh()
    model = ln.Sequential(ln.Linear(3, 4, rng=np.random.default_rng(0)), shared,
                          ln.Sequential(ln.BatchNorm1d(4), shared))
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "2", "2.0"]
    assert [n for n, _ in model.named_modules(remove_duplicate=False)] == \
        ["", "0", "1", "2", "2.0", "2.1"]
    assert list(model.modules()) == [m for _, m in model.named_modules()]
    assert model.get_submodule("2.1") is shared and model.get_submodule("") is model
    with pytest.raises(KeyError, match="no submodule named '3'"):
        model.get_submodule("3")
    model.set_buffer("2.0.running_var", np.full(4, 2.0, np.float32))
    assert model[2][0].running_var.tolist() == [2.0] * 4
    with pytest.raises(KeyError, match="no buffer named '2.0.weight'"):
        model.set_buffer("2.0.weight", np.zeros(4))


@pytest.mark.parametrize("make", [
    lambda n: ln.Linear(n, 2, rng=np.random.default_rng(0)),
    lambda n: ln.Linear(2, n, rng=np.random.default_rng(0)),
    lambda n: ln.RNN(n, 2, rng=np.random.default_rng(0)),
    lambda n: ln.LSTM(2, n, rng=np.random.default_rng(0)),
    lambda n: ln.BatchNorm1d(n),
    lambda n: ln.LayerNorm(n),
    lambda n: ln.GroupNorm(n, 2),
], ids=["Linear.in", "Linear.out", "RNN", "LSTM", "BatchNorm1d", "LayerNorm", "GroupNorm"])
@pytest.mark.parametrize("bad", [True, 0, -1, 2.0])
def test_every_layer_is_as_strict_about_sizes(make, bad):
    """One validator: Linear(True, 2) is rejected as RNN(True, 2) is, not taken as 1."""
    with pytest.raises(ValueError, match="must be a positive int"):
        make(bad)


@pytest.mark.parametrize("make", [
    lambda rng: ln.Linear(2, 2, rng=rng), lambda rng: ln.RNN(2, 2, rng=rng),
    lambda rng: ln.LSTM(2, 2, rng=rng)], ids=["Linear", "RNN", "LSTM"])
@pytest.mark.parametrize("rng", [None, 0, np.random.RandomState(0)], ids=["None", "int", "legacy"])
def test_every_layer_wants_a_generator(make, rng):
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        make(rng)


def test_base_module_requires_forward_and_backward():
    m = ln.Module()
    with pytest.raises(NotImplementedError, match="Module does not implement forward"):
        m(np.zeros((1, 1)))
    with pytest.raises(NotImplementedError, match="backward"):
        m.backward(np.zeros((1, 1)))
    assert repr(m) == "Module()"


def test_sequential_container_protocol():
    model = mlp()
    assert len(model) == 3 and isinstance(model[1], ln.Tanh)
    head = model[:2]
    assert isinstance(head, ln.Sequential) and len(head) == 2 and head[0] is model[0]
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear"]
    assert model.append(ln.Sigmoid()) is model and len(model) == 4
    with pytest.raises(TypeError, match="argument 1 is a ufunc, expected a litnet Module"):
        ln.Sequential(ln.Tanh(), np.tanh)
    with pytest.raises(TypeError, match="Sequential.append: expected a litnet Module"):
        model.append("relu")
    assert repr(model).startswith("Sequential(\n  (0): Linear(in_features=3")


def test_parameter_copies_and_checks():
    a = np.array([1.0, 2.0])
    p = ln.Parameter(a)
    a[0] = 5.0
    assert p.data[0] == 1.0                                 # a private copy
    with pytest.raises(TypeError, match="floating dtype"):
        ln.Parameter([1, 2])
    with pytest.raises(ValueError, match=r"shape \(2,\): cannot accumulate .* \(3,\)"):
        p.accumulate(np.ones(3))
    q = ln.Parameter(np.zeros(2, np.float32))
    q.accumulate(np.ones(2, np.float64))                    # cast: grad keeps the dtype
    assert q.grad.dtype == np.float32
    assert repr(q) == "Parameter(shape=(2,), dtype=float32)"


def test_a_shared_layer_gives_its_parameters_once():
    """As torch.nn.Module: an optimizer must not step a shared weight twice."""
    shared = ln.Linear(2, 2, rng=np.random.default_rng(0))
    model = ln.Sequential(shared, ln.ReLU(), shared)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(model.parameters()) == 2
