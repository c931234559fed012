"""The layer protocol, checked on every layer of the registry in tests/cases.py."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASES, make_input

import litnet as ln

DTYPES = [np.float32, np.float64]


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request):
    return request.param


def build(case, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return case.factory(rng, dtype), make_input(case, rng, dtype), rng


def test_registry_is_well_formed():
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names), "duplicate case names"
    for c in CASES:
        assert c.shape[0] >= 2, f"{c.name}: use a batch of at least 2"


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_backward_keep_shape_and_dtype(case, dtype):
    module, x, _ = build(case, dtype)
    y = module(x)
    assert y.shape == (case.out_shape or case.shape)
    assert y.dtype == dtype
    dx = module.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == dtype
    for name, p in module.named_parameters():
        assert p.data.dtype == dtype, name
        assert p.grad.shape == p.data.shape and p.grad.dtype == dtype, name


def test_gradcheck(case):
    module, x, rng = build(case)
    result = ln.gradcheck(module, x, rng=rng)
    assert result.worst < 1e-6, result
    assert "input" in result.errors
    assert set(result.errors) == {"input"} | {n for n, _ in module.named_parameters()}


def test_inputs_and_upstream_gradients_are_not_mutated(case):
    module, x, rng = build(case)
    x_before = x.copy()
    y = module(x)
    g = rng.standard_normal(y.shape)
    g_before = g.copy()
    module.backward(g)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(g, g_before)


def test_two_backward_passes_accumulate_exactly_twice(case):
    module, x, rng = build(case)
    g = rng.standard_normal(module(x).shape)
    dx1 = module.backward(g)
    once = {n: p.grad.copy() for n, p in module.named_parameters()}
    # a second backward on the same forward (the cache must not have been altered) ...
    np.testing.assert_array_equal(module.backward(g), dx1)
    for n, p in module.named_parameters():
        np.testing.assert_array_equal(p.grad, 2 * once[n], err_msg=n)
    # ... and forward + backward twice, as when accumulating over two batches
    module.zero_grad()
    for _ in range(2):
        module(x)
        np.testing.assert_array_equal(module.backward(g), dx1)
    for n, p in module.named_parameters():
        np.testing.assert_array_equal(p.grad, 2 * once[n], err_msg=n)


def test_zero_grad_resets(case):
    module, x, rng = build(case)
    module.backward(rng.standard_normal(module(x).shape))
    if module.parameters():
        assert any(np.any(p.grad != 0) for p in module.parameters())
    module.zero_grad()
    for name, p in module.named_parameters():
        assert p.grad.shape == p.shape and p.grad.dtype == p.dtype, name
        assert not np.any(p.grad), name


def test_to_converts_parameters(case):
    module, x, _ = build(case, np.float32)
    assert module.to(np.float64) is module
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64
               for p in module.parameters())
    assert module(x.astype(np.float64)).dtype == np.float64


def test_train_eval_and_repr(case):
    module, x, _ = build(case)
    assert module.eval() is module and not module.training
    assert all(not m.training for m in module.modules())
    assert module(x).shape == (case.out_shape or case.shape)
    assert module.train().training
    text = repr(module)
    assert isinstance(text, str) and type(module).__name__ in text
    for child in module.children():
        assert type(child).__name__ in text


def test_input_grad_false_changes_no_parameter_gradient(case):
    """backward(g, input_grad=False) may skip dL/dx (None) but fills .grad exactly as a full
    backward does, and takes the flag as an argument: the module's attributes stay as they
    were, so the next backward computes dL/dx again."""
    module, x, rng = build(case)
    g = rng.standard_normal(module(x).shape)
    dx = ln.run_backward(module, g)
    full = {n: p.grad.copy() for n, p in module.named_parameters()}
    module.zero_grad()
    attributes = set(vars(module))
    skipped = module.backward(g, input_grad=False)
    assert skipped is None or np.array_equal(skipped, dx)
    for n, p in module.named_parameters():
        np.testing.assert_array_equal(p.grad, full[n], err_msg=n)
    assert set(vars(module)) == attributes
    np.testing.assert_array_equal(module.backward(g), dx)


@pytest.mark.parametrize("make", [
    lambda rng: ln.Linear(3, 2, rng=rng, dtype=np.float64),
    lambda rng: ln.Sequential(ln.Linear(3, 4, rng=rng, dtype=np.float64), ln.Tanh(),
                              ln.Linear(4, 2, rng=rng, dtype=np.float64)),
], ids=["Linear", "Sequential"])
def test_linear_first_layer_skips_its_input_gradient(make):
    model = make(np.random.default_rng(0))
    model(np.ones((5, 3)))
    seen = []
    first = model if isinstance(model, ln.Linear) else model[0]
    first.register_backward_hook(lambda m, go, gi: seen.append(gi))
    assert ln.run_backward(model, np.ones((5, 2)), input_grad=False) is None
    assert seen == [None]
    assert ln.run_backward(model, np.ones((5, 2))).shape == (5, 3)
