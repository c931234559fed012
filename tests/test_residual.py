"""Residual beyond the layer protocol: the two gradient paths, structure and errors."""

import numpy as np
import pytest

import litnet as ln


def _scalar(w, rng):
    layer = ln.Linear(1, 1, bias=False, rng=rng, dtype=np.float64)
    layer.weight.data = np.array([[w]])
    return layer


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("w1, w2, w3, wr, x", [(0.2, 0.1, 0.1, 0.1, 0.5),
                                               (-1.3, 0.7, 2.0, -0.4, 1.5)])
def test_two_paths_match_the_chain_rule_by_hand(w1, w2, w3, wr, x):
    rng = np.random.default_rng(0)
    res = ln.Residual(ln.Sequential(_scalar(w2, rng), ln.Sigmoid(), _scalar(w3, rng)),
                      shortcut=_scalar(wr, rng))
    net = ln.Sequential(_scalar(w1, rng), ln.Sigmoid(), res, ln.Sigmoid())
    _, dy = ln.mse_loss(net(np.array([[x]])), np.array([[1.0]]), reduction="sum")
    dx = net.backward(dy)

    h1 = sigmoid(w1 * x)
    h2 = sigmoid(w2 * h1)
    y = sigmoid(w3 * h2 + wr * h1)
    dz = 2 * (y - 1) * y * (1 - y)                    # dL/d(pre-activation of y)
    through_block = dz * w3 * h2 * (1 - h2) * w2      # dL/dh1 along h1 -> h2 -> y
    through_skip = dz * wr                            # dL/dh1 along the skip
    np.testing.assert_allclose(res.grad_through_block, [[through_block]], rtol=1e-13)
    np.testing.assert_allclose(res.grad_through_shortcut, [[through_skip]], rtol=1e-13)
    dh1_dw1 = h1 * (1 - h1) * x
    np.testing.assert_allclose(net[0].weight.grad, [[(through_block + through_skip) * dh1_dw1]],
                               rtol=1e-13)
    np.testing.assert_allclose(dx, [[(through_block + through_skip) * h1 * (1 - h1) * w1]],
                               rtol=1e-13)


def test_identity_shortcut_passes_the_gradient_unchanged():
    rng = np.random.default_rng(1)
    res = ln.Residual(ln.Sequential(ln.Linear(3, 3, rng=rng, dtype=np.float64), ln.Sigmoid()))
    assert res.grad_through_block is None and res.grad_through_shortcut is None
    x = rng.standard_normal((4, 3))
    y = res(x)
    np.testing.assert_allclose(y - x, res.block(x), rtol=0, atol=1e-15)
    g = rng.standard_normal(y.shape)
    dx = res.backward(g)
    np.testing.assert_array_equal(res.grad_through_shortcut, g)
    assert not np.shares_memory(res.grad_through_shortcut, g)
    np.testing.assert_array_equal(dx, res.grad_through_block + res.grad_through_shortcut)


def test_even_a_dead_block_leaves_the_identity_path():
    rng = np.random.default_rng(2)
    linear = ln.Linear(3, 3, rng=rng, dtype=np.float64)
    linear.weight.data = np.zeros((3, 3))             # F(x) = ReLU(0) = 0: no gradient
    res = ln.Residual(ln.Sequential(linear, ln.ReLU()))
    x = rng.standard_normal((2, 3))
    g = rng.standard_normal((2, 3))
    res(x)
    dx = res.backward(g)
    assert not np.any(res.grad_through_block)
    np.testing.assert_array_equal(dx, g)


def test_parameter_names_and_children():
    rng = np.random.default_rng(3)
    res = ln.Residual(ln.Sequential(ln.Linear(4, 3, rng=rng), ln.Tanh()),
                      shortcut=ln.Linear(4, 3, bias=False, rng=rng))
    assert [n for n, _ in res.named_parameters()] == ["block.0.weight", "block.0.bias",
                                                       "shortcut.weight"]
    assert [n for n, _ in res.named_children()] == ["block", "shortcut"]
    assert res(np.ones((2, 4), np.float32)).shape == (2, 3)
    assert "(shortcut): Linear(in_features=4, out_features=3" in repr(res)
    assert "(shortcut): Identity" in repr(ln.Residual(ln.Tanh()))


def test_children_backward_hooks_see_their_share():
    rng = np.random.default_rng(4)
    res = ln.Residual(ln.Linear(3, 3, rng=rng, dtype=np.float64),
                      shortcut=ln.Linear(3, 3, rng=rng, dtype=np.float64))
    seen = {}
    res.block.register_backward_hook(lambda m, gout, gin: seen.__setitem__("block", gin))
    res.shortcut.register_backward_hook(lambda m, gout, gin: seen.__setitem__("skip", gin))
    res(rng.standard_normal((2, 3)))
    res.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(seen["block"], res.grad_through_block)
    np.testing.assert_array_equal(seen["skip"], res.grad_through_shortcut)


def test_mode_reaches_a_batchnorm_inside_the_block():
    rng = np.random.default_rng(5)
    res = ln.Residual(ln.Sequential(ln.Linear(3, 3, rng=rng, dtype=np.float64),
                                    ln.BatchNorm1d(3, dtype=np.float64)))
    res.eval()
    assert not res.block[1].training
    assert [n for n, _ in res.named_buffers()] == ["block.1.running_mean", "block.1.running_var",
                                                    "block.1.num_batches_tracked"]


def test_shape_mismatch_is_a_clear_error():
    rng = np.random.default_rng(6)
    res = ln.Residual(ln.Linear(4, 3, rng=rng))
    with pytest.raises(ValueError, match=r"Residual: block output has shape \(2, 3\) but "
                                         r"shortcut output has shape \(2, 4\); use a projection"):
        res(np.ones((2, 4), np.float32))


@pytest.mark.parametrize("block, shortcut, match", [
    (np.eye(3), None, "block must be a litnet Module, got ndarray"),
    (ln.Tanh(), "identity", "shortcut must be a litnet Module or None"),
    (ln.Tanh(), np.eye(3), "shortcut must be a litnet Module or None"),
])
def test_non_module_arguments(block, shortcut, match):
    with pytest.raises(TypeError, match=f"Residual: {match}"):
        ln.Residual(block, shortcut)
