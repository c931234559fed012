"""Chapter 1: vanishing gradients by depth and activation, dying ReLU (R10), exploding
gradients and clipping (R12).

The R10/R12 thresholds are asserted through the claims themselves (one test per claim,
sharing the cached experiments); the other tests check the mechanisms the chapter
explains, on small cases built here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import litnet as ln
from litnet.experiments import claims_for, common, exploding, vanishing
from litnet.optim import SGD
from litnet.training import train_step

R10_IDS = ["dying_relu", "dead_stay_dead", "leaky_gradient_flows", "prelu_recovers",
           "relu_family_keeps", "relu_needs_he", "sigmoid_factor_is_slope",
           "sigmoid_vanishes", "tanh_slower"]
R12_IDS = ["clip_trains", "gradient_grows", "he_reference", "lstm_clip_bounded", "lstm_explodes",
           "no_clip_diverges"]


@pytest.mark.parametrize("key, ids", [("R10", R10_IDS), ("R12", R12_IDS)])
def test_claim_ids(key, ids):
    assert sorted(c.id for c in claims_for(key)) == sorted(f"{key}.{i}" for i in ids)


@pytest.mark.parametrize("claim_id", [f"R10.{i}" for i in R10_IDS] + [f"R12.{i}" for i in R12_IDS])
def test_claim_holds(claim_id):
    claim = next(c for c in claims_for(claim_id.split(".")[0]) if c.id == claim_id)
    assert claim.holds, f"{claim.id}: {claim.text} -- measured {claim.measured}"


# -- R10: the gradient profile ------------------------------------------------------------

def test_profile_is_cached_and_read_only():
    norms = vanishing.gradient_profile("sigmoid", 10)
    assert norms is vanishing.gradient_profile("sigmoid", 10)
    assert norms.shape == (11,) and not norms.flags.writeable
    with pytest.raises(ValueError):
        vanishing.gradient_profile("softplus", 10)


def test_profile_matches_a_hand_written_backward():
    """gradient_norms (hooks) against the chain rule written out for one small tanh stack."""
    depth, seed = 3, 7
    model, x, y = vanishing._setting("tanh", depth, "standard", seed)
    hs = [x]
    for layer in model.layers:
        hs.append(layer(hs[-1]))
    _, g = ln.softmax_cross_entropy(hs[-1], y)
    expected = []
    for i in reversed(range(len(model.layers))):
        if isinstance(model.layers[i], ln.Linear):
            g = g @ model.layers[i].weight.data       # dL/d(input of this Linear)
            expected.append(np.linalg.norm(g))
        else:
            g = g * (1 - hs[i + 1] ** 2)              # tanh' from the tanh's output
    norms = vanishing.gradient_profile("tanh", depth, seed=seed)
    np.testing.assert_allclose(norms, expected[::-1], rtol=1e-12)


def test_sigmoid_factor_never_exceeds_what_sigma_prime_allows():
    """Per layer, the factor is at most max(sigma') times the weight matrix's largest
    singular value: the bound behind the measured ~1/4."""
    depth, seed = 10, 3
    f = vanishing.sigmoid_factors(depth=depth, seed=seed)
    model, _, _ = vanishing._setting("sigmoid", depth, "standard", seed)
    spectral = [np.linalg.norm(m.weight.data, 2) for m in model.layers[:-1:2]]
    assert np.all(f["factor"] <= f["max"] * np.array(spectral) * (1 + 1e-12))
    assert np.all(f["max"] <= 0.25)


# -- R10: dying ReLU ----------------------------------------------------------------------

@pytest.fixture
def killed():
    """A small ReLU MLP on random data whose first unit is pushed far below zero."""
    rng = np.random.default_rng(0)
    model = vanishing.build_mlp("relu", rng=rng, hidden=(8,))
    model[0].bias.data[0] = -1e3
    x = rng.random((32, 64)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    return model, x, y


def test_dead_relu_unit_has_exactly_zero_gradient(killed):
    model, x, y = killed
    negative = vanishing.negative_units(model, x)
    assert negative[0] and vanishing.dead_share(model, x) == negative.mean()
    g = vanishing.unit_gradients(model, x, y)
    assert np.all(g[negative] == 0) and np.all(g[~negative] > 0)
    assert not np.any(model[0].weight.grad)          # zeroed again afterwards


def test_leaky_relu_unit_below_zero_still_gets_gradient(killed):
    model, x, y = killed
    leaky = ln.Sequential(model[0], ln.LeakyReLU(0.01), model[2])   # the same weights
    assert vanishing.dead_share(leaky, x) == 0
    assert vanishing.unit_gradients(leaky, x, y)[0] > 0


def test_dead_unit_weights_do_not_move_in_training(killed):
    model, x, y = killed
    before = model[0].weight.data[0].copy()
    ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=0.5), epochs=3, batch_size=8,
           rng=np.random.default_rng(1))
    np.testing.assert_array_equal(model[0].weight.data[0], before)


# -- R12: exploding gradients and clipping ------------------------------------------------

def test_clipped_step_is_bounded():
    """One SGD step with clip_norm moves the parameters by at most lr * clip_norm."""
    x, y = common.digits(0)[:2]
    model = exploding.build(rng=np.random.default_rng(0))
    before = np.concatenate([p.data.ravel() for p in model.parameters()]).astype(np.float64)
    loss, _, norm = train_step(model, x[:100], y[:100], optimizer=SGD(model.parameters(), lr=0.1),
                               clip_norm=1.0)
    after = np.concatenate([p.data.ravel() for p in model.parameters()]).astype(np.float64)
    assert math.isfinite(loss) and norm > 1e3
    assert np.linalg.norm(after - before) <= 0.1 * 1.0 * (1 + 1e-3)


def test_unclipped_run_records_divergence():
    run = exploding.training_runs()["no_clip"]
    assert run.diverged == 1 and not math.isfinite(run.batch_loss[-1])
    assert math.isnan(run.train_loss[-1]) and run.grad_norm == ()


def test_he_and_std1_networks_predict_the_same_at_initialisation():
    """The chapter's remark: with zero biases, He weights are the std-1 weights scaled per
    layer, and a ReLU network scaled layer by layer only rescales its logits."""
    x = common.digits(0)[2]
    std1 = exploding.build("std1", rng=np.random.default_rng(0))
    he = exploding.build("he", rng=np.random.default_rng(0))
    np.testing.assert_array_equal(std1(x).argmax(axis=1), he(x).argmax(axis=1))


def test_exploding_build_rejects_unknown_init():
    with pytest.raises(ValueError, match="init must be one of"):
        exploding.build("glorot", rng=np.random.default_rng(0))


def test_clipped_lstm_step_is_bounded():
    """One clipped step of the exploding LSTM moves its parameters by at most lr * clip_norm,
    although the gradient before clipping is far larger."""
    lstm, head = exploding.build_lstm(rng=np.random.default_rng(0))
    params = list(lstm.parameters()) + list(head.parameters())
    before = np.concatenate([p.data.ravel() for p in params])
    x = np.random.default_rng(1).standard_normal((8, exploding.LSTM_T, exploding.LSTM_INPUT))
    _, norm = exploding.lstm_step(lstm, head, x, x[:, 0, :1], SGD(params, lr=exploding.LSTM_LR),
                                  clip_norm=exploding.CLIP)
    after = np.concatenate([p.data.ravel() for p in params])
    assert norm > exploding.CLIP
    assert np.linalg.norm(after - before) <= exploding.LSTM_LR * exploding.CLIP * (1 + 1e-9)


def test_lstm_runs_see_the_same_batches():
    r = exploding.lstm_runs()
    assert r["no_clip"]["loss"][0] == r["clip"]["loss"][0]          # same weights, same batch
    assert r["clip"]["loss"].size == exploding.LSTM_STEPS
