"""Chapter 4: the residual worked example (R1) and the 40-layer comparison (R13)."""

import math

import numpy as np
import pytest

import litnet as ln
from litnet.experiments import claims_for
from litnet.experiments import deep_residual as dr
from litnet.experiments.deep_residual import build as build_deep
from litnet.experiments.deep_residual import gradient_profile, hidden_linears
from litnet.experiments.residual_example import build, scenarios, significant, worked_example

# The R1 table of REPRODUCTIONS.md: the target values, to 4 significant digits.
TABLE = {
    "plain": {"L": 0.2373, "dL/dw3": -0.1249, "dL/dw2": -0.003193, "dL/dw1": -7.583e-5},
    "residual": {"L": 0.2247, "dL/dw3": -0.1213, "dL/dw2": -0.003100,
                 "dL/dw1 via h2": -7.364e-5, "dL/dw1 via skip": -0.002948,
                 "dL/dw1": -0.003021},
}
WEIGHTS = [(0.2, 0.1, 0.1, 0.1), (-1.3, 0.7, 2.1, -0.4), (0.5, -2.0, 0.3, 1.5)]


@pytest.mark.parametrize("scenario", ["plain", "residual"])
def test_r1_table_to_four_significant_digits(scenario):
    measured = scenarios()[scenario].table()
    assert set(measured) == set(TABLE[scenario])
    for label, expected in TABLE[scenario].items():
        assert significant(measured[label]) == expected, label


def test_note_rounding_of_the_two_paths():
    res = worked_example()
    assert round(res.grad_w1_main, 6) == -0.000074     # the note's -0.000074
    assert round(res.grad_w1_skip, 5) == -0.00295      # the note's -0.00295


@pytest.mark.parametrize("weights", WEIGHTS)
def test_path_terms_sum_to_the_total(weights):
    res = worked_example(*weights)
    assert res.grad_w1_main + res.grad_w1_skip == pytest.approx(res.grad_w1, rel=1e-12)
    assert res.grad_h1_main + res.grad_h1_skip == pytest.approx(
        res.grad_w1 / (res.h1 * (1 - res.h1) * 0.5), rel=1e-12)
    plain = worked_example(*weights, residual=False)
    assert plain.grad_w1_skip is None and plain.grad_w1_main == plain.grad_w1


def _loss(w1, w2, w3, w_r, x=0.5, t=1.0):
    """L for given weights, through litnet's layers (w_r None: plain)."""
    net = build(w1, w2, w3, w_r)
    return ln.mse_loss(net(np.array([[x]])), np.array([[t]]), reduction="sum")[0]


def _central(f, w, eps=1e-5):
    return (f(w + eps) - f(w - eps)) / (2 * eps)


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("residual", [False, True])
def test_gradients_match_central_differences(weights, residual):
    w1, w2, w3, w_r = weights
    w_r = w_r if residual else None
    res = worked_example(*weights, residual=residual)
    assert res.loss == pytest.approx(_loss(w1, w2, w3, w_r), rel=1e-14)
    numeric = {
        "grad_w1": _central(lambda w: _loss(w, w2, w3, w_r), w1),
        "grad_w2": _central(lambda w: _loss(w1, w, w3, w_r), w2),
        "grad_w3": _central(lambda w: _loss(w1, w2, w, w_r), w3),
    }
    if residual:
        numeric["grad_w_r"] = _central(lambda w: _loss(w1, w2, w3, w), w_r)
    for name, value in numeric.items():
        assert getattr(res, name) == pytest.approx(value, rel=1e-6, abs=1e-12), name


@pytest.mark.parametrize("weights", WEIGHTS)
def test_each_path_term_matches_central_differences(weights):
    """Give the block and the shortcut their own copy of w1: the derivative of L with
    respect to one copy (the other held fixed) is that path's term."""
    w1, w2, w3, w_r = weights
    x, t = np.array([[0.5]]), np.array([[1.0]])
    first, middle, out = build(w1, w2, w3, w_r)

    def loss(w1_block, w1_skip):
        first[0].weight.data[...] = w1_block
        h1_block = first(x)
        first[0].weight.data[...] = w1_skip
        h1_skip = first(x)
        y = out(middle.block(h1_block) + middle.shortcut(h1_skip))
        return ln.mse_loss(y, t, reduction="sum")[0]

    res = worked_example(*weights)
    main = _central(lambda w: loss(w, w1), w1)
    skip = _central(lambda w: loss(w1, w), w1)
    assert res.grad_w1_main == pytest.approx(main, rel=1e-6, abs=1e-13)
    assert res.grad_w1_skip == pytest.approx(skip, rel=1e-6, abs=1e-13)


@pytest.mark.parametrize("w_r", [None, 0.1])
def test_scalar_network_passes_gradcheck(w_r):
    net = build(0.2, 0.1, 0.1, w_r)
    x = np.random.default_rng(0).standard_normal((4, 1))
    assert ln.gradcheck(net, x, eps=1e-5).worst < 1e-6


def test_measure_leaves_the_full_gradient_in_grad():
    net = build(0.2, 0.1, 0.1, 0.1)
    from litnet.experiments.residual_example import measure
    res = measure(net)
    assert net[0][0].weight.grad.item() == res.grad_w1
    assert net[1].shortcut.weight.grad.item() == res.grad_w_r


def test_r13_plain_ratio_is_100x_smaller():
    p = gradient_profile()
    assert p.plain.weight_grad.shape == p.residual.weight_grad.shape == (40,)
    assert p.plain.ratio * dr.GAP_MIN <= p.residual.ratio
    assert p.plain.ratio <= dr.PLAIN_RATIO_MAX      # vanishes through 40 sigmoids
    assert abs(math.log10(p.residual.ratio)) <= dr.RESIDUAL_DECADES   # the shortcut carries it
    # the gradient reaching layer l's input: geometric decay only without shortcuts
    assert p.plain.input_grad[0] < 1e-6 * p.plain.input_grad[-1]
    assert p.residual.input_grad[0] >= p.residual.input_grad[-1]


@pytest.mark.parametrize("residual", [False, True])
def test_r13_norms_agree_with_a_direct_backward(residual):
    """The hook-based profile equals the norms of .grad after one plain backward."""
    from litnet.experiments.common import digits
    model = build_deep(40, residual=residual)
    x, y = digits(0)[:2]
    model.zero_grad()
    loss, g = ln.softmax_cross_entropy(model(x.astype(np.float64)), y)
    model.backward(g)
    direct = np.array([np.linalg.norm(layer.weight.grad) for layer in hidden_linears(model)])
    profile = getattr(gradient_profile(), "residual" if residual else "plain")
    assert profile.loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(profile.weight_grad, direct, rtol=1e-10)


def test_r13_same_weights_with_and_without_shortcut():
    plain, res = build_deep(3, residual=False), build_deep(3, residual=True)
    for a, b in zip(plain.parameters(), res.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("key", ["R1", "R13"])
def test_claims_hold(key):
    claims = claims_for(key)
    assert claims and all(c.id.startswith(key + ".") for c in claims)
    failed = [c for c in claims if not c.holds]
    assert not failed, failed


def test_r13_plain_stays_at_chance_while_residual_learns():
    from litnet.experiments.deep_residual import training_curves
    c = training_curves()
    assert len(c["plain"].train_loss) == dr.EPOCHS + 1
    assert abs(c["plain"].train_loss[-1] - math.log(10)) <= dr.STUCK_TOL
    assert c["residual"].train_loss[-1] <= c["plain"].train_loss[-1] - dr.LEARNS_MIN
    assert c["residual"].val_acc[-1] > c["plain"].val_acc[-1]


def test_r13_plot_functions_return_figures():
    for fig in (dr.plot_gradient_norms(), dr.plot_training()):
        assert type(fig).__name__ == "Figure" and len(fig.axes[0].lines) >= 2
