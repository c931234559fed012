"""Property-based tests (hypothesis): every layer of the registry and every loss, on drawn
shapes, dtypes and values.

For each draw a layer or loss either raises a clear error (``ValueError`` or ``TypeError``
whose message names the layer, or a layer inside it) or returns a finite output of the
right shape and dtype that agrees with the same computation in float64; in float64 at
moderate values its gradients match central differences (:func:`litnet.gradcheck`). Inputs
that can never be right (NaN or inf, integers, an empty batch, a wrong feature count) must
raise. The profile is deterministic (``derandomize=True``) with a fixed number of examples,
sized to keep this file near ten seconds.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from cases import CASES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import litnet as ln

PROFILE = settings(deadline=None, derandomize=True, database=None, max_examples=4,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GRADCHECK_PROFILE = settings(PROFILE, max_examples=2)    # central differences are the cost
LOSS_PROFILE = settings(PROFILE, max_examples=30)
BAD = ("nan", "inf", "int", "empty", "features")


def names_a_layer(message, module):
    """The message names the module or one inside it (by class name)."""
    return any(re.search(rf"\b{type(m).__name__}\b", message) for m in module.modules())


def values(data, shape, dtype, low, high):
    """|x| = 10**e with e drawn in [low, high] per draw (one scale, jittered), random signs."""
    scale = data.draw(st.floats(low, high), label="log10 scale")
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    size = rng.uniform(0.5, 1.5, shape) * 10.0 ** scale
    return (size * rng.choice([-1.0, 1.0], shape)).astype(dtype), rng


def drawn_shape(data, case):
    """The case's shape with a drawn batch size (1 to 5) and, sometimes, one more time step."""
    n = data.draw(st.integers(1, 5), label="batch")
    return (n,) + tuple(case.shape[1:])


def spoil(x, kind, case):
    if kind == "nan":
        x = x.copy()
        x.flat[x.size // 2] = np.nan
    elif kind == "inf":
        x = x.copy()
        x.flat[0] = -np.inf
    elif kind == "int":
        x = x.astype(np.int64)
    elif kind == "empty":
        x = x[:0]
    else:                                        # one feature too many on the feature axis
        pad = [(0, 0)] * x.ndim
        pad[case.feature_axis] = (0, 1)
        x = np.pad(x, pad)
    return x


@pytest.mark.parametrize("case", CASES, ids=repr)
@PROFILE
@given(data=st.data())
def test_layer_output_is_finite_and_agrees_with_float64_or_a_clear_error(case, data):
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    x, rng = values(data, drawn_shape(data, case), dtype, -3.0, 15.0)
    if case.make_input is not None:
        x = np.asarray(case.make_input(rng, dtype))
    seed = int(rng.integers(2 ** 32))
    layer = case.factory(np.random.default_rng(seed), dtype)
    try:
        y = layer(x)
    except (ValueError, TypeError) as e:
        assert names_a_layer(str(e), layer), e
        return
    assert y.dtype == dtype and y.shape[0] == x.shape[0] and np.isfinite(y).all()
    wide = case.factory(np.random.default_rng(seed), np.float64)
    ref = wide(x.astype(np.float64))
    err = np.linalg.norm(y - ref) / max(np.linalg.norm(ref), np.finfo(np.float64).tiny)
    assert err < (1e-3 if dtype == np.float32 else 1e-9), err
    g = layer.backward(np.ones_like(y))
    assert g is None or (g.shape == x.shape and np.isfinite(g).all())
    assert all(np.isfinite(p.grad).all() for p in layer.parameters())


@pytest.mark.parametrize("case", CASES, ids=repr)
@PROFILE
@given(data=st.data())
def test_layer_rejects_an_impossible_input(case, data):
    kinds = BAD if case.features else BAD[:-1]
    kind = data.draw(st.sampled_from(kinds), label="spoilt")
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    shape = (max(2, drawn_shape(data, case)[0]),) + tuple(case.shape[1:])
    x, rng = values(data, shape, dtype, -2.0, 2.0)
    layer = case.factory(rng, dtype)
    bad = spoil(x, kind, case)
    before = bad.copy()
    with pytest.raises((ValueError, TypeError)) as err:
        layer(bad)
    assert names_a_layer(str(err.value), layer), err.value
    np.testing.assert_array_equal(bad, before)          # not mutated, even when rejected


@pytest.mark.parametrize("case", CASES, ids=repr)
@GRADCHECK_PROFILE
@given(data=st.data())
def test_layer_gradients_match_central_differences(case, data):
    # batch >= 3: with 2 samples BatchNorm's output is +-1 and its input gradient ~0
    x, rng = values(data, (max(3, drawn_shape(data, case)[0]),) + tuple(case.shape[1:]),
                    np.float64, -0.5, 0.5)
    if case.make_input is not None:
        x = np.asarray(case.make_input(rng, np.float64))
    layer = case.factory(rng, np.float64)
    for p in layer.parameters():     # biases off 0: a ReLU-zeroed row must not sit on a kink
        p.data = p.data + 0.2 * rng.standard_normal(p.shape)
    result = ln.gradcheck(layer, x, rng=rng)
    assert result.worst < 1e-6, result


# -- losses -------------------------------------------------------------------------------

def logits_and_target(data, dtype, low, high):
    n = data.draw(st.integers(1, 6), label="N")
    c = data.draw(st.integers(1, 5), label="C")
    z, rng = values(data, (n, c), dtype, low, high)
    if data.draw(st.booleans(), label="integer labels"):
        return z, rng.integers(0, c, n)
    p = rng.random((n, c)) ** 3
    return z, (p / p.sum(axis=1, keepdims=True)).astype(dtype)


def cross_entropy_reference(z, t):
    """In float64 (float32 logits convert exactly; their spread fits float64)."""
    z = z.astype(np.float64)
    t = np.eye(z.shape[1])[t] if t.ndim == 1 else t.astype(np.float64)
    m = z.max(axis=1, keepdims=True)
    log_p = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return -np.where(t != 0, t * log_p, 0).sum(axis=1), np.exp(log_p) - t


@LOSS_PROFILE
@given(data=st.data())
def test_cross_entropy_is_exact_for_any_finite_logits(data):
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    top = 38.0 if dtype == np.float32 else 300.0
    z, t = logits_and_target(data, dtype, -3.0, top)
    reduction = data.draw(st.sampled_from(["mean", "sum"]), label="reduction")
    loss, grad = ln.softmax_cross_entropy(z, t, reduction=reduction)
    per, ref_grad = cross_entropy_reference(z, t)
    ref = per.mean() if reduction == "mean" else per.sum()
    size = float(np.abs(z.astype(np.float64)).max())
    assert np.isfinite(loss) and np.isfinite(grad).all() and grad.dtype == dtype
    assert abs(loss - ref) <= 1e-5 * max(1.0, size), (loss, ref)
    k = z.shape[0] if reduction == "mean" else 1
    np.testing.assert_allclose(grad, ref_grad / k, atol=1e-5)


LOSSES = {
    "softmax_cross_entropy": lambda data, z: logits_and_target(data, z.dtype, -0.5, 0.5)[1],
    "mse_loss": lambda data, z: values(data, z.shape, z.dtype, -0.5, 0.5)[0],
    "binary_cross_entropy_with_logits":
        lambda data, z: np.random.default_rng(0).random(z.shape).astype(z.dtype),
}


@pytest.mark.parametrize("name", LOSSES)
@PROFILE
@given(data=st.data())
def test_loss_gradients_match_central_differences(name, data):
    fn = getattr(ln, name)
    z, t = logits_and_target(data, np.float64, -0.5, 1.0)
    target = t if name == "softmax_cross_entropy" else LOSSES[name](data, z)
    reduction = data.draw(st.sampled_from(["mean", "sum"]), label="reduction")
    assert ln.gradcheck_loss(fn, z, target, reduction=reduction).worst < 1e-6


@pytest.mark.parametrize("name", LOSSES)
@PROFILE
@given(data=st.data())
def test_loss_rejects_impossible_inputs(name, data):
    fn = getattr(ln, name)
    z, t = logits_and_target(data, np.float64, -1.0, 1.0)
    target = t if name == "softmax_cross_entropy" else LOSSES[name](data, z)
    kind = data.draw(st.sampled_from(["nan", "int", "no classes", "target shape"]))
    if kind == "nan":
        z = z.copy()
        z.flat[0] = np.nan
    elif kind == "int":
        z = z.astype(np.int64)
    elif kind == "no classes":
        z, target = z[:, :0], np.zeros((z.shape[0], 0))
    else:
        target = np.zeros((z.shape[0] + 1,) + z.shape[1:], target.dtype)
    with pytest.raises((ValueError, TypeError), match=rf"^{name}: "):
        fn(z, target)
