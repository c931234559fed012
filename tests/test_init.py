"""Initialisers: variances and bounds against their formulas, on large matrices."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

import litnet as ln
from litnet import init

OUT, IN = 400, 2500            # fan_in 2500, fan_out 400, fan_avg 1450: the modes differ


def draw(fn, shape=(OUT, IN), seed=0, **kw):
    return fn(shape, rng=np.random.default_rng(seed), dtype=np.float64, **kw)


def test_glorot_normal_variance_on_1000_by_1000():
    w = draw(init.xavier_normal, (1000, 1000))
    assert abs(w.var() * 1000 - 1) < 0.02              # variance 1/fan_avg within 2 %
    assert abs(w.mean()) < 1.5e-4                      # mean 0: its std is 0.0316 / 1000


@pytest.mark.parametrize("fn, mode, variance", [
    (init.xavier_normal, "fan_avg", 1 / ((IN + OUT) / 2)),
    (init.xavier_normal, "fan_in", 1 / IN),
    (init.xavier_uniform, "fan_avg", 1 / ((IN + OUT) / 2)),
    (init.xavier_uniform, "fan_in", 1 / IN),
    (init.he_normal, "fan_in", 2 / IN),
    (init.he_uniform, "fan_in", 2 / IN),
    (init.he_normal, "fan_out", 2 / OUT),
])
def test_variance_matches_formula(fn, mode, variance):
    w = draw(fn, mode=mode)
    assert w.var() / variance == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("fn, bound", [
    (init.xavier_uniform, np.sqrt(3 / ((IN + OUT) / 2))),
    (partial(init.xavier_uniform, mode="fan_in"), np.sqrt(3 / IN)),
    (init.he_uniform, np.sqrt(6 / IN)),
    (init.lecun_uniform, 1 / np.sqrt(IN)),
    (partial(init.uniform, bound=0.3), 0.3),
])
def test_uniform_bounds(fn, bound):
    w = draw(fn)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound             # the bound is reached, not narrower
    assert w.var() * 3 / bound ** 2 == pytest.approx(1.0, abs=0.02)   # var of U(-b, b)


def test_normal_std_and_gain():
    assert draw(init.normal, std=0.05).std() == pytest.approx(0.05, rel=0.02)
    w = draw(init.xavier_normal, gain=2.0, mode="fan_in")
    assert w.var() * IN / 4 == pytest.approx(1.0, abs=0.02)


def test_dtype_zeros_ones():
    rng = np.random.default_rng(0)
    assert init.he_normal((3, 2), rng=rng).dtype == np.float32
    assert init.he_normal((3, 2), rng=rng, dtype=np.float64).dtype == np.float64
    assert not init.zeros((2, 3)).any() and init.zeros((2, 3)).dtype == np.float32
    assert np.all(init.ones((2, 3), dtype=np.float64) == 1)


@pytest.mark.parametrize("fn", [init.normal, init.xavier_normal, init.xavier_uniform,
                                init.he_normal, init.he_uniform, init.lecun_uniform,
                                partial(init.uniform, bound=1.0)])
def test_rng_required_and_deterministic(fn):
    with pytest.raises(TypeError, match="rng"):
        fn((3, 2), rng=None)
    with pytest.raises(TypeError, match="Generator"):
        fn((3, 2), rng=np.random.RandomState(0))
    a = fn((30, 20), rng=np.random.default_rng(7))
    b = fn((30, 20), rng=np.random.default_rng(7))
    c = fn((30, 20), rng=np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_bad_mode_and_shape():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="mode must be"):
        init.xavier_normal((3, 2), rng=rng, mode="fan_sum")
    with pytest.raises(ValueError, match="at least one dimension"):
        init.he_normal((), rng=rng)


def test_fans_of_higher_rank_shapes():
    # (out, in, k): fans are multiplied by the receptive field k, as in PyTorch
    w = init.xavier_uniform((8, 4, 5), rng=np.random.default_rng(0))
    assert np.abs(w).max() <= np.sqrt(3 / ((8 * 5 + 4 * 5) / 2))


def test_linear_uses_init_and_requires_rng():
    rng = np.random.default_rng(0)
    layer = ln.Linear(IN, OUT, init=partial(init.normal, std=0.02), rng=rng, dtype=np.float64)
    assert layer.weight.shape == (OUT, IN)
    assert layer.weight.data.std() == pytest.approx(0.02, rel=0.02)
    assert not layer.bias.data.any()
    default = ln.Linear(IN, 3, rng=rng)                # PyTorch's default scale
    assert np.abs(default.weight.data).max() <= 1 / np.sqrt(IN)
    with pytest.raises(TypeError, match="rng"):
        ln.Linear(3, 2)
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        ln.Linear(0, 2, rng=rng)
