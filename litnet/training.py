r"""The training loop: mini-batches, epochs, evaluation and a :class:`History`.

One epoch of :func:`fit` is the four lines every chapter relies on::

    optimizer.zero_grad()            # forget the previous batch's gradients
    loss, g = loss_fn(model(xb), yb) # forward, and dL/d(output)
    run_backward(model, g)           # every parameter's .grad (and the hooks)
    optimizer.step()                 # move the parameters

repeated over mini-batches drawn in a random order from the injected ``rng``.
Everything around it (evaluation in eval mode, callbacks, clipping, spotting a
loss that has become NaN or infinite) is bookkeeping.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import contextmanager

import numpy as np

from ._checks import NonFiniteError
from .clip import clip_grad_norm_
from .losses import softmax_cross_entropy
from .module import Module, run_backward


@contextmanager
def eval_mode(model):
    """Put ``model`` in evaluation mode inside a ``with`` block, then restore
    every module's own mode (not just ``model.train()``).

    Examples
    --------
    >>> import litnet as ln
    >>> model = ln.Sequential(ln.ReLU())
    >>> with eval_mode(model):
    ...     model.training
    False
    >>> model.training
    True
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, was_training in modes:
            m.training = was_training


def accuracy(logits, target):
    r"""Fraction of samples whose predicted class is the target class.

    Parameters
    ----------
    logits : ndarray, (N, C) or (N,) / (N, 1)
        Scores. With C columns the prediction is the arg-max; with a single
        column (binary logits) it is ``logit > 0``.
    target : ndarray, (N,) integer labels or (N, C) one-hot / probabilities
        (whose arg-max is the label); 0/1 values for binary logits.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), np.array([0, 1, 1]))
    0.6666666666666666
    >>> accuracy(np.array([-1.0, 2.0]), np.array([0, 1]))
    1.0
    """
    logits, target = np.asarray(logits), np.asarray(target)
    n = logits.shape[0] if logits.ndim else 0
    if n == 0 or target.shape[0] != n:
        raise ValueError(f"accuracy: expected logits (N, C) and N targets, got logits "
                         f"{logits.shape} and targets {target.shape}")
    if logits.ndim == 1 or logits.shape[1] == 1:        # one binary logit per sample
        pred = logits.reshape(n) > 0
        labels = target.reshape(n) > 0.5
    else:
        pred = logits.argmax(axis=1)
        labels = target.argmax(axis=1) if target.ndim == 2 else target
    return float(np.mean(pred == labels))


def predict(model, x, batch_size=1000):
    """Outputs of ``model`` for every row of ``x``, in evaluation mode and in chunks.

    The modes of all modules are restored afterwards. In evaluation mode
    BatchNorm uses its running statistics and Dropout is the identity, so
    the chunk size does not change the result.

    Shapes: x: (N, ...) -> (N, ...) as the model outputs.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> model = ln.Linear(3, 2, rng=np.random.default_rng(0))
    >>> x = np.ones((5, 3), np.float32)
    >>> np.array_equal(predict(model, x, batch_size=2), model(x))
    True
    """
    _check_batch_size("predict", batch_size)
    if len(x) == 0:
        raise ValueError(f"predict: empty input (shape {np.shape(x)})")
    with eval_mode(model):
        return np.concatenate([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def evaluate(model, x, y, loss_fn=softmax_cross_entropy, batch_size=1000):
    """Loss and accuracy of ``model`` over the whole set ``(x, y)``, in evaluation mode.

    The outputs are computed in chunks of ``batch_size`` (:func:`predict`), then
    ``loss_fn`` is applied once to all of them, so the loss is the exact mean
    over the set whatever the chunk size.

    Returns
    -------
    (loss, accuracy) : (float, float)

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> model = ln.Linear(2, 2, rng=np.random.default_rng(0))
    >>> model.weight.data[...] = [[1, 0], [0, 1]]          # logits = inputs
    >>> x = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]], np.float32)
    >>> loss, acc = evaluate(model, x, np.array([0, 1, 1]))
    >>> round(loss, 4), round(acc, 4)
    (0.7936, 0.6667)
    """
    out = predict(model, x, batch_size)
    loss, _ = loss_fn(out, y)
    return float(loss), accuracy(out, y)


class History:
    """What :func:`fit` measured, one entry per epoch.

    Attributes
    ----------
    train_loss, train_acc : list of float
        On the whole training set, in evaluation mode, at the end of each epoch
        (``eval_train=True``, the default); with ``eval_train=False`` the
        sample-weighted mean over the epoch's mini-batches in training mode.
    val_loss, val_acc : list of float
        On the validation set, in evaluation mode; empty without one.
    batch_loss : list of float
        The loss of every mini-batch, in order (training mode).
    grad_norm : list of float
        The global gradient norm of every mini-batch before clipping (only
        when ``clip_norm`` is set).
    diverged : int or None
        The epoch (counted from 1) in which the loss or the gradients became
        NaN or infinite; ``None`` if training finished normally. That epoch's
        entries are NaN (or the infinite loss) and training stopped there.

    Examples
    --------
    >>> h = History()
    >>> h.append(train_loss=0.5, train_acc=0.8)
    >>> h.append(train_loss=0.25, train_acc=0.9)
    >>> len(h), h.final()
    (2, {'train_loss': 0.25, 'train_acc': 0.9})
    >>> h.as_dict()["epoch"]
    [1, 2]
    """

    KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")

    def __init__(self):
        self.train_loss, self.train_acc = [], []
        self.val_loss, self.val_acc = [], []
        self.batch_loss, self.grad_norm = [], []
        self.diverged = None

    def append(self, **values):
        """Add one epoch's values (keys among :attr:`KEYS`)."""
        for key, value in values.items():
            if key not in self.KEYS:
                raise KeyError(f"History.append: unknown key {key!r}; expected one of {self.KEYS}")
            getattr(self, key).append(float(value))

    def __len__(self):
        return len(self.train_loss)

    def _present(self):
        return [k for k in self.KEYS if getattr(self, k)]

    def as_dict(self):
        """``{"epoch": [1, 2, ...], "train_loss": [...], ...}`` (validation keys only if used)."""
        out = {"epoch": list(range(1, len(self) + 1))}
        out.update({k: list(getattr(self, k)) for k in self._present()})
        return out

    def final(self):
        """The last epoch's values as a dict (empty before the first epoch)."""
        return {k: getattr(self, k)[-1] for k in self._present()}

    def table(self):
        """The per-epoch values as a :class:`litnet.diagnostics.Table`."""
        from .diagnostics import Table  # diagnostics imports this module

        d = self.as_dict()
        return Table([dict(zip(d, row, strict=True)) for row in zip(*d.values(), strict=True)],
                     columns=list(d))

    def __repr__(self):
        return f"History(epochs={len(self)}, final={self.final()}, diverged={self.diverged})"


# Callbacks: any object with some of these methods (a plain function is an on_epoch_end).
_HOOKS = ("on_train_begin", "on_batch_end", "on_epoch_end", "on_train_end")


def _callbacks(callbacks):
    table = {name: [] for name in _HOOKS}
    for cb in callbacks:
        found = [name for name in _HOOKS if callable(getattr(cb, name, None))]
        if found:
            for name in found:
                table[name].append(getattr(cb, name))
        elif callable(cb):
            table["on_epoch_end"].append(cb)
        else:
            raise TypeError(f"fit: callback {cb!r} has none of the methods {_HOOKS} and is not "
                            "callable")
    return table


def _is_nonfinite_error(err):
    # After an overflow the *next* layer's input check rejects the NaN/inf activation:
    # that is divergence, not a bug.
    return isinstance(err, NonFiniteError)


def _grads_finite(params):
    return all(np.isfinite(p.grad).all() for p in params)


def _check_batch_size(who, batch_size):
    if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"{who}: batch_size must be a positive int, got {batch_size!r}")


class _Progress:
    """One rewritten line on stderr; silent unless enabled (auto: a TTY, not a doctest,
    and only once the run has lasted ``after`` seconds)."""

    def __init__(self, progress, epochs, stream=None, after=1.0):
        self.stream = stream if stream is not None else sys.stderr
        if progress is None:
            tty = getattr(self.stream, "isatty", lambda: False)()
            in_doctest = type(sys.stdout).__name__ == "_SpoofOut"
            self.enabled, self.after = tty and not in_doctest, after
        else:
            self.enabled, self.after = bool(progress), 0.0
        self.epochs, self.start, self.last, self.wrote = epochs, time.monotonic(), 0.0, False

    def _write(self, text, force=False):
        now = time.monotonic()
        if not self.enabled or now - self.start < self.after:
            return
        if force or now - self.last >= 0.2:
            self.stream.write("\r" + text.ljust(78))
            self.stream.flush()
            self.last, self.wrote = now, True

    def batch(self, epoch, i, n_batches, loss):
        self._write(f"epoch {epoch}/{self.epochs}  batch {i + 1}/{n_batches}  loss {loss:.4f}")

    def epoch(self, epoch, history):
        parts = [f"{k} {v:.4f}" for k, v in history.final().items()]
        self._write(f"epoch {epoch}/{self.epochs}  " + "  ".join(parts), force=True)

    def close(self):
        if self.wrote:
            self.stream.write("\n")
            self.stream.flush()


# --8<-- [start:train_step]
def train_step(model, x, y, *, optimizer, loss_fn=softmax_cross_entropy, clip_norm=None):
    r"""One optimisation step on the mini-batch ``(x, y)``; the heart of :func:`fit`.

    Zero the gradients, forward, loss, backward, optionally clip the global
    gradient norm to ``clip_norm``, step. If the loss or a gradient is NaN or
    infinite, or a layer rejects a NaN/inf activation (an overflow upstream),
    the step is **not** taken and the returned loss is NaN or infinite.
    The model's mode is used as it is (:func:`fit` sets training mode).

    Returns
    -------
    loss : float
    output : ndarray or None
        The model's output (None if the forward failed).
    grad_norm : float or None
        The global gradient norm before clipping (only with ``clip_norm``).

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> from litnet.optim import SGD
    >>> model = ln.Linear(1, 1, rng=np.random.default_rng(0), dtype=np.float64)
    >>> model.weight.data[...] = 3.0
    >>> x, y = np.array([[1.0]]), np.array([[1.0]])
    >>> loss, _, norm = train_step(model, x, y, optimizer=SGD(model.parameters(), lr=0.1),
    ...                            loss_fn=ln.mse_loss, clip_norm=1.0)
    >>> loss, round(norm, 4), model.weight.data.round(4).tolist()   # dL/dw = dL/db = 4
    (4.0, 5.6569, [[2.9293]])
    """
    params = optimizer.params                  # what this step updates (and clips)
    optimizer.zero_grad()
    out, norm = None, None
    try:
        with np.errstate(over="ignore", invalid="ignore"):   # reported through the loss
            out = model(x)
            loss, grad = loss_fn(out, y)
            if math.isfinite(loss):
                run_backward(model, grad, input_grad=False)   # fills .grad; no dL/dx
                if clip_norm is not None:
                    norm = float(clip_grad_norm_(params, clip_norm))
    except ValueError as err:
        if not _is_nonfinite_error(err):
            raise
        return math.nan, out, norm
    if not (math.isfinite(loss) and _grads_finite(params)):
        return (loss if not math.isfinite(loss) else math.nan), out, norm
    optimizer.step()
    return float(loss), out, norm
# --8<-- [end:train_step]


def fit(model, x_train, y_train, *, optimizer, epochs, batch_size, rng,
        loss_fn=softmax_cross_entropy, x_val=None, y_val=None, callbacks=(),
        clip_norm=None, drop_last=False, eval_train=True, eval_batch_size=1000,
        progress=None):
    r"""Train ``model`` with mini-batch gradient descent and return its :class:`History`.

    Each epoch shuffles the training set with ``rng.permutation`` and walks
    through it in mini-batches of ``batch_size``: zero the gradients, forward,
    loss, backward, optionally clip the global gradient norm, optimizer step.
    At the end of each epoch the model is evaluated (evaluation mode, in
    chunks, :func:`evaluate`) on the training set and on the validation set.

    Parameters
    ----------
    model : Module
        Trained in training mode; every module's mode is restored at the end.
    x_train : ndarray, (N, ...)
    y_train : ndarray, (N,) labels or (N, C) targets, as ``loss_fn`` expects
    optimizer
        Anything with ``zero_grad()`` and ``step()`` over the model's
        parameters, e.g. ``litnet.optim.SGD(model.parameters(), lr=0.1)``.
    epochs : int
        Number of passes over the training set (0 returns an empty History).
    batch_size : int
        Samples per mini-batch. When ``batch_size`` does not divide N the last
        mini-batch of each epoch is smaller (N mod batch_size samples), as in
        PyTorch's ``DataLoader``; ``drop_last=True`` skips it instead. (A last
        batch of one sample is an error for BatchNorm in training mode: use
        ``drop_last`` then.)
    rng : numpy.random.Generator
        The only source of randomness of the loop (the order of the samples).
        The same seed gives bit-identical histories.
    loss_fn : callable
        ``loss_fn(output, target) -> (loss, dloss/doutput)``; mean reduction.
    x_val, y_val : ndarray, optional
        Validation set, evaluated after every epoch.
    callbacks : sequence
        Objects with any of ``on_train_begin(model, history)``,
        ``on_batch_end(epoch, batch, model, loss)``,
        ``on_epoch_end(epoch, model, history)``, ``on_train_end(model, history)``;
        a plain function is used as ``on_epoch_end``. ``epoch`` counts from 1
        (the number of completed epochs at ``on_epoch_end``), ``batch`` from 0.
        :class:`litnet.diagnostics.Probe` is such a callback.
    clip_norm : float, optional
        Rescale the gradients so that their global L2 norm is at most
        ``clip_norm`` (:func:`litnet.clip.clip_grad_norm_`) before each step;
        the norms before clipping go to ``history.grad_norm``.
    drop_last : bool
        Skip the last, smaller mini-batch of each epoch.
    eval_train : bool
        Evaluate the whole training set after each epoch (default); if False,
        ``train_loss`` / ``train_acc`` are averages over the epoch's
        mini-batches (cheaper, but measured while the weights moved and in
        training mode, e.g. with dropout active).
    eval_batch_size : int
        Chunk size for evaluation.
    progress : bool or None
        ``None`` (default): a progress line on stderr only when stderr is a
        terminal, not inside a doctest, and after the run has lasted a second;
        ``True`` / ``False`` force it on / off.

    Returns
    -------
    History
        If the loss or a gradient becomes NaN or infinite (or a layer rejects
        a NaN/inf activation), training stops without taking that step:
        ``history.diverged`` is the epoch (from 1), that epoch's entries are
        NaN (the training loss keeps the infinite value if there was one), and
        ``on_epoch_end`` is not called for it. Nothing is raised, so an
        experiment can show divergence (R12).

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((60, 2)).astype(np.float32)
    >>> y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    >>> model = ln.Sequential(ln.Linear(2, 8, rng=rng), ln.ReLU(), ln.Linear(8, 2, rng=rng))
    >>> from litnet.optim import SGD
    >>> opt = SGD(model.parameters(), lr=0.5)
    >>> h = ln.fit(model, x, y, optimizer=opt, epochs=5, batch_size=16, rng=rng)
    >>> len(h), len(h.batch_loss)       # 60 samples: batches of 16, 16, 16, 12
    (5, 20)
    >>> h.train_acc[-1] > 0.9, h.diverged
    (True, None)
    """
    if not isinstance(model, Module):
        raise TypeError(f"fit: model must be a litnet Module, got {type(model).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("fit: rng must be a numpy.random.Generator "
                        "(np.random.default_rng(seed)); litnet never uses a global random state")
    for name in ("zero_grad", "step"):
        if not callable(getattr(optimizer, name, None)):
            raise TypeError(f"fit: optimizer must have {name}(), got {type(optimizer).__name__}")
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
    _check_batch_size("fit", batch_size)
    _check_batch_size("fit (eval_batch_size)", eval_batch_size)
    n = len(x_train)
    if len(y_train) != n:
        raise ValueError(f"fit: x_train has {n} samples but y_train has {len(y_train)}")
    if (x_val is None) != (y_val is None):
        raise ValueError("fit: pass both x_val and y_val, or neither")
    if x_val is not None and len(x_val) != len(y_val):
        raise ValueError(f"fit: x_val has {len(x_val)} samples but y_val has {len(y_val)}")
    n_batches = n // batch_size if drop_last else math.ceil(n / batch_size)
    if n_batches == 0:
        raise ValueError(f"fit: no mini-batch: {n} training samples, batch_size={batch_size}, "
                         f"drop_last={drop_last}")
    hooks = _callbacks(callbacks)
    history = History()
    bar = _Progress(progress, epochs)
    modes = [(m, m.training) for m in model.modules()]
    for cb in hooks["on_train_begin"]:
        cb(model, history)
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            order = rng.permutation(n)
            seen, loss_sum, correct = 0, 0.0, 0.0
            for b in range(n_batches):
                idx = order[b * batch_size:(b + 1) * batch_size]
                xb, yb = x_train[idx], y_train[idx]
                loss, out, norm = train_step(model, xb, yb, optimizer=optimizer,
                                             loss_fn=loss_fn, clip_norm=clip_norm)
                if norm is not None:
                    history.grad_norm.append(norm)
                if not math.isfinite(loss):
                    history.diverged = epoch          # the step was not taken
                    break
                history.batch_loss.append(float(loss))
                seen += len(idx)
                loss_sum += float(loss) * len(idx)
                if not eval_train:
                    correct += accuracy(out, yb) * len(idx)
                for cb in hooks["on_batch_end"]:
                    cb(epoch, b, model, float(loss))
                bar.batch(epoch, b, n_batches, float(loss))
            if history.diverged is not None:
                history.batch_loss.append(float(loss))
                bad = loss if math.isinf(loss) else math.nan
                history.append(train_loss=bad, train_acc=math.nan)
                if x_val is not None:
                    history.append(val_loss=math.nan, val_acc=math.nan)
                break
            if eval_train:
                tl, ta = evaluate(model, x_train, y_train, loss_fn, eval_batch_size)
            else:
                tl, ta = loss_sum / seen, correct / seen
            history.append(train_loss=tl, train_acc=ta)
            if x_val is not None:
                vl, va = evaluate(model, x_val, y_val, loss_fn, eval_batch_size)
                history.append(val_loss=vl, val_acc=va)
            for cb in hooks["on_epoch_end"]:
                cb(epoch, model, history)
            bar.epoch(epoch, history)
    finally:
        for m, was_training in modes:
            m.training = was_training
        bar.close()
    for cb in hooks["on_train_end"]:
        cb(model, history)
    return history
