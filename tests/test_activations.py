"""Activations at extreme inputs and their defaults (the protocol is in test_layer_protocol)."""

from __future__ import annotations

import numpy as np
import pytest

import litnet as ln


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_beyond_700(dtype):
    x = np.array([[-1e4, -800.0, -710.0, 0.0, 710.0, 800.0, 1e4]], dtype=dtype)
    s = ln.Sigmoid()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = s(x)
        dx = s.backward(np.ones_like(x))
    exact = dict(rtol=1e-15, atol=1e-300)       # sigma(-710) = 4.5e-309 is a float64 subnormal
    np.testing.assert_allclose(y, np.array([[0, 0, 0, 0.5, 1, 1, 1]]), **exact)
    np.testing.assert_allclose(dx, np.array([[0, 0, 0, 0.25, 0, 0, 0]]), **exact)
    assert y.dtype == dtype


def test_sigmoid_matches_the_formula_in_the_middle():
    x = np.linspace(-30, 30, 61).reshape(1, -1)
    np.testing.assert_allclose(ln.Sigmoid()(x), 1 / (1 + np.exp(-x)), rtol=1e-14)


def test_defaults_and_repr():
    assert ln.LeakyReLU().negative_slope == 0.01
    assert repr(ln.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    p = ln.PReLU()
    assert p.weight.data.tolist() == [0.25] and p.weight.dtype == np.float32
    assert repr(ln.PReLU(3)) == "PReLU(num_parameters=3)"


def test_prelu_slope_gradient_per_channel():
    p = ln.PReLU(2, dtype=np.float64)
    x = np.array([[-1.0, 2.0], [-3.0, -4.0]])
    np.testing.assert_array_equal(p(x), [[-0.25, 2.0], [-0.75, -1.0]])
    p.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(p.weight.grad, [-4.0, -4.0])   # sum of min(0, x) per column
