"""The same seed gives bit-identical weights after a short training run."""

from __future__ import annotations

import numpy as np
import pytest

import litnet as ln


def train(seed, make_opt, steps=5):
    rng = np.random.default_rng(seed)
    model = ln.Sequential(ln.Linear(6, 8, rng=rng), ln.Tanh(), ln.Linear(8, 8, rng=rng),
                          ln.PReLU(), ln.Linear(8, 3, rng=rng))
    x = rng.standard_normal((20, 6)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    opt = make_opt(model.parameters())
    for _ in range(steps):
        idx = rng.permutation(20)[:10]                 # a random mini-batch
        opt.zero_grad()
        _, d = ln.softmax_cross_entropy(model(x[idx]), y[idx])
        model.backward(d)
        ln.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return [p.data.copy() for p in model.parameters()]


OPTIMISERS = {
    "SGD-momentum": lambda p: ln.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3),
    "Adam": lambda p: ln.optim.Adam(p, lr=0.01),
}


@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_same_seed_same_weights(name):
    a, b = train(0, OPTIMISERS[name]), train(0, OPTIMISERS[name])
    for x, y in zip(a, b, strict=True):
        assert x.dtype == np.float32
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_different_seed_different_weights(name):
    a, b = train(0, OPTIMISERS[name]), train(1, OPTIMISERS[name])
    assert all(not np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_training_changed_the_weights():
    before = train(0, OPTIMISERS["Adam"], steps=0)
    after = train(0, OPTIMISERS["Adam"])
    assert all(not np.array_equal(x, y) for x, y in zip(before, after, strict=True))
