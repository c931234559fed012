"""gradcheck itself: it must catch a wrong backward and refuse unusable input."""

from __future__ import annotations

import numpy as np
import pytest

import litnet as ln
from litnet.gradcheck import numerical_gradient


class WrongTanh(ln.Tanh):
    """tanh with a deliberately wrong derivative (1 - y instead of 1 - y**2)."""

    def backward(self, grad_out):
        return grad_out * (1 - self._y)


class WrongWeightGrad(ln.Linear):
    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.weight.grad = self.weight.grad * 1.01          # 1 % off
        return dx


def test_detects_a_wrong_input_gradient():
    x = np.random.default_rng(0).standard_normal((3, 2))
    result = ln.gradcheck(WrongTanh(), x)
    assert result.worst > 1e-2 and not result
    assert result.where.startswith("input[")
    assert "worst=" in repr(result)


def test_detects_a_wrong_parameter_gradient():
    rng = np.random.default_rng(0)
    layer = WrongWeightGrad(3, 2, rng=rng, dtype=np.float64)
    result = ln.gradcheck(layer, rng.standard_normal((4, 3)))
    assert result.errors["weight"] == pytest.approx(0.01 / 1.01, rel=1e-3)
    assert result.errors["input"] < 1e-8 and result.where.startswith("weight[")


def test_check_input_false_and_caller_array_untouched():
    rng = np.random.default_rng(1)
    layer = ln.Linear(2, 2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((3, 2))
    x0, w0 = x.copy(), layer.weight.data.copy()
    result = ln.gradcheck(layer, x, check_input=False)
    assert set(result.errors) == {"weight", "bias"} and result
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(layer.weight.data, w0)    # perturbations restored exactly


def test_refuses_float32_parameters():
    layer = ln.Linear(2, 2, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"'weight' of Linear is float32; call module.to"):
        ln.gradcheck(layer, np.ones((2, 2)))


def test_numerical_gradient_needs_a_contiguous_writeable_array():
    x = np.ones((3, 2)).T
    with pytest.raises(ValueError, match="C-contiguous"):
        numerical_gradient(lambda: 0.0, x)


def test_gradcheck_loss_detects_a_wrong_loss_gradient():
    def half_mse(y, t):
        loss, d = ln.mse_loss(y, t, "sum")
        return loss, d / 2                                   # wrong by a factor 2

    y = np.random.default_rng(2).standard_normal((3, 2))
    assert ln.gradcheck_loss(half_mse, y, np.zeros((3, 2))).worst > 0.4
