"""Chapter 3: sigmoid vs BN (R6), the moving centre (R7), LN/GN (R8), OOD inputs (R9).

The training runs are cached in ``litnet.experiments.sigmoid_bn.run``: the chapter's
doctests, its notebook and these tests share them within one process.
"""

import numpy as np
import pytest

import litnet as ln
from litnet.experiments import bn_shift, claims_for, norm_batch_dependence, ood, sigmoid_bn
from litnet.experiments.sigmoid_bn import build, run


# -- R6 ------------------------------------------------------------------------
def test_r6_thresholds():
    r = sigmoid_bn.results()
    assert r["sigmoid", "none"].final_acc <= sigmoid_bn.PLAIN_MAX
    assert r["sigmoid", "bn"].final_acc >= sigmoid_bn.BN_MIN
    assert abs(r["relu", "none"].final_acc - r["relu", "bn"].final_acc) <= sigmoid_bn.RELU_GAP
    for key in r:
        assert r[key].test_acc.shape == (sigmoid_bn.EPOCHS + 1,)
    # the page prints the bounds from the claims: the same numbers
    c = {x.id: x for x in sigmoid_bn.claims()}
    assert (c["R6.sigmoid_plain"].bound, c["R6.sigmoid_bn"].bound, c["R6.relu_bn"].bound) == (
        sigmoid_bn.PLAIN_MAX, sigmoid_bn.BN_MIN, sigmoid_bn.RELU_GAP)


def test_r6_note_002_speed():
    fast = sigmoid_bn.speed()
    assert fast["none", sigmoid_bn.FAST_LR].final_acc <= sigmoid_bn.FAST_PLAIN_MAX
    assert fast["bn", sigmoid_bn.FAST_LR].final_acc >= sigmoid_bn.BN_MIN
    plain, bn = (sigmoid_bn.first_epoch_at(fast[n, sigmoid_bn.LR]) for n in ("none", "bn"))
    assert plain - bn >= sigmoid_bn.SPEEDUP_MIN


def test_r6_overfitting_gap_unchanged():
    (tr0, te0), (tr1, te1) = sigmoid_bn.overfitting().values()
    assert 0 <= te0 <= tr0 <= 1 and 0 <= te1 <= tr1 <= 1
    assert abs((tr1 - te1) - (tr0 - te0)) <= sigmoid_bn.GAP_CHANGE_MAX


def test_r6_gamma_beta_move():
    d = sigmoid_bn.affine_drift("sigmoid")
    assert d["gamma"][-1] >= sigmoid_bn.GAMMA_MOVE_MIN and (d["beta"] > 0).all()
    fresh = ln.BatchNorm1d(3)
    assert (fresh.weight.data == 1).all() and (fresh.bias.data == 0).all()


def test_all_positive_relu_is_affine():
    r = sigmoid_bn.relu_linearity()
    assert r["all inputs positive"] == (1.0, r["all inputs positive"][1])
    assert r["all inputs positive"][1] <= sigmoid_bn.AFFINE_MAX
    assert r["as built"][0] < 1 and r["as built"][1] >= sigmoid_bn.NONLINEAR_MIN


def test_plot_functions_return_figures():
    for fig in (sigmoid_bn.plot_accuracy(), bn_shift.plot_histograms(),
                bn_shift.plot_unit_centres(), norm_batch_dependence.plot_spread(),
                ood.plot_ood()):
        assert type(fig).__name__ == "Figure" and fig.axes[0].has_data()


@pytest.mark.parametrize("norm", list(sigmoid_bn.NORMS))
@pytest.mark.parametrize("activation", list(sigmoid_bn.ACTIVATIONS))
def test_build_layout_and_init(activation, norm):
    model = build(activation, norm)
    kinds = [type(m).__name__ for m in model]
    per_block = 3 if norm != "none" else 2
    assert len(model) == 5 * per_block + 1
    assert kinds[-1] == "Linear" and kinds.count("Linear") == 6
    act = {"sigmoid": "Sigmoid", "relu": "ReLU"}[activation]
    assert kinds[per_block - 1::per_block][:5] == [act] * 5
    gain = {"sigmoid": 1.0, "relu": 2.0}[activation]
    w = np.concatenate([m.weight.data.ravel() for m in model if isinstance(m, ln.Linear)][1:5])
    assert w.std() == pytest.approx(np.sqrt(gain / 100), rel=0.05)    # n_in = 100
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_build_same_weights_with_and_without_norm():
    plain, bn = build("sigmoid", "none"), build("sigmoid", "bn")
    lin = [[m.weight.data for m in net if isinstance(m, ln.Linear)] for net in (plain, bn)]
    for a, b in zip(*lin, strict=True):
        np.testing.assert_array_equal(a, b)
    big = build("sigmoid", "none", init_std=1.0)
    assert big[2].weight.data.std() == pytest.approx(1.0, rel=0.05)


def test_run_is_cached_however_spelled():
    assert run("sigmoid") is run("sigmoid", "none", init_std=None, optimizer="sgd", epochs=20)
    r = run("sigmoid", "bn")
    assert not r.test_acc.flags.writeable and not r.pre_hist.flags.writeable


# -- R7 ------------------------------------------------------------------------
@pytest.mark.parametrize("setting", list(bn_shift.SETTINGS))
def test_r7_bn_ends_centred_and_epoch0_is_raw(setting):
    s = bn_shift.shift(setting)
    assert abs(s["bn"].pre_median[-1]) <= bn_shift.CENTRED_MAX
    assert abs(s["bn"].pre_mean[-1]) <= bn_shift.CENTRED_MAX
    # before training, eval-mode BN uses running stats (0, 1): the raw pre-activations
    np.testing.assert_allclose(s["bn"].pre_mean[0], s["plain"].pre_mean[0], atol=1e-4)
    np.testing.assert_allclose(s["bn"].pre_median[0], s["plain"].pre_median[0], atol=1e-4)
    counts = s["bn"].pre_hist.sum(axis=1) + s["bn"].pre_outside
    assert (counts == 297 * 100).all()


def test_r7_trend_std1():
    s = bn_shift.shift("std1")
    bn, plain = s["bn"].pre_median, s["plain"].pre_median
    assert abs(bn[0]) >= 1
    assert abs(bn[1]) <= bn_shift.MOMENTUM_LEFT * abs(bn[0])
    assert abs(plain[-1]) >= bn_shift.KEPT_MIN * abs(plain[0])
    peak = s["bn"].pre_mode
    assert peak[0] <= -3 and np.abs(peak[1:]).max() <= 0.5


def test_r7_mode_is_the_tallest_bin():
    r = bn_shift.shift("std1")["plain"]
    centres = sigmoid_bn.bin_centres()
    assert len(centres) == len(sigmoid_bn.BINS) - 1 and 0.0 in centres
    for e in (0, 10, 20):
        assert r.pre_hist[e][centres == r.pre_mode[e]] == r.pre_hist[e].max()


def test_r7_initial_centres_scatter_around_zero():
    c = bn_shift.initial_centres(1.0)
    assert c.median.shape == c.mode.shape == (bn_shift.N_SEEDS,)
    assert abs(c.median.mean()) <= 1 and c.mode.min() < 0 < c.mode.max() and c.mode.min() > -5
    # the first seed is the one every run uses
    assert c.median[0] == bn_shift.shift("std1")["plain"].pre_median[0]
    assert abs(bn_shift.initial_centres(None).median).max() < abs(c.median).max()


def test_r7_unit_centres_follow_the_weight_sums():
    c = bn_shift.unit_centres()
    assert c.centre.std() >= bn_shift.UNIT_SPREAD_MIN
    assert 0.4 < c.input_mean < 0.6                     # sigmoid outputs: positive, mean ~1/2
    assert np.corrcoef(c.centre, c.predicted)[0, 1] > 0.7
    t = bn_shift.unit_centres("tanh")
    assert abs(t.input_mean) < 0.1 and t.centre.std() < c.centre.std()


# -- R8 ------------------------------------------------------------------------
def test_r8_batch_dependence():
    d = norm_batch_dependence.batch_dependence()
    assert d["LayerNorm"] <= 1e-12 and d["GroupNorm"] <= 1e-12
    assert d["BatchNorm1d"] > 0.1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_r8_ln_gn_rows_independent_random_batches(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 20))
    other = x.copy()
    other[1:] = rng.normal(5.0, 3.0, (7, 20))
    for layer in (ln.LayerNorm(20, dtype=np.float64), ln.GroupNorm(4, 20, dtype=np.float64)):
        np.testing.assert_array_equal(layer(x)[0], layer(other)[0])
    bn = ln.BatchNorm1d(20, dtype=np.float64)
    assert np.abs(bn(x)[0] - bn(other)[0]).max() > 0.1


def test_r8_batch_of_one():
    r = norm_batch_dependence.batch_of_one()
    assert r["max_from_beta"] == 0.0
    assert "BatchNorm1d" in r["train_error"]
    bn = ln.BatchNorm1d(3, track_running_stats=False, dtype=np.float64)
    bn.bias.data[...] = [1.0, -2.0, 0.5]
    out = bn.eval()(np.array([[7.0, 8.0, 9.0]]))
    assert out.tolist() == [[1.0, -2.0, 0.5]]


def test_r8_spread_and_training():
    s = norm_batch_dependence.spread()
    assert s["bn"]["across"].min() >= 0.9
    for norm in ("none", "ln", "gn"):
        across = s[norm]["across"]
        assert across[-1] < 0.05 and (np.diff(across) < 0).all()     # shrinks every layer
    assert np.allclose(s["ln"]["within"], 1.0, atol=1e-3)
    runs = norm_batch_dependence.training()
    assert (runs["bn", "sgd"].test_acc[:6] >= 0.90).any()
    assert max(runs[n, "sgd"].test_acc[1:].max() for n in ("ln", "gn")) < 0.90
    t = {k: r.final_acc for k, r in runs.items()}
    assert min(t["ln", "adam"], t["gn", "adam"]) >= max(0.90, t["none", "adam"] + 0.20)


# -- R9 ------------------------------------------------------------------------
def test_r9_bn_running_stats_on_ood():
    assert ood.ratio("bn", "x5") >= 3 and ood.ratio("bn", "inverted") >= 1.5
    m = ood.measure()
    assert m["bn"]["x5"]["mismatch"][0] >= 3
    assert abs(m["bn"]["digits"]["mismatch"][0] - 1) < 0.1


def test_r9_batch_stats_remove_the_scale():
    m = ood.measure()["bn_batch"]
    # the scale 5 cancels in (x - mean) / std up to eps: same predictions
    np.testing.assert_allclose(m["x5"]["confidence"], m["digits"]["confidence"], atol=1e-3)
    for key in ood.INPUTS:
        assert abs(ood.ratio("bn_batch", key) - 1) <= 0.10


def test_r9_network_copies_leave_the_cached_model_alone():
    cached = run("relu", "bn").model
    before = [b.copy() for _, b in cached.named_buffers()]
    copy = ood.network("bn_batch")
    assert copy is not cached
    assert all(not m.eval_uses_batch_stats for m in cached.modules()
               if isinstance(m, ln.BatchNorm1d))
    ood.measure()
    for a, (_, b) in zip(before, cached.named_buffers(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert cached.training


def test_r9_inputs():
    x = ood.inputs()
    digits = sigmoid_bn.digits().x_test
    np.testing.assert_array_equal(x["inverted"], 1 - digits)
    np.testing.assert_array_equal(x["x5"], 5 * digits)
    assert 0 <= x["noise"].min() and x["noise"].max() <= 1 and x["noise"].dtype == np.float32


# -- every claim -----------------------------------------------------------------
@pytest.mark.parametrize("key", ["R6", "R7", "R8", "R9"])
def test_claims_hold(key):
    claims = claims_for(key)
    assert claims and all(c.id.startswith(key + ".") for c in claims)
    assert all(isinstance(c.holds, bool) for c in claims)
    failed = [c for c in claims if not c.holds]
    assert not failed, failed
