"""BatchNorm1d, LayerNorm, GroupNorm, Dropout and Residual beyond the shared registry.

tests/cases.py runs the layer protocol and the bad-input checks on these layers
in training mode; here: the same gradient checks in evaluation mode (where
BatchNorm takes another path), construction errors, and layer-specific facts.
"""

import numpy as np
import pytest
from cases import CASES, make_input

import litnet as ln

MINE = ("BatchNorm1d", "LayerNorm", "GroupNorm", "Dropout", "Residual")
EVAL_CASES = [c for c in CASES if c.name.startswith(MINE)]


def _jitter(module, rng):
    for p in module.parameters():
        p.data = (p.data + 0.5 * rng.standard_normal(p.shape)).astype(p.dtype)
    return module


def test_every_layer_of_this_file_is_in_the_registry():
    names = {c.name.split("-")[0] for c in EVAL_CASES}
    assert names == set(MINE)


@pytest.mark.parametrize("case", EVAL_CASES, ids=[c.name for c in EVAL_CASES])
def test_gradcheck_in_eval_mode(case):
    rng = np.random.default_rng(0)
    module = case.factory(rng, np.float64).eval()
    x = make_input(case, rng)
    result = ln.gradcheck(module, x, rng=rng)
    assert result.worst < 1e-6, result
    assert set(result.errors) == {"input"} | {n for n, _ in module.named_parameters()}


@pytest.mark.parametrize("case", EVAL_CASES, ids=[c.name for c in EVAL_CASES])
def test_eval_mode_backward_accumulates_and_leaves_inputs_alone(case):
    rng = np.random.default_rng(1)
    module = case.factory(rng, np.float64).eval()
    x = make_input(case, rng)
    x_before = x.copy()
    g = rng.standard_normal(module(x).shape)
    g_before = g.copy()
    dx = module.backward(g)
    once = {n: p.grad.copy() for n, p in module.named_parameters()}
    np.testing.assert_array_equal(module.backward(g), dx)
    for n, p in module.named_parameters():
        np.testing.assert_array_equal(p.grad, 2 * once[n], err_msg=n)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(g, g_before)
    assert not np.shares_memory(dx, g)


@pytest.mark.parametrize("groups, channels, match", [
    (4, 6, "divisible"), (0, 6, "num_groups must be a positive int"),
    (-2, 6, "num_groups must be a positive int"), (2, 0, "num_channels must be a positive int"),
    (2.0, 6, "num_groups must be a positive int"),
])
def test_groupnorm_invalid_groups(groups, channels, match):
    with pytest.raises(ValueError, match=f"GroupNorm: .*{match}"):
        ln.GroupNorm(groups, channels)


@pytest.mark.parametrize("shape", [0, -3, (), (3, 0), 2.5])
def test_layernorm_invalid_shape(shape):
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape"):
        ln.LayerNorm(shape)


def test_layernorm_trailing_shape_and_rank():
    with pytest.raises(ValueError, match=r"LayerNorm: expected input of shape \(N, \.\.\., 3, 4\)"):
        ln.LayerNorm((3, 4), dtype=np.float64)(np.ones((3, 4)))  # no batch axis
    with pytest.raises(ValueError, match="LayerNorm"):
        ln.LayerNorm((3, 4), dtype=np.float64)(np.ones((2, 4, 3)))


@pytest.mark.parametrize("make", [lambda: ln.LayerNorm(3, eps=0),
                                  lambda: ln.GroupNorm(1, 3, eps=-1),
                                  lambda: ln.BatchNorm1d(3, eps=float("nan"))])
def test_non_positive_eps(make):
    with pytest.raises(ValueError, match="eps must be positive"):
        make()


def test_groupnorm_needs_a_channel_axis():
    """(N, C, *) of any rank >= 2, as in PyTorch (images: tests/test_conv.py); 1-D is an error."""
    with pytest.raises(ValueError, match=r"GroupNorm\(.*\): expected an input of shape \(N, 3, "
                                         r"\*\) with at least 2 dimensions, got shape \(3,\)"):
        ln.GroupNorm(1, 3, dtype=np.float64)(np.ones(3))


def test_norms_without_parameters_keep_input_dtype():
    x = np.random.default_rng(0).standard_normal((4, 3))
    for layer in (ln.LayerNorm(3, elementwise_affine=False), ln.GroupNorm(3, 3, affine=False),
                  ln.BatchNorm1d(3, affine=False, track_running_stats=False)):
        assert layer(x).dtype == np.float64
        assert layer(x.astype(np.float32)).dtype == np.float32


def test_layernorm_and_groupnorm_do_not_mix_samples():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6))
    for layer in (_jitter(ln.LayerNorm(6, dtype=np.float64), rng),
                  _jitter(ln.GroupNorm(3, 6, dtype=np.float64), rng)):
        full = layer(x)
        for i in range(4):
            np.testing.assert_allclose(layer(x[i:i + 1]), full[i:i + 1], rtol=0, atol=1e-14)
        np.testing.assert_array_equal(layer.eval()(x), full)   # no mode dependence


def test_groupnorm_extremes_match_layernorm_and_per_channel():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5))
    one_group = ln.GroupNorm(1, 4, affine=False)(x)
    layer = ln.LayerNorm((4, 5), elementwise_affine=False)(x)
    np.testing.assert_allclose(one_group, layer, rtol=0, atol=1e-13)
    per_channel = ln.GroupNorm(4, 4, affine=False)(x)
    np.testing.assert_allclose(per_channel, ln.LayerNorm(5, elementwise_affine=False)(x),
                               rtol=0, atol=1e-13)


def test_norm_reprs():
    assert repr(ln.BatchNorm1d(3)) == ("BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, "
                                       "track_running_stats=True, dtype=float32)")
    assert "eval_uses_batch_stats=True" in repr(ln.BatchNorm1d(3, eval_uses_batch_stats=True))
    assert repr(ln.LayerNorm(4)) == ("LayerNorm((4,), eps=1e-05, elementwise_affine=True, "
                                     "dtype=float32)")
    assert "bias=False" in repr(ln.LayerNorm(4, bias=False))
    assert repr(ln.GroupNorm(2, 4, affine=False)) == "GroupNorm(2, 4, eps=1e-05, affine=False)"
    assert repr(ln.Dropout(0.25, rng=np.random.default_rng(0))) == "Dropout(p=0.25)"


# -- Dropout -------------------------------------------------------------------------
@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), "0.5", True])
def test_dropout_invalid_p(p):
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\)"):
        ln.Dropout(p, rng=np.random.default_rng(0))


def test_dropout_requires_rng():
    with pytest.raises(TypeError, match="Dropout: pass rng="):
        ln.Dropout(0.5)
    with pytest.raises(TypeError, match="Dropout: pass rng="):
        ln.Dropout(0.5, rng=0)


def test_dropout_statistics_and_scaling():
    drop = ln.Dropout(0.25, rng=np.random.default_rng(3))
    x = np.ones((200, 100), np.float32)
    y = drop(x)
    assert y.dtype == np.float32
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.75)}
    kept = np.mean(y != 0)
    assert abs(kept - 0.75) < 0.01                 # 20 000 draws: std of the share 0.003
    assert abs(float(y.mean()) - 1.0) < 0.02       # inverted dropout keeps the mean
    g = np.full_like(x, 2.0)
    np.testing.assert_allclose(drop.backward(g), np.where(y != 0, 2.0 / 0.75, 0.0), rtol=1e-7)


def test_dropout_fresh_mask_unless_frozen():
    drop = ln.Dropout(0.5, rng=np.random.default_rng(4))
    x = np.ones((4, 8))
    assert not np.array_equal(drop(x), drop(x))      # a new mask each time
    with drop.freeze_mask() as same:
        assert same is drop and drop.frozen
        a, b = drop(x), drop(x)
        assert np.array_equal(a, b)
        drop.eval()
        y = drop(x)                                   # evaluation keeps the frozen mask aside
        assert np.shares_memory(y, x) and np.array_equal(y, x) and not y.flags.writeable
        drop.train()
        assert np.array_equal(drop(x), a)
    assert not drop.frozen
    drop.freeze_mask()                                # plain call, no context manager
    c = drop(x)
    assert np.array_equal(drop(x), c)
    with pytest.raises(ValueError, match=r"Dropout: the frozen mask has shape \(4, 8\)"):
        drop(np.ones((3, 8)))
    drop.unfreeze_mask()
    assert drop(np.ones((3, 8))).shape == (3, 8)


def test_dropout_is_deterministic_for_a_seed():
    a = ln.Dropout(0.5, rng=np.random.default_rng(7))(np.ones((3, 5)))
    b = ln.Dropout(0.5, rng=np.random.default_rng(7))(np.ones((3, 5)))
    np.testing.assert_array_equal(a, b)


def test_dropout_zero_and_eval_are_identity():
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(ln.Dropout(0.0, rng=np.random.default_rng(0))(x), x)
    drop = ln.Dropout(0.9, rng=np.random.default_rng(0)).eval()
    y = drop(x)                                  # x itself, through a read-only view
    assert np.shares_memory(y, x) and np.array_equal(y, x) and not y.flags.writeable
    g = np.ones_like(x)
    np.testing.assert_array_equal(drop.backward(g), g)


# Issue 13, item 1: finite float32 input so large (|x| ~ 1e20) that its squares overflow.
def _huge(shape, scale=1e20):
    rng = np.random.default_rng(3)
    return (scale * rng.standard_normal(shape)).astype(np.float32)


@pytest.mark.parametrize("make, shape", [
    (lambda: ln.BatchNorm1d(4), (6, 4)),
    (lambda: ln.BatchNorm1d(4), (6, 4, 3)),
    (lambda: ln.LayerNorm(4), (6, 4)),
    (lambda: ln.LayerNorm((4, 3)), (6, 4, 3)),
], ids=["bn-2d", "bn-3d", "ln-2d", "ln-3d"])
def test_huge_finite_float32_input_is_normalised_right(make, shape):
    x = _huge(shape)
    layer = make()
    y = layer(x)
    # the same layer in float64, on the same (float32-representable) values
    ref = make().to(np.float64)(x.astype(np.float64))
    assert y.dtype == np.float32 and np.isfinite(y).all()
    assert np.abs(y).max() > 0.5                   # not the silent beta (all zeros)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    dx = layer.backward(np.ones_like(y))
    assert np.isfinite(dx).all()


@pytest.mark.parametrize("make", [lambda: ln.BatchNorm1d(2), lambda: ln.LayerNorm(2),
                                  lambda: ln.GroupNorm(1, 2)], ids=["bn", "ln", "gn"])
def test_float32_input_whose_sum_overflows_is_normalised_right(make):
    """Near float32's largest value even the mean's sum overflows: float64 throughout."""
    x = np.array([[3e38, 3e38], [2e38, -3e38]], np.float32)   # 3e38 + 3e38 > 3.4e38
    y = make()(x)
    ref = make().to(np.float64)(x.astype(np.float64))
    assert y.dtype == np.float32 and np.abs(ref).max() > 0.5
    np.testing.assert_allclose(y, ref, atol=1e-5)


@pytest.mark.parametrize("make, name", [
    (lambda: ln.BatchNorm1d(2, dtype=np.float64), "BatchNorm1d"),
    (lambda: ln.LayerNorm(2, dtype=np.float64), "LayerNorm"),
    (lambda: ln.GroupNorm(1, 2, dtype=np.float64), "GroupNorm"),
], ids=["bn", "ln", "gn"])
def test_input_whose_square_overflows_float64_is_a_clear_error(make, name):
    """Not the silent output beta that an infinite variance would give."""
    with pytest.raises(ValueError, match=rf"{name}\(.*\): input too large to normalise"):
        make()(np.array([[1e200, -1e200], [-1e200, 1e200]]))


def test_batchnorm_running_var_beyond_float32_is_a_clear_error_in_eval():
    bn = ln.BatchNorm1d(4)
    bn(_huge((6, 4)))                              # training: right output, var ~ 1e40
    assert np.isinf(bn.running_var).any()          # not representable in float32
    with pytest.raises(ValueError, match="BatchNorm1d: running_var is not finite"):
        bn.eval()(np.ones((2, 4), np.float32))


@pytest.mark.parametrize("make, shape", [(lambda: ln.BatchNorm1d(4), (6, 4)),
                                         (lambda: ln.BatchNorm2d(4), (6, 4, 2, 2))],
                         ids=["bn1d", "bn2d"])
def test_running_stats_keep_their_dtype_after_a_float64_retry(make, shape):
    bn = make()
    bn(_huge(shape))                               # moments retried in float64
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32
    expected = (0.1 * _huge(shape).astype(np.float64).mean(axis=(0, *range(2, len(shape)))))
    np.testing.assert_allclose(bn.running_mean, expected.astype(np.float32), rtol=1e-6)
