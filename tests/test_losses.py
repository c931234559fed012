"""Losses: stability at extreme logits, label forms, gradients, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import litnet as ln

REDUCTIONS = ["mean", "sum"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_at_extreme_logits(reduction):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0], [3.0, 3.0, -1e4]])
    labels = np.array([1, 1, 0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, d = ln.softmax_cross_entropy(z, labels, reduction=reduction)
    # per sample: -log p = logsumexp(z) - z_label
    expected = np.array([2e4, 0.0, np.log(2.0)])
    scale = 1 / 3 if reduction == "mean" else 1.0
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    assert loss == pytest.approx(expected.sum() * scale, rel=1e-12)
    p = np.array([[1, 0, 0], [0, 1, 0], [0.5, 0.5, 0]])
    np.testing.assert_allclose(d, (p - np.eye(3)[labels]) * scale, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_at_extreme_logits(reduction):
    z = np.array([[1e4, -1e4], [-1e4, 1e4]])
    t = np.array([[1.0, 0.0], [1.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, d = ln.binary_cross_entropy_with_logits(z, t, reduction=reduction)
    scale = 1 / 4 if reduction == "mean" else 1.0
    assert loss == pytest.approx(2e4 * scale, rel=1e-12)
    np.testing.assert_allclose(d, np.array([[0.0, 0.0], [-1.0, 1.0]]) * scale, atol=1e-12)


def test_softmax_is_stable():
    p = ln.softmax(np.array([[1e4, 1e4 - np.log(3.0)], [-1e4, -1e4]]))
    np.testing.assert_allclose(p, [[0.75, 0.25], [0.5, 0.5]], rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_integer_labels_equal_one_hot(reduction):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    a = ln.softmax_cross_entropy(z, labels, reduction)
    b = ln.softmax_cross_entropy(z, np.eye(4)[labels], reduction)
    assert a[0] == pytest.approx(b[0], rel=1e-15)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_every_loss(reduction):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((5, 3))
    probs = rng.dirichlet(np.ones(3), 5)
    checks = [
        ln.gradcheck_loss(ln.softmax_cross_entropy, z, rng.integers(0, 3, 5), reduction),
        ln.gradcheck_loss(ln.softmax_cross_entropy, z, probs, reduction),
        ln.gradcheck_loss(ln.mse_loss, z, rng.standard_normal((5, 3)), reduction),
        ln.gradcheck_loss(ln.binary_cross_entropy_with_logits, z, rng.uniform(0, 1, (5, 3)),
                          reduction),
    ]
    for result in checks:
        assert result.worst < 1e-6, result


def test_mse_has_no_half_and_mean_divides_by_count():
    y, t = np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2))
    assert ln.mse_loss(y, t, "sum")[0] == 30.0
    assert ln.mse_loss(y, t, "mean")[0] == 7.5
    np.testing.assert_array_equal(ln.mse_loss(y, t, "sum")[1], 2 * y)
    np.testing.assert_array_equal(ln.mse_loss(y, t)[1], 2 * y / 4)


def test_losses_keep_dtype_and_do_not_mutate():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4, 3)).astype(np.float32)
    t = rng.uniform(0, 1, (4, 3)).astype(np.float32)
    z0, t0 = z.copy(), t.copy()
    for fn, target in [(ln.softmax_cross_entropy, np.array([0, 1, 2, 0])), (ln.mse_loss, t),
                       (ln.binary_cross_entropy_with_logits, t)]:
        loss, d = fn(z, target)
        assert isinstance(loss, float) and d.dtype == np.float32
    np.testing.assert_array_equal(z, z0)
    np.testing.assert_array_equal(t, t0)


@pytest.mark.parametrize("call, error, match", [
    (lambda z: ln.softmax_cross_entropy(z, np.array([0, 3])), ValueError,
     r"labels must lie in \[0, 2\], got range \[0, 3\]"),
    (lambda z: ln.softmax_cross_entropy(z, np.array([-1, 0])), ValueError, "labels must lie"),
    (lambda z: ln.softmax_cross_entropy(z, np.array([0.0, 1.0])), TypeError,
     "integer class labels"),
    (lambda z: ln.softmax_cross_entropy(z, np.array([0, 1, 2])), ValueError,
     r"expected 2 labels for logits of shape \(2, 3\), got 3"),
    (lambda z: ln.softmax_cross_entropy(z, np.ones((2, 4))), ValueError,
     r"targets of shape \(2,\) or \(2, 3\), got \(2, 4\)"),
    (lambda z: ln.softmax_cross_entropy(z, np.array([[np.nan, 0, 1], [0, 1, 0]])), ValueError,
     "NaN"),
    (lambda z: ln.softmax_cross_entropy(z[0], np.array([0])), ValueError, "2-D logits"),
    (lambda z: ln.softmax_cross_entropy(z, np.array([0, 1]), reduction="none"), ValueError,
     "reduction must be"),
    (lambda z: ln.mse_loss(z, np.zeros((3, 2))), ValueError,
     r"prediction has shape \(2, 3\) but target has \(3, 2\)"),
    (lambda z: ln.mse_loss(z, np.zeros((2, 3), dtype=int)), TypeError, "target"),
    (lambda z: ln.binary_cross_entropy_with_logits(z, np.zeros(3)), ValueError,
     r"logits have shape \(2, 3\) but target has \(3,\)"),
    (lambda z: ln.binary_cross_entropy_with_logits(z.astype(int), z), TypeError, "logits"),
])
def test_bad_targets_give_clear_errors(call, error, match):
    z = np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.0]])
    with pytest.raises(error, match=match):
        call(z)
