"""Optimisers and gradient clipping against their update formulas, written out here."""

from __future__ import annotations

import math

import numpy as np
import pytest

import litnet as ln
from litnet import optim

SHAPES = [(3, 2), (4,)]
STEPS = 6


def setup(seed=0, dtype=np.float64):
    """Two parameters and a fixed sequence of gradients for each."""
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    return start, grads


def run(make_opt, start, grads, steps):
    params = [ln.Parameter(a) for a in start]
    opt = make_opt(params)
    for t in range(steps):
        for p, g in zip(params, grads[t], strict=True):
            p.grad = g.copy()
        opt.step()
    return [p.data for p in params]


# -- the update formulas, one function per optimiser: theta, g, state -> new theta --------
def ref_sgd(lr, wd=0.0):
    def rule(theta, g, s):
        return theta - lr * (g + wd * theta)
    return rule


def ref_momentum(lr, mu, nesterov=False, wd=0.0):
    def rule(theta, g, s):
        g = g + wd * theta
        s["b"] = g if "b" not in s else mu * s["b"] + g
        return theta - lr * (g + mu * s["b"] if nesterov else s["b"])
    return rule


def ref_adagrad(lr, eps=1e-10, wd=0.0):
    def rule(theta, g, s):
        g = g + wd * theta
        s["h"] = s.get("h", 0.0) + g * g
        return theta - lr * g / (np.sqrt(s["h"]) + eps)
    return rule


def ref_rmsprop(lr, alpha=0.99, eps=1e-8, wd=0.0):
    def rule(theta, g, s):
        g = g + wd * theta
        s["h"] = alpha * s.get("h", 0.0) + (1 - alpha) * g * g
        return theta - lr * g / (np.sqrt(s["h"]) + eps)
    return rule


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    def rule(theta, g, s):     # the textbook form with bias-corrected m-hat and v-hat
        g = g + wd * theta
        s["t"] = s.get("t", 0) + 1
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        m_hat, v_hat = s["m"] / (1 - b1 ** s["t"]), s["v"] / (1 - b2 ** s["t"])
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return rule


def run_reference(rule, start, grads, steps):
    thetas = [a.copy() for a in start]
    states = [{} for _ in start]
    for t in range(steps):
        thetas = [rule(th, g, s) for th, g, s in zip(thetas, grads[t], states, strict=True)]
    return thetas


CONFIGS = {
    "SGD": (lambda p: optim.SGD(p, lr=0.1), ref_sgd(0.1)),
    "SGD-wd": (lambda p: optim.SGD(p, lr=0.1, weight_decay=0.05), ref_sgd(0.1, wd=0.05)),
    "Momentum": (lambda p: optim.Momentum(p, lr=0.1, momentum=0.8), ref_momentum(0.1, 0.8)),
    "Momentum-default": (lambda p: optim.Momentum(p), ref_momentum(0.01, 0.9)),
    "SGD-momentum-wd": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
                        ref_momentum(0.1, 0.9, wd=0.01)),
    "Nesterov": (lambda p: optim.Nesterov(p, lr=0.1, momentum=0.7),
                 ref_momentum(0.1, 0.7, nesterov=True)),
    "SGD-nesterov-wd": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                            weight_decay=0.1),
                        ref_momentum(0.1, 0.9, nesterov=True, wd=0.1)),
    "AdaGrad": (lambda p: optim.AdaGrad(p, lr=0.5), ref_adagrad(0.5)),
    "AdaGrad-wd-eps": (lambda p: optim.AdaGrad(p, lr=0.5, eps=1e-3, weight_decay=0.1),
                       ref_adagrad(0.5, eps=1e-3, wd=0.1)),
    "RMSProp": (lambda p: optim.RMSProp(p, lr=0.05), ref_rmsprop(0.05)),
    "RMSProp-alpha-wd": (lambda p: optim.RMSProp(p, lr=0.05, alpha=0.9, weight_decay=0.1),
                         ref_rmsprop(0.05, alpha=0.9, wd=0.1)),
    "Adam": (lambda p: optim.Adam(p, lr=0.1), ref_adam(0.1)),
    "Adam-betas-eps-wd": (lambda p: optim.Adam(p, lr=0.1, betas=(0.8, 0.99), eps=1e-4,
                                               weight_decay=0.1),
                          ref_adam(0.1, 0.8, 0.99, eps=1e-4, wd=0.1)),
}


@pytest.mark.parametrize("steps", [1, STEPS])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_steps_follow_the_formula(name, steps):
    make_opt, rule = CONFIGS[name]
    start, grads = setup()
    ours = run(make_opt, start, grads, steps)
    expected = run_reference(rule, start, grads, steps)
    for a, b, a0 in zip(ours, expected, start, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        assert not np.allclose(a, a0)        # the step did move the parameter


def test_first_steps_in_closed_form():
    g, theta, lr = np.array([2.0, -0.5]), np.array([3.0, -2.0]), 0.1
    first = {   # the step each rule takes from zero state
        optim.SGD: theta - lr * g,
        optim.Momentum: theta - lr * g,                          # b = g on the first step
        optim.Nesterov: theta - lr * (1 + 0.9) * g,              # g + mu * b, b = g
        optim.AdaGrad: theta - lr * g / (np.abs(g) + 1e-10),
        optim.RMSProp: theta - lr * g / (np.sqrt(0.01) * np.abs(g) + 1e-8),
        optim.Adam: theta - lr * g / (np.abs(g) + 1e-8),         # m-hat = g, v-hat = g^2
    }
    for cls, expected in first.items():
        p = ln.Parameter(theta)
        opt = cls([p], lr=lr)
        p.grad = g.copy()
        opt.step()
        np.testing.assert_allclose(p.data, expected, rtol=1e-14, err_msg=cls.__name__)


def test_state_is_per_parameter_and_uses_pytorch_names():
    a, b = ln.Parameter(np.ones(2)), ln.Parameter(np.ones(3))
    opt = optim.Adam([a, b])
    a.grad, b.grad = np.ones(2), 2 * np.ones(3)
    opt.step()
    assert [s["exp_avg"].shape for s in opt.state] == [(2,), (3,)]
    assert {"step", "exp_avg", "exp_avg_sq"} <= set(opt.state[0])


@pytest.mark.parametrize("name", list(CONFIGS))
def test_float32_parameters_stay_float32(name):
    start, grads = setup(dtype=np.float32)
    for a in run(CONFIGS[name][0], start, grads, 3):
        assert a.dtype == np.float32


def test_updates_happen_in_place_and_zero_grad_resets():
    p = ln.Parameter(np.ones(3))
    data = p.data
    opt = optim.SGD([p], lr=0.5)
    p.grad = np.ones(3)
    opt.step()
    assert p.data is data and np.all(data == 0.5)
    opt.zero_grad()
    assert np.all(p.grad == 0) and p.grad.shape == (3,)


def test_optimiser_trains_a_small_network():
    rng = np.random.default_rng(0)
    model = ln.Sequential(ln.Linear(3, 8, rng=rng), ln.Tanh(), ln.Linear(8, 1, rng=rng))
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    opt = optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss, d = ln.mse_loss(model(x), y)
        model.backward(d)
        opt.step()
        losses.append(loss)
    assert losses[-1] < 0.1 * losses[0]


@pytest.mark.parametrize("bad, match", [
    (lambda p: optim.SGD(p, lr=-1.0), "lr must be >= 0"),
    (lambda p: optim.SGD(p, lr=float("nan")), "lr must be >= 0"),
    (lambda p: optim.SGD(p, momentum=-0.1), "momentum"),
    (lambda p: optim.SGD(p, nesterov=True), "Nesterov momentum requires"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "dampening 0"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"betas\[0\]"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"betas\[1\]"),
    (lambda p: optim.Adam(p, eps=-1e-8), "eps"),
    (lambda p: optim.RMSProp(p, weight_decay=-1), "weight_decay"),
    (lambda p: optim.AdaGrad(p, lr_decay=-1), "lr_decay"),
])
def test_bad_hyperparameters(bad, match):
    with pytest.raises(ValueError, match=match):
        bad([ln.Parameter(np.zeros(2))])


def test_bad_parameter_lists():
    rng = np.random.default_rng(0)
    layer = ln.Linear(2, 2, rng=rng)
    with pytest.raises(TypeError, match="model.parameters"):
        optim.SGD(layer)
    with pytest.raises(TypeError, match="wrap"):
        optim.SGD(np.zeros(3))
    with pytest.raises(TypeError, match="element 0 is a ndarray"):
        optim.SGD([np.zeros(3)])
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([layer.weight, layer.weight])
    p = ln.Parameter(np.zeros(3))
    opt = optim.SGD(p)                      # a single Parameter is accepted
    p.grad = np.zeros(4)
    with pytest.raises(ValueError, match=r"shape \(3,\) has a gradient of shape \(4,\)"):
        opt.step()


def test_base_class_requires_update():
    with pytest.raises(NotImplementedError):
        optim.Optimizer([ln.Parameter(np.zeros(1))], lr=0.1).step()


def test_repr_lists_hyperparameters():
    p = [ln.Parameter(np.zeros(1))]
    assert repr(optim.Adam(p)) == "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0)"
    assert "alpha=0.99" in repr(optim.RMSProp(p))
    assert "nesterov=True" in repr(optim.Nesterov(p))


# -- R3: f(x, y) = x^2/20 + y^2 from (-7, 2), 30 updates --------------------------------
BOOK_END_POINTS = {
    "SGD": (lambda p: optim.SGD(p, lr=0.95), (-0.3504, 0.0848)),
    "Momentum": (lambda p: optim.Momentum(p, lr=0.1, momentum=0.9), (0.8964, 0.0881)),
    "AdaGrad": (lambda p: optim.AdaGrad(p, lr=1.5), (-0.1202, 0.0)),
    "Adam": (lambda p: optim.Adam(p, lr=0.3, betas=(0.9, 0.999)), (0.1360, 0.3182)),
}


@pytest.mark.parametrize("name", list(BOOK_END_POINTS))
def test_r3_end_points_match_the_book(name):
    make_opt, book = BOOK_END_POINTS[name]
    point = ln.Parameter(np.array([-7.0, 2.0]))
    opt = make_opt([point])
    for _ in range(30):
        x, y = point.data
        point.grad = np.array([x / 10, 2 * y])      # the gradient of x^2/20 + y^2
        opt.step()
    np.testing.assert_allclose(point.data, book, atol=1e-3)


# -- clipping ------------------------------------------------------------------------------
def grads_params(*grads, dtype=np.float64):
    params = []
    for g in grads:
        p = ln.Parameter(np.zeros(np.shape(g), dtype=dtype))
        p.grad = np.array(g, dtype=dtype)
        params.append(p)
    return params


def test_clip_grad_norm_rescales_to_max_norm():
    params = grads_params([[3.0, 0.0], [0.0, 0.0]], [0.0, 4.0], [12.0])  # norm 13
    originals = [p.grad for p in params]
    before = [p.grad.copy() for p in params]
    total = ln.clip_grad_norm_(params, max_norm=2.6)
    assert total == pytest.approx(13.0, rel=1e-15)
    coef = 2.6 / (13.0 + 1e-6)
    for p, g in zip(params, before, strict=True):
        np.testing.assert_allclose(p.grad, g * coef, rtol=1e-15)
    new_norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
    assert new_norm == pytest.approx(2.6, rel=1e-6)
    for arr, g in zip(originals, before, strict=True):   # old arrays untouched
        np.testing.assert_array_equal(arr, g)


def test_clip_grad_norm_leaves_small_gradients_alone():
    params = grads_params([0.3, -0.4])
    assert ln.clip_grad_norm_(params, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad, [0.3, -0.4])


def test_clip_grad_norm_inf_norm_and_dtype():
    params = grads_params([1.0, -6.0], [2.0], dtype=np.float32)
    assert ln.clip_grad_norm_(params, 3.0, norm_type=float("inf")) == 6.0
    assert params[0].grad.dtype == np.float32
    np.testing.assert_allclose(params[0].grad, [0.5, -3.0], rtol=1e-6)
    assert ln.clip_grad_norm_([], 1.0) == 0.0


def test_clip_grad_norm_non_finite():
    params = grads_params([np.nan, 1.0])
    assert math.isnan(ln.clip_grad_norm_(params, 1.0))        # returned, not raised
    assert np.all(np.isnan(params[0].grad))                   # as PyTorch: grads unusable
    params = grads_params([np.inf, 1.0])
    assert ln.clip_grad_norm_(params, 1.0) == math.inf
    with pytest.raises(RuntimeError, match="nan"):
        ln.clip_grad_norm_(grads_params([np.nan]), 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm"):
        ln.clip_grad_norm_(grads_params([1.0]), -1.0)


def test_clip_grad_value():
    params = grads_params([[-3.0, 0.5], [2.0, -0.1]], dtype=np.float32)
    assert ln.clip_grad_value_(params, 1.0) is None
    np.testing.assert_array_equal(params[0].grad, np.float32([[-1.0, 0.5], [1.0, -0.1]]))
    assert params[0].grad.dtype == np.float32
    with pytest.raises(ValueError, match="clip_value"):
        ln.clip_grad_value_(params, -1.0)
    with pytest.raises(TypeError, match="Parameter"):
        ln.clip_grad_value_([np.zeros(2)], 1.0)
