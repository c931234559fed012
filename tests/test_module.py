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
