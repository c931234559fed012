"""BatchNorm1d beyond the layer protocol: the two backward derivations, running
statistics, the modes, and the degenerate batch of one."""

import numpy as np
import pytest

import litnet as ln


def _bn(c=3, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    bn = ln.BatchNorm1d(c, dtype=np.float64, **kwargs)
    if bn.affine:
        bn.weight.data = rng.standard_normal(c)
        bn.bias.data = rng.standard_normal(c)
    return bn, rng


# -- compact backward vs the computation graph ------------------------------------------
@pytest.mark.parametrize("n, c, seed", [(2, 1, 0), (3, 4, 1), (16, 5, 2), (64, 3, 3)])
def test_graph_backward_equals_compact_backward(n, c, seed):
    bn, rng = _bn(c, seed)
    x = 3.0 * rng.standard_normal((n, c)) + rng.standard_normal(c)
    g = rng.standard_normal((n, c))
    bn(x)
    dx = bn.backward(g)
    dx_graph, dgamma_graph, dbeta_graph = ln.batchnorm_backward_graph(x, bn.weight.data, g,
                                                                      eps=bn.eps)
    np.testing.assert_allclose(dx_graph, dx, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dgamma_graph, bn.weight.grad, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dbeta_graph, bn.bias.grad, rtol=0, atol=1e-12)


def test_graph_backward_gradchecks_on_its_own():
    rng = np.random.default_rng(5)
    x, gamma, g = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal((5, 3))

    def loss():
        xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
        return float(np.sum((gamma * xhat) * g))

    dx, dgamma, _ = ln.batchnorm_backward_graph(x, gamma, g)
    from litnet.gradcheck import numerical_gradient
    np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=0, atol=1e-7)
    np.testing.assert_allclose(dgamma, numerical_gradient(loss, gamma), rtol=0, atol=1e-7)


def test_graph_backward_does_not_touch_its_arguments():
    rng = np.random.default_rng(6)
    x, gamma, g = rng.standard_normal((4, 2)), rng.standard_normal(2), rng.standard_normal((4, 2))
    copies = [a.copy() for a in (x, gamma, g)]
    ln.batchnorm_backward_graph(x, gamma, g)
    for a, b in zip((x, gamma, g), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_graph_backward_bad_input():
    with pytest.raises(ValueError, match="batchnorm_backward_graph: expected a 2-D input"):
        ln.batchnorm_backward_graph(np.ones((2, 3, 4)), np.ones(3), np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="batchnorm_backward_graph: backward expected a gradient"):
        ln.batchnorm_backward_graph(np.ones((2, 3)), np.ones(3), np.ones((3, 2)))


# -- training-mode output ----------------------------------------------------------------
def test_training_output_is_standardised_per_feature():
    bn = ln.BatchNorm1d(4, affine=False, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4)) * [1.0, 10.0, 0.1, 3.0] + [5.0, -2.0, 0.0, 100.0]
    y = bn(x)
    np.testing.assert_allclose(y.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(0) * (x.var(0) + bn.eps) / x.var(0), 1.0, rtol=1e-12)


def test_three_dimensional_input_pools_batch_and_length():
    bn, rng = _bn(3, 1)
    x = rng.standard_normal((4, 3, 5))
    y = bn(x)
    flat = x.transpose(0, 2, 1).reshape(-1, 3)          # (N*L, C)
    mean, var = flat.mean(0), flat.var(0)
    expected = bn.weight.data[:, None] * (x - mean[:, None]) / np.sqrt(var[:, None] + bn.eps) \
        + bn.bias.data[:, None]
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * flat.var(0, ddof=1), rtol=1e-14)


# -- running statistics -------------------------------------------------------------------
def test_initial_state():
    bn = ln.BatchNorm1d(3)
    assert bn.weight.data.tolist() == [1, 1, 1] and bn.bias.data.tolist() == [0, 0, 0]
    assert bn.running_mean.tolist() == [0, 0, 0] and bn.running_var.tolist() == [1, 1, 1]
    assert int(bn.num_batches_tracked) == 0
    assert bn.running_mean.dtype == np.float32 and bn.num_batches_tracked.dtype == np.int64


@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0])
def test_running_stats_follow_pytorch_rule(momentum):
    bn, rng = _bn(3, 2, momentum=momentum)
    mean, var = np.zeros(3), np.ones(3)
    for step in range(1, 5):
        x = rng.standard_normal((6, 3)) * 2 + step
        bn(x)
        mean = (1 - momentum) * mean + momentum * x.mean(0)
        var = (1 - momentum) * var + momentum * x.var(0, ddof=1)     # unbiased
        np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(bn.running_var, var, rtol=1e-14)
        assert int(bn.num_batches_tracked) == step
        assert isinstance(bn.num_batches_tracked, np.ndarray)   # a buffer stays an array
        assert bn.num_batches_tracked.dtype == np.int64


def test_momentum_none_is_the_cumulative_average():
    bn, rng = _bn(2, 3, momentum=None)
    batches = [rng.standard_normal((5, 2)) + k for k in range(4)]
    for x in batches:
        bn(x)
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(0) for x in batches], 0),
                               rtol=1e-13)
    np.testing.assert_allclose(bn.running_var, np.mean([x.var(0, ddof=1) for x in batches], 0),
                               rtol=1e-13)


def test_running_stats_are_new_arrays_not_mutated_in_place():
    bn, rng = _bn()
    before = bn.running_mean
    snapshot = before.copy()
    bn(rng.standard_normal((4, 3)))
    np.testing.assert_array_equal(before, snapshot)
    assert not np.array_equal(bn.running_mean, snapshot)


def test_eval_uses_and_keeps_running_stats():
    bn, rng = _bn(3, 4)
    for _ in range(3):
        bn(rng.standard_normal((8, 3)) + 2.0)
    state = [b.copy() for _, b in bn.named_buffers()]
    x = rng.standard_normal((5, 3))
    bn.eval()
    y = bn(x)
    expected = bn.weight.data * (x - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) \
        + bn.bias.data
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-13)
    for (_, b), s in zip(bn.named_buffers(), state, strict=True):
        np.testing.assert_array_equal(b, s)
    assert not np.allclose(y, bn.train()(x))           # training mode uses batch statistics


def test_eval_backward_treats_statistics_as_constants():
    bn, rng = _bn(3, 5)
    bn(rng.standard_normal((6, 3)))
    bn.eval()
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    bn(x)
    expected = g * bn.weight.data / np.sqrt(bn.running_var + bn.eps)
    np.testing.assert_allclose(bn.backward(g), expected, rtol=1e-14)


def test_eval_works_for_a_single_sample():
    bn, rng = _bn()
    bn(rng.standard_normal((4, 3)))
    x = rng.standard_normal((1, 3))
    y = bn.eval()(x)
    np.testing.assert_allclose(y, bn.eval()(np.vstack([x, x + 1]))[:1], rtol=0, atol=1e-14)


# -- batch statistics in evaluation mode -------------------------------------------------------
def test_eval_uses_batch_stats_matches_training_output_and_freezes_buffers():
    bn, rng = _bn(3, 6)
    for _ in range(3):
        bn(rng.standard_normal((8, 3)) * 3 + 1)
    x = rng.standard_normal((6, 3))
    y_train = bn(x)
    state = [b.copy() for _, b in bn.named_buffers()]
    bn.eval()
    y_running = bn(x)
    bn.eval_uses_batch_stats = True                     # switched on a trained model
    y_batch = bn(x)
    np.testing.assert_array_equal(y_batch, y_train)
    assert not np.allclose(y_batch, y_running)
    for (_, b), s in zip(bn.named_buffers(), state, strict=True):
        np.testing.assert_array_equal(b, s)
    g = rng.standard_normal(x.shape)
    bn.train()
    bn(x)
    dx_train = bn.backward(g)
    bn.eval()
    bn(x)
    np.testing.assert_allclose(bn.backward(g), dx_train, rtol=0, atol=1e-15)


def test_eval_uses_batch_stats_does_not_change_training():
    a, rng = _bn(3, 7)
    b, _ = _bn(3, 7, eval_uses_batch_stats=True)
    for _ in range(2):
        x = rng.standard_normal((5, 3))
        np.testing.assert_array_equal(a(x), b(x))
    np.testing.assert_array_equal(a.running_var, b.running_var)


def test_track_running_stats_false_has_no_buffers_and_always_uses_batch_stats():
    bn, rng = _bn(3, 8, track_running_stats=False)
    assert list(bn.named_buffers()) == []
    assert bn.running_mean is None and bn.running_var is None
    x = rng.standard_normal((5, 3))
    np.testing.assert_array_equal(bn.eval()(x), bn.train()(x))


# -- a batch of one ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1)])
def test_batch_of_one_in_training_is_an_error(shape):
    bn = ln.BatchNorm1d(3, dtype=np.float64)
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected more than 1 value per feature "
                                         r"when training, got input of shape \(1, 3"):
        bn(np.ones(shape))
    assert int(bn.num_batches_tracked) == 0


def test_one_sample_with_several_positions_is_fine_in_training():
    bn = ln.BatchNorm1d(3, dtype=np.float64)
    assert bn(np.random.default_rng(0).standard_normal((1, 3, 4))).shape == (1, 3, 4)


@pytest.mark.parametrize("kwargs", [{"eval_uses_batch_stats": True},
                                    {"track_running_stats": False}])
def test_single_sample_with_batch_stats_in_eval_gives_beta_exactly(kwargs):
    bn, rng = _bn(4, 9, **kwargs)
    bn.eval()
    for x in (rng.standard_normal((1, 4)), np.full((1, 4), 1e6), np.zeros((1, 4))):
        y = bn(x)
        np.testing.assert_array_equal(y, bn.bias.data[None, :])   # x - mean == 0 exactly
        np.testing.assert_array_equal(bn.backward(np.ones((1, 4))), np.zeros((1, 4)))


# -- dtype and state ------------------------------------------------------------------------
def test_float32_statistics_stay_float32():
    bn = ln.BatchNorm1d(3)
    bn(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_to_float64_converts_buffers_but_not_the_counter():
    bn = ln.BatchNorm1d(3).to(np.float64)
    assert bn.weight.dtype == np.float64 and bn.running_var.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64
    assert bn(np.ones((2, 3))).dtype == np.float64


def test_dtype_mismatch_without_affine_checks_the_buffers():
    bn = ln.BatchNorm1d(3, affine=False)
    with pytest.raises(TypeError, match="BatchNorm1d.*float64.*float32"):
        bn(np.ones((2, 3)))


@pytest.mark.parametrize("kwargs, err, match", [
    ({"num_features": 0}, ValueError, "num_features must be a positive int"),
    ({"num_features": 2.0}, ValueError, "num_features must be a positive int"),
    ({"num_features": 3, "momentum": 1.5}, ValueError, r"momentum must be in \[0, 1\] or None"),
    ({"num_features": 3, "momentum": -0.1}, ValueError, r"momentum must be in \[0, 1\] or None"),
    ({"num_features": 3, "eps": 0.0}, ValueError, "eps must be positive"),
    ({"num_features": 3, "dtype": np.int32}, TypeError, "dtype must be a floating dtype"),
])
def test_invalid_construction(kwargs, err, match):
    with pytest.raises(err, match=f"BatchNorm1d: {match}"):
        ln.BatchNorm1d(**kwargs)


def test_wrong_length_axis_is_not_mistaken_for_features():
    with pytest.raises(ValueError, match=r"BatchNorm1d.*\(N, 3, \*\).*\(2, 4, 3\)"):
        ln.BatchNorm1d(3, dtype=np.float64)(np.ones((2, 4, 3)))
