"""Diagnostics: statistics against NumPy on the same arrays, hooks, gradient norms."""

import numpy as np
import pytest

import litnet as ln
from litnet.diagnostics import Probe, Table, gradient_norms, record, select


def mlp(rng, act=ln.Sigmoid, widths=(5, 8, 8, 3), dtype=np.float64):
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(ln.Linear(a, b, rng=rng, dtype=dtype))
        if i < len(widths) - 2:
            layers.append(act())
    return ln.Sequential(*layers)


def test_activation_stats_match_numpy_over_several_calls():
    rng = np.random.default_rng(0)
    model = mlp(rng)
    for layer in model:
        if isinstance(layer, ln.Linear):
            layer.weight.data *= 4        # push the sigmoids towards saturation
    xs = [rng.standard_normal((7, 5)), rng.standard_normal((4, 5))]
    with record(model, layers=ln.Sigmoid, keep=True) as rec:
        for x in xs:
            model(x)
    # the same activations, computed without hooks
    expected = {"1": [], "3": []}
    for x in xs:
        h = x
        for i, layer in enumerate(model):
            h = layer.forward(h)
            if str(i) in expected:
                expected[str(i)].append(h)
    table = rec.stats()
    assert table.column("name").tolist() == ["1", "3"]
    for row in table:
        a = np.concatenate(expected[row["name"]])
        np.testing.assert_array_equal(rec.values(row["name"]), a)
        assert row["count"] == a.size
        assert row["mean"] == pytest.approx(a.mean(), rel=1e-12)
        assert row["std"] == pytest.approx(a.std(), rel=1e-10)
        assert (row["min"], row["max"]) == (a.min(), a.max())
        assert row["frac_low"] == np.mean(a <= 0.05)
        assert row["frac_high"] == np.mean(a >= 0.95)
        assert row["frac_low"] + row["frac_high"] > 0      # the test exercises both counts


def test_relu_zero_and_dead_fractions():
    x = np.array([[-1.0, 2.0, -3.0], [0.5, -1.0, -2.0], [1.0, 0.0, -1.0]])
    relu = ln.ReLU()
    with record(relu, layers=ln.ReLU) as rec:
        relu(x[:2])
        relu(x[2:])
    row = rec.stats()[0]
    y = np.maximum(x, 0)
    assert row["frac_zero"] == np.mean(y == 0)
    assert row["frac_dead"] == np.mean(np.all(y == 0, axis=0))   # only the last column
    assert row["frac_dead"] == pytest.approx(1 / 3)
    assert "frac_low" not in row                                   # no saturation for ReLU


def test_custom_saturation_and_input_recording():
    rng = np.random.default_rng(1)
    model = mlp(rng, act=ln.Tanh)
    x = rng.standard_normal((6, 5))
    with record(model, layers=[model[1]], what="input", saturation=(-1.0, 1.0)) as rec:
        model(x)
    pre = model[0].forward(x)                  # the Tanh's input is the Linear's output
    row = rec.stats()[0]
    assert row["mean"] == pytest.approx(pre.mean(), rel=1e-12)
    assert row["frac_low"] == np.mean(pre <= -1) and row["frac_high"] == np.mean(pre >= 1)


def test_histograms_fixed_edges_sum_to_counts():
    rng = np.random.default_rng(2)
    x = 3 * rng.standard_normal((50, 4))
    edges = np.linspace(-2, 2, 9)
    model = ln.Sequential(ln.LeakyReLU(0.5), ln.Tanh())
    with record(model, bins=edges, keep=True) as rec:
        model(x)
        model(x[:10])
    counts = rec.histograms()
    assert counts.shape == (2, 8) and counts.dtype == np.int64
    for i, r in enumerate(rec):
        v = rec.values(i).ravel()
        np.testing.assert_array_equal(counts[i], np.histogram(v, bins=edges)[0])
        assert r.hist.sum() + r.below + r.above + r.nonfinite == r.count == v.size
        assert r.below == np.sum(v < -2) and r.above == np.sum(v > 2)
    assert rec[0].below > 0 and rec[0].above > 0
    with record(model, bins=4, hist_range=(0, 1)) as rec2:
        model(x)
    np.testing.assert_array_equal(rec2.edges, [0, 0.25, 0.5, 0.75, 1])


def test_bad_bins_and_selection_are_clear_errors():
    rng = np.random.default_rng(3)
    model = mlp(rng)
    with pytest.raises(ValueError, match="hist_range"):
        record(model, bins=10)
    with pytest.raises(ValueError, match="increasing"):
        record(model, bins=[0, 1, 1])
    with pytest.raises(KeyError, match="no layer named '9'"):
        record(model, layers=["9"])
    with pytest.raises(ValueError, match="not a layer of the model"):
        record(model, layers=[ln.ReLU()])
    with pytest.raises(ValueError, match="no layer of the model matches"):
        record(model, layers=ln.ReLU)
    with pytest.raises(ValueError, match="what must be"):
        record(model, what="pre")
    with pytest.raises(ValueError, match="keep=True"):
        record(model).values(0)


def test_selection_by_type_names_and_modules():
    rng = np.random.default_rng(4)
    block = ln.Sequential(ln.Linear(3, 3, rng=rng), ln.Tanh())
    model = ln.Sequential(ln.Linear(3, 3, rng=rng), ln.Residual(block), ln.Sigmoid())
    assert [n for n, _ in select(model)] == ["0", "1.block.0", "1.block.1", "2"]
    assert [n for n, _ in select(model, (ln.Tanh, ln.Sigmoid))] == ["1.block.1", "2"]
    assert [n for n, _ in select(model, ["2", model[0], "2"])] == ["2", "0"]
    assert select(model, ln.Residual)[0][1] is model[1]


def test_hooks_removed_after_the_context_even_on_error():
    rng = np.random.default_rng(5)
    model = mlp(rng)
    with pytest.raises(RuntimeError, match="boom"):
        with record(model, layers=ln.Module):
            assert all(m._forward_hooks for m in model.modules())
            raise RuntimeError("boom")
    assert all(not m.__dict__.get("_forward_hooks") for m in model.modules())
    assert all(not m.__dict__.get("_backward_hooks") for m in model.modules())
    with record(model, layers=ln.Sigmoid) as rec:
        pass
    model(rng.standard_normal((2, 5)))                  # after exit: nothing recorded
    assert rec.stats().column("count").tolist() == [0, 0]


def manual_input_grad_norms(model, x, y):
    """Walk the Sequential by hand: forward each layer, then backward each layer."""
    h = x
    for layer in model:
        h = layer.forward(h)
    _, g = ln.softmax_cross_entropy(h, y)
    norms = []
    for layer in reversed(list(model)):
        g = layer.backward(g)
        norms.append(np.linalg.norm(g))
    return np.array(norms[::-1])


def test_gradient_norms_match_a_manual_backward():
    rng = np.random.default_rng(6)
    model = mlp(rng, act=ln.Tanh, widths=(5, 7, 7, 7, 3))
    x, y = rng.standard_normal((9, 5)), rng.integers(0, 3, 9)
    got = gradient_norms(model, x, y)                      # every leaf, forward order
    model.zero_grad()
    want = manual_input_grad_norms(model, x, y)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # parameter gradient norms recorded by the backward hooks
    model.zero_grad()
    with record(model, layers=ln.Linear) as rec:
        _, g = ln.softmax_cross_entropy(model(x), y)
        model.backward(g)
    table = rec.stats()
    linears = [m for m in model if isinstance(m, ln.Linear)]
    np.testing.assert_allclose(table.column("weight.grad_norm"),
                               [np.linalg.norm(m.weight.grad) for m in linears], rtol=1e-12)
    np.testing.assert_allclose(table.column("bias.grad_norm"),
                               [np.linalg.norm(m.bias.grad) for m in linears], rtol=1e-12)
    np.testing.assert_allclose(table.column("grad_norm"), want[::2], rtol=1e-12)
    assert ln.diagnostics.parameter_grad_norms(model)["0.weight"] == pytest.approx(
        np.linalg.norm(linears[0].weight.grad), rel=1e-12)


def test_gradient_norms_leave_the_model_unchanged():
    rng = np.random.default_rng(7)
    model = ln.Sequential(ln.Linear(4, 6, rng=rng, dtype=np.float64),
                          ln.BatchNorm1d(6, dtype=np.float64), ln.Sigmoid(),
                          ln.Linear(6, 2, rng=rng, dtype=np.float64))
    for p in model.parameters():
        p.grad = rng.standard_normal(p.shape)          # pretend something accumulated
    grads = [p.grad.copy() for p in model.parameters()]
    buffers = {n: b.copy() for n, b in model.named_buffers()}
    x, y = 3 + rng.standard_normal((8, 4)), rng.integers(0, 2, 8)
    g1 = gradient_norms(model, x, y, layers=ln.Linear)
    g2 = gradient_norms(model, x, y, layers=ln.Linear)
    np.testing.assert_array_equal(g1, g2)
    assert g1.shape == (2,) and np.all(g1 > 0)
    for p, g in zip(model.parameters(), grads, strict=True):
        np.testing.assert_array_equal(p.grad, g)
    for n, b in model.named_buffers():
        np.testing.assert_array_equal(b, buffers[n])


def test_residual_keeps_the_gradient_alive_at_depth():
    rng = np.random.default_rng(8)
    depth, width = 20, 16

    def block():
        return ln.Sequential(ln.Linear(width, width, rng=rng, dtype=np.float64), ln.Sigmoid())

    plain = ln.Sequential(*[block() for _ in range(depth)])
    resid = ln.Sequential(*[ln.Residual(block()) for _ in range(depth)])
    x, y = rng.standard_normal((16, width)), rng.integers(0, width, 16)
    gp = gradient_norms(plain, x, y, layers=ln.Linear)
    gr = gradient_norms(resid, x, y, layers=ln.Residual)
    assert gp.shape == gr.shape == (depth,)
    assert gp[0] / gp[-1] < 1e-3 < gr[0] / gr[-1]


def test_table_text_markdown_and_missing_values():
    t = Table([{"name": "a", "x": 1.0}, {"name": "b", "y": 2}])
    assert t.columns == ["name", "x", "y"]
    assert np.isnan(t.column("x")[1]) and t["y"][1] == 2
    assert str(t).splitlines() == ["name  x  y", "   a  1  -", "   b  -  2"]
    assert t.to_markdown().splitlines()[2] == "| a | 1 | - |"
    with pytest.raises(KeyError, match="no column 'z'"):
        t.column("z")


def test_probe_records_every_epoch_in_eval_mode():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((30, 5)).astype(np.float32)
    y = rng.integers(0, 3, 30)
    model = ln.Sequential(ln.Linear(5, 8, rng=rng), ln.Dropout(0.5, rng=rng), ln.Sigmoid(),
                          ln.Linear(8, 3, rng=rng))
    from litnet.optim import SGD
    probe = Probe(x, layers=[model[3]], bins=np.linspace(-3, 3, 13), batch_size=7)
    ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=0.5), epochs=3, batch_size=10,
           rng=rng, callbacks=[probe])
    assert probe.epochs == [0, 1, 2, 3]
    assert probe.histograms().shape == (4, 1, 12)
    assert probe.histograms().sum(axis=2).max() <= x.shape[0] * 3
    logits = ln.training.predict(model, x)              # eval mode: dropout is off
    assert probe.column("mean")[-1, 0] == pytest.approx(logits.mean(), rel=1e-6)
    assert probe.column("mean")[0, 0] != probe.column("mean")[-1, 0]
    assert model.training and all(m.training for m in model.modules())
    assert len(probe.tables()) == 4


def test_recorder_lookup_reset_and_errors():
    rng = np.random.default_rng(10)
    model = mlp(rng)
    rec = record(model, layers=ln.Sigmoid)
    assert rec.attach() is rec.attach()                 # idempotent: one hook per layer
    assert len(model[1]._forward_hooks) == 1
    model(rng.standard_normal((3, 5)))
    rec.detach()
    assert rec["3"] is rec[1] is rec[model[3]] and len(rec) == 2
    assert rec[0].count == 24
    rec.reset()
    assert rec[0].count == 0 and np.isnan(rec.stats()[0]["mean"])
    with pytest.raises(KeyError, match="no recorded layer"):
        rec["0"]
    with pytest.raises(ValueError, match="bins"):
        rec.histograms()
    with pytest.raises(TypeError, match="litnet Module"):
        record("model")
    with pytest.raises(TypeError, match="layers must be"):
        record(model, layers=[3])
