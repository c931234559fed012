"""The training loop: determinism, batching, evaluation mode, callbacks, clipping, divergence."""

import io
import math
import sys

import numpy as np
import pytest

import litnet as ln
from litnet.optim import SGD
from litnet.training import _Progress, predict


def blobs(rng, n_per_class=40, centres=((-2, -2), (2, -2), (0, 2.5))):
    x = np.concatenate([rng.normal(c, 0.6, size=(n_per_class, 2)) for c in centres])
    y = np.repeat(np.arange(len(centres)), n_per_class)
    return x.astype(np.float32), y


def small_model(rng, hidden=8, dropout=None):
    layers = [ln.Linear(2, hidden, rng=rng), ln.Tanh()]
    if dropout:
        layers.append(ln.Dropout(dropout, rng=rng))
    return ln.Sequential(*layers, ln.Linear(hidden, 3, rng=rng))


def run(seed, **kwargs):
    rng = np.random.default_rng(seed)
    x, y = blobs(rng)
    model = small_model(rng, dropout=0.2)
    options = dict(epochs=3, batch_size=16, x_val=x[::3], y_val=y[::3])
    options.update(kwargs)
    h = ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=0.2, momentum=0.9),
               rng=rng, **options)
    return model, h


def test_same_seed_gives_bit_identical_histories_and_weights():
    m1, h1 = run(0)
    m2, h2 = run(0)
    assert h1.as_dict() == h2.as_dict() and h1.batch_loss == h2.batch_loss
    for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    _, h3 = run(1)
    assert h3.batch_loss != h1.batch_loss


def test_history_lengths_and_accessors():
    _, h = run(0, epochs=4)
    d = h.as_dict()
    assert list(d) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc"]
    assert all(len(v) == 4 for v in d.values()) and len(h) == 4
    assert len(h.batch_loss) == 4 * math.ceil(120 / 16)
    assert h.final() == {k: d[k][-1] for k in d if k != "epoch"}
    assert h.diverged is None and h.grad_norm == []
    assert h.table().column("epoch").tolist() == [1, 2, 3, 4]
    _, h0 = run(0, x_val=None, y_val=None, epochs=2)
    assert list(h0.as_dict()) == ["epoch", "train_loss", "train_acc"] and h0.val_loss == []
    _, empty = run(0, epochs=0)
    assert len(empty) == 0 and empty.final() == {}


@pytest.mark.parametrize("drop_last, sizes", [(False, [16] * 7 + [8]), (True, [16] * 7)])
def test_minibatches_are_shuffled_permutations_with_the_last_batch_documented(drop_last, sizes):
    rng = np.random.default_rng(0)
    x, y = blobs(rng)
    x[:, 0] = np.arange(len(x))                        # tag each sample
    model = small_model(rng)
    seen = []
    model.register_forward_hook(lambda m, xb, out: m.training and seen.append(xb[:, 0].copy()))
    ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=0.01), epochs=2, batch_size=16,
           rng=rng, drop_last=drop_last)
    assert [len(b) for b in seen] == sizes * 2
    epochs = [np.concatenate(seen[:len(sizes)]), np.concatenate(seen[len(sizes):])]
    for ids in epochs:
        assert len(set(ids)) == len(ids) == sum(sizes)    # no sample twice in an epoch
    assert not np.array_equal(epochs[0], np.arange(sum(sizes)))   # shuffled
    assert not np.array_equal(epochs[0], epochs[1])


def test_evaluation_runs_in_eval_mode_in_chunks_and_modes_are_restored():
    rng = np.random.default_rng(0)
    x, y = blobs(rng)
    model = small_model(rng, dropout=0.5)
    model[0].eval()                                    # a deliberately odd starting state
    calls = []
    model.register_forward_hook(lambda m, xb, out: calls.append((m.training, len(xb))))
    h = ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=0.01), epochs=1,
               batch_size=30, rng=rng, x_val=x[:50], y_val=y[:50], eval_batch_size=45)
    train_calls = [n for t, n in calls if t]
    eval_calls = [n for t, n in calls if not t]
    assert train_calls == [30] * 4
    assert eval_calls == [45, 45, 30, 45, 5]           # training set, then validation set
    assert [m.training for m in model.modules()] == [True, False, True, True, True]
    # the recorded metrics are those of the model in eval mode (dropout off)
    loss, acc = ln.evaluate(model, x[:50], y[:50])
    assert (h.val_loss[-1], h.val_acc[-1]) == (loss, acc)


def test_accuracy_improves_on_separable_blobs():
    rng = np.random.default_rng(3)
    x, y = blobs(rng)
    model = small_model(rng)
    _, before = ln.evaluate(model, x, y)
    h = ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=0.1), epochs=10,
               batch_size=10, rng=rng)
    assert before < 0.8 <= 0.97 <= h.train_acc[-1]
    assert h.train_loss[-1] < h.train_loss[0]


def test_eval_train_false_uses_the_minibatch_averages():
    _, h = run(0, epochs=2, eval_train=False, batch_size=50)    # batches of 50, 50, 20
    for e in range(2):
        losses = h.batch_loss[3 * e:3 * e + 3]
        assert h.train_loss[e] == pytest.approx((50 * losses[0] + 50 * losses[1]
                                                 + 20 * losses[2]) / 120, rel=1e-12)


def test_divergence_is_recorded_not_raised():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = x @ rng.standard_normal((4, 1)).astype(np.float32)
    model = ln.Linear(4, 1, rng=rng)
    h = ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=10.0), epochs=20,
               batch_size=16, rng=rng, loss_fn=ln.mse_loss, x_val=x, y_val=y)
    assert h.diverged is not None and 1 <= h.diverged < 20
    assert len(h) == h.diverged and not math.isfinite(h.train_loss[-1])
    assert math.isnan(h.val_loss[-1]) and all(math.isfinite(v) for v in h.train_loss[:-1])
    assert not math.isfinite(h.batch_loss[-1])
    assert all(np.isfinite(p.data).all() for p in model.parameters())  # last step not taken
    # with clipping the same run stays finite
    model = ln.Linear(4, 1, rng=np.random.default_rng(0))
    h = ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=0.05), epochs=20,
               batch_size=16, rng=rng, loss_fn=ln.mse_loss, clip_norm=1.0)
    assert h.diverged is None


def test_overflowing_activations_count_as_divergence():
    rng = np.random.default_rng(0)
    layers = []
    for _ in range(8):
        layers += [ln.Linear(10, 10, rng=rng, init=lambda s, rng, dtype: np.full(s, 1e6, dtype)),
                   ln.ReLU()]
    model = ln.Sequential(*layers, ln.Linear(10, 2, rng=rng))
    x = np.abs(rng.standard_normal((8, 10))).astype(np.float32)
    h = ln.fit(model, x, np.zeros(8, np.int64), optimizer=SGD(model.parameters(), lr=0.1),
               epochs=3, batch_size=4, rng=rng)
    assert h.diverged == 1 and math.isnan(h.train_loss[0]) and h.batch_loss == [h.batch_loss[0]]
    # an ordinary error (wrong labels) is still raised
    other = small_model(rng)
    with pytest.raises(ValueError, match="labels"):
        ln.fit(other, x[:, :2], np.full(8, 7), optimizer=SGD(other.parameters(), lr=0.1),
               epochs=1, batch_size=4, rng=rng)


def test_clipping_path_bounds_every_step(monkeypatch):
    calls = []
    real = ln.clip.clip_grad_norm_

    def spy(params, max_norm):
        calls.append(max_norm)
        return real(params, max_norm)

    monkeypatch.setattr(ln.training, "clip_grad_norm_", spy)
    rng = np.random.default_rng(0)
    x, y = blobs(rng)
    model = small_model(rng)
    before = [p.data.copy() for p in model.parameters()]
    lr, max_norm = 1.0, 1e-3
    h = ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=lr), epochs=1,
               batch_size=40, rng=rng, clip_norm=max_norm)
    assert calls == [max_norm] * 3 and len(h.grad_norm) == 3
    assert min(h.grad_norm) > max_norm                 # clipping was active ...
    moved = np.sqrt(sum(((p.data - b) ** 2).sum() for p, b in
                        zip(model.parameters(), before, strict=True)))
    assert moved <= 3 * lr * max_norm * (1 + 1e-4)     # ... so each step moved at most lr·max


def test_callbacks_are_called_with_the_right_epochs():
    events = []

    class Recorder:
        def on_train_begin(self, model, history):
            events.append(("begin", len(history)))

        def on_batch_end(self, epoch, batch, model, loss):
            events.append(("batch", epoch, batch))

        def on_epoch_end(self, epoch, model, history):
            events.append(("epoch", epoch, len(history)))

        def on_train_end(self, model, history):
            events.append(("end", len(history)))

    plain = []
    run(0, epochs=2, batch_size=50, callbacks=[Recorder(), lambda e, m, h: plain.append(e)])
    assert events == [("begin", 0),
                      ("batch", 1, 0), ("batch", 1, 1), ("batch", 1, 2), ("epoch", 1, 1),
                      ("batch", 2, 0), ("batch", 2, 1), ("batch", 2, 2), ("epoch", 2, 2),
                      ("end", 2)]
    assert plain == [1, 2]
    with pytest.raises(TypeError, match="callback"):
        run(0, callbacks=[42])


def test_progress_silent_unless_a_terminal(monkeypatch):
    fake = io.StringIO()
    monkeypatch.setattr(sys, "stderr", fake)
    run(0, epochs=2)                                   # progress=None, not a TTY
    assert fake.getvalue() == ""
    run(0, epochs=2, progress=True)
    assert "epoch 2/2" in fake.getvalue() and fake.getvalue().endswith("\n")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty = Terminal()
    bar = _Progress(None, 1, stream=tty, after=0.0)
    bar.batch(1, 0, 3, 0.5)
    bar.close()
    assert "batch 1/3" in tty.getvalue()
    assert not _Progress(False, 1, stream=tty).enabled


def test_bad_arguments_are_clear_errors():
    rng = np.random.default_rng(0)
    x, y = blobs(rng)
    model = small_model(rng)
    opt = SGD(model.parameters(), lr=0.1)
    common = dict(optimizer=opt, epochs=1, batch_size=8)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        ln.fit(model, x, y, rng=0, **common)
    with pytest.raises(ValueError, match="120 samples but y_train has 119"):
        ln.fit(model, x, y[1:], rng=rng, **common)
    with pytest.raises(ValueError, match="batch_size"):
        ln.fit(model, x, y, rng=rng, optimizer=opt, epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="no mini-batch"):
        ln.fit(model, x, y, rng=rng, optimizer=opt, epochs=1, batch_size=500, drop_last=True)
    with pytest.raises(TypeError, match="optimizer must have"):
        ln.fit(model, x, y, rng=rng, optimizer=object(), epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="both x_val and y_val"):
        ln.fit(model, x, y, rng=rng, x_val=x, **common)


def test_accuracy_and_evaluate():
    assert ln.accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[0, 1], [0, 1]])) == 0.5
    assert ln.accuracy(np.array([[3.0], [-1.0]]), np.array([1.0, 1.0])) == 0.5
    with pytest.raises(ValueError, match="accuracy"):
        ln.accuracy(np.zeros((3, 2)), np.zeros(2, np.int64))
    rng = np.random.default_rng(0)
    x, y = blobs(rng)
    model = small_model(rng, dropout=0.5)
    loss_a, acc_a = ln.evaluate(model, x, y, batch_size=7)
    loss_b, acc_b = ln.evaluate(model, x, y, batch_size=1000)
    assert loss_a == pytest.approx(loss_b, rel=1e-6) and acc_a == acc_b
    out = predict(model, x)
    assert loss_b == ln.softmax_cross_entropy(out, y)[0] and model.training


# -- the optimizer contract and the one divergence signal ---------------------------------

class DuckSGD:
    """Plain SGD that is not a litnet optimizer: only zero_grad() and step(), no .params."""

    def __init__(self, params, lr):
        self._params, self.lr, self.steps = list(params), lr, 0

    def zero_grad(self):
        for p in self._params:
            p.grad[...] = 0

    def step(self):
        self.steps += 1
        for p in self._params:
            p.data -= self.lr * p.grad


def test_a_duck_typed_optimizer_trains_like_sgd():
    histories, models = [], []
    for make in (lambda m: SGD(m.parameters(), lr=0.1), lambda m: DuckSGD(m.parameters(), 0.1)):
        rng = np.random.default_rng(3)
        x, y = blobs(rng)
        model = small_model(rng)
        opt = make(model)
        histories.append(ln.fit(model, x, y, optimizer=opt, epochs=2, batch_size=40, rng=rng,
                                clip_norm=5.0))
        models.append(model)
    assert not hasattr(opt, "params") and opt.steps == 6
    assert histories[0].as_dict() == histories[1].as_dict()
    assert histories[0].grad_norm == histories[1].grad_norm
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_train_step_raises_diverged_and_takes_no_step():
    rng = np.random.default_rng(0)
    model = ln.Linear(2, 1, rng=rng, dtype=np.float64)
    before = model.weight.data.copy()
    opt = DuckSGD(model.parameters(), 0.1)
    x = np.array([[1e200, 1e200]])
    with pytest.raises(ln.Diverged, match="loss is inf") as info:
        ln.training.train_step(model, x, np.array([[0.0]]), optimizer=opt, loss_fn=ln.mse_loss)
    assert info.value.loss == math.inf and info.value.in_step and opt.steps == 0
    np.testing.assert_array_equal(model.weight.data, before)
    model.weight.data[...] = 1e308                             # the output overflows ...
    with pytest.raises(ln.Diverged, match="ReLU.*NaN or inf"):  # ... and ReLU rejects it
        ln.training.train_step(ln.Sequential(model, ln.ReLU()), np.array([[10.0, 10.0]]),
                               np.array([[0.0]]), optimizer=opt, loss_fn=ln.mse_loss)
    assert opt.steps == 0


def full_batch_divergence(**kwargs):
    """lr=1e6 on a full batch: every step is taken (its loss and gradients are finite) and
    the weights grow until the end-of-epoch evaluation overflows."""
    rng = np.random.default_rng(0)
    x = 10 * rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model = ln.Sequential(ln.Linear(4, 32, rng=rng), ln.ReLU(), ln.Linear(32, 32, rng=rng),
                          ln.ReLU(), ln.Linear(32, 3, rng=rng))
    return ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=1e6), epochs=6,
                  batch_size=64, rng=rng, **kwargs)


def test_a_nonfinite_end_of_epoch_evaluation_is_divergence_not_an_error():
    epochs = []
    h = full_batch_divergence(x_val=np.zeros((4, 4), np.float32), y_val=np.zeros(4, np.int64),
                              callbacks=[lambda e, m, h: epochs.append(e)])
    assert h.diverged == 2 and len(h) == 2 and len(h.batch_loss) == 2
    assert all(math.isfinite(v) for v in h.batch_loss)        # both steps were taken
    assert math.isfinite(h.train_loss[0]) and math.isnan(h.train_loss[1])
    assert math.isnan(h.train_acc[1]) and math.isnan(h.val_loss[1])
    assert epochs == [1]                                       # not called for epoch 2


def test_fit_stops_at_the_first_epoch_whose_training_loss_is_not_finite():
    """MSE of huge but finite predictions overflows to inf without any layer complaining:
    fit stops there (it used to train on) and reports the infinite loss."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = x @ rng.standard_normal((4, 1)).astype(np.float32)
    model = ln.Linear(4, 1, rng=rng)
    h = ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=1e6), epochs=5,
               batch_size=32, rng=rng, loss_fn=ln.mse_loss)
    assert h.diverged == 3 and len(h) == 3 and len(h.batch_loss) == 3
    assert h.train_loss[-1] == math.inf and all(math.isfinite(v) for v in h.train_loss[:-1])


def test_train_step_checks_and_clips_the_params_it_is_given():
    """``params=`` (what fit passes, walked once) gives the default's bits; the clipped
    norm is the listed parameters' only."""
    def step(params):
        rng = np.random.default_rng(0)
        model = small_model(rng)
        x, y = blobs(rng)
        opt = SGD(model.parameters(), lr=0.1)
        chosen = None if params is None else params(model)
        out = ln.training.train_step(model, x, y, optimizer=opt, clip_norm=0.5, params=chosen)
        return out, model

    (loss, _, norm), walked = step(None)
    (loss2, _, norm2), given = step(lambda m: m.parameters())
    assert (loss, norm) == (loss2, norm2)
    for a, b in zip(walked.parameters(), given.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    (_, _, first_only), _ = step(lambda m: m[0].parameters())
    assert first_only < norm                       # the norm of the first layer's alone


def test_train_step_rejects_params_that_are_not_parameters():
    rng = np.random.default_rng(0)
    model = small_model(rng)
    x, y = blobs(rng)
    with pytest.raises(TypeError, match=r"train_step: element 0 is a ndarray, expected a "
                                        r"litnet Parameter"):
        ln.training.train_step(model, x, y, optimizer=SGD(model.parameters(), lr=0.1),
                               params=[np.ones(2)])
