r"""The training loop: mini-batches, epochs, evaluation and a :class:`History`.

One step of :func:`fit` is the four lines every chapter relies on::

    optimizer.zero_grad()             # forget the previous batch's gradients
    loss, g = loss_fn(model(xb), yb)  # forward, and dL/d(output)
    model.backward(g)                 # every parameter's .grad (and the hooks)
    optimizer.step()                  # move the parameters

repeated over mini-batches drawn in a random order from the injected ``rng``
(:func:`train_step`). Everything around it is bookkeeping in small pieces:
checking the arguments, one epoch, the evaluation at its end
(:mod:`litnet.evaluation`), the :class:`History` and the callbacks. A loss or
gradient that has become NaN or infinite has one signal, :class:`Diverged`,
caught in one place in :func:`fit`.
"""

from __future__ import annotations

import math
import sys
import time
from functools import partial

import numpy as np

from ._checks import NonFiniteError, check_int, check_parameters, check_rng
from .clip import clip_grad_norm_
from .evaluation import accuracy, eval_mode, evaluate, predict, restored_modes
from .losses import softmax_cross_entropy
from .module import Module
from .table import Table

# accuracy, eval_mode, evaluate and predict live in litnet.evaluation; they stay importable
# from here, where the chapters and experiments have always found them.
__all__ = ["Diverged", "History", "accuracy", "eval_mode", "evaluate", "fit", "predict",
           "train_step"]


class Diverged(NonFiniteError):
    """Training has diverged: a loss or a gradient is NaN or infinite.

    :func:`train_step` raises it instead of taking the step (also when a layer
    rejects a NaN/inf activation, which is an overflow upstream); :func:`fit`
    raises it after an epoch whose training loss is not finite, and catches
    every one of them in one place to record :attr:`History.diverged`.

    Attributes
    ----------
    loss : float
        The non-finite loss (NaN when no loss could be computed).
    grad_norm : float or None
        The gradient norm before clipping, if the step got that far with ``clip_norm``.
    in_step : bool
        True if raised by :func:`train_step` (``loss`` is a mini-batch's), False
        if by the end-of-epoch evaluation.
    """

    def __init__(self, message, *, loss=math.nan, grad_norm=None, in_step=True):
        super().__init__(message)
        self.loss, self.grad_norm, self.in_step = float(loss), grad_norm, in_step


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
        The epoch (counted from 1) in which training raised :class:`Diverged`:
        a mini-batch's loss or gradients, or the training loss at the end of
        the epoch, became NaN or infinite; ``None`` if training finished
        normally. That epoch's entries are NaN (or the infinite loss) and
        training stopped there.

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
        """The per-epoch values as a :class:`litnet.table.Table`."""
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
def train_step(model, x, y, *, optimizer, loss_fn=softmax_cross_entropy, clip_norm=None,
               params=None):
    r"""One optimisation step on the mini-batch ``(x, y)``; the heart of :func:`fit`.

    Zero the gradients, forward, loss, backward, optionally clip the global
    gradient norm of ``params`` to ``clip_norm``, step. Only
    ``optimizer.zero_grad()`` and ``optimizer.step()`` are used (the contract
    of :func:`fit`). If the loss or a gradient is NaN or infinite, or a layer
    rejects a NaN/inf activation (an overflow upstream), the step is **not**
    taken and :class:`Diverged` is raised. The model's mode is used as it is
    (:func:`fit` sets training mode).

    ``params`` are the parameters whose gradients are checked and clipped:
    ``model.parameters()`` by default, a walk of the model on every call;
    :func:`fit` walks it once and passes the list (the walk is a few per cent
    of a step on small batches).

    Returns
    -------
    loss : float
    output : ndarray
        The model's output.
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
    params = (model.parameters() if params is None
              else check_parameters("train_step", params, allow_empty=True))
    optimizer.zero_grad()
    norm = None
    try:
        with np.errstate(over="ignore", invalid="ignore"):   # reported as Diverged
            out = model(x)
            loss, grad = loss_fn(out, y)
            if math.isfinite(loss):
                model.backward(grad, input_grad=False)        # fills .grad; no dL/dx
                if clip_norm is not None:
                    norm = float(clip_grad_norm_(params, clip_norm))
    except NonFiniteError as err:           # a layer rejected the NaN/inf of an overflow
        raise Diverged(f"train_step: {err}") from err
    if not math.isfinite(loss):
        raise Diverged(f"train_step: the loss is {loss}", loss=loss)
    if not all(np.isfinite(p.grad).all() for p in params):
        raise Diverged("train_step: a gradient is NaN or infinite", grad_norm=norm)
    optimizer.step()
    return float(loss), out, norm
# --8<-- [end:train_step]


def _check_fit(model, optimizer, rng, epochs):
    if not isinstance(model, Module):
        raise TypeError(f"fit: model must be a litnet Module, got {type(model).__name__}")
    check_rng("fit", rng)
    for name in ("zero_grad", "step"):
        if not callable(getattr(optimizer, name, None)):
            raise TypeError(f"fit: optimizer must have {name}(), got {type(optimizer).__name__}")
    check_int("fit", "epochs", epochs, minimum=0)


def _count_batches(x_train, y_train, x_val, y_val, batch_size, drop_last):
    """The number of mini-batches per epoch, after checking the data against each other."""
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
    return n_batches


def _train_epoch(epoch, step, x, y, batches, history, on_batch_end, with_acc):
    """One pass over ``batches`` (index arrays) with ``step`` (a :func:`train_step`);
    returns the sample-weighted mean loss and (if ``with_acc``) accuracy."""
    seen, loss_sum, correct = 0, 0.0, 0.0
    for b, idx in enumerate(batches):
        xb, yb = x[idx], y[idx]
        xb.flags.writeable = False     # fit's own copy: the first layer keeps it uncopied
        loss, out, norm = step(xb, yb)
        if norm is not None:
            history.grad_norm.append(norm)
        history.batch_loss.append(loss)
        seen += len(idx)
        loss_sum += loss * len(idx)
        if with_acc:
            correct += accuracy(out, yb) * len(idx)
        on_batch_end(epoch, b, loss)
    return loss_sum / seen, correct / seen


def _evaluate_epoch(evaluate_on, train, val, batch_means):
    """The epoch's entries of the :class:`History`: the training set's loss and accuracy
    (``batch_means`` if given), and the validation set's if there is one. Raises
    :class:`Diverged` if the training loss is not finite."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):   # reported as Diverged
            tl, ta = batch_means if batch_means is not None else evaluate_on(*train)
            values = {"train_loss": tl, "train_acc": ta}
            if val is not None:
                values["val_loss"], values["val_acc"] = evaluate_on(*val)
    except NonFiniteError as err:           # a layer rejected the NaN/inf of an overflow
        raise Diverged(f"fit: end-of-epoch evaluation: {err}", in_step=False) from err
    if not math.isfinite(tl):
        raise Diverged(f"fit: the training loss is {tl}", loss=tl, in_step=False)
    return values


def _record_divergence(history, epoch, err, with_val):
    """Close the History at ``epoch``, in which training diverged (``err``)."""
    if err.in_step:                         # the step was not taken, its loss is still shown
        if err.grad_norm is not None:
            history.grad_norm.append(err.grad_norm)
        history.batch_loss.append(err.loss)
    history.diverged = epoch
    history.append(train_loss=err.loss if math.isinf(err.loss) else math.nan,
                   train_acc=math.nan)
    if with_val:
        history.append(val_loss=math.nan, val_acc=math.nan)


def _shuffled_batches(rng, n, batch_size, n_batches):
    order = rng.permutation(n)
    return [order[b * batch_size:(b + 1) * batch_size] for b in range(n_batches)]


def fit(model, x_train, y_train, *, optimizer, epochs, batch_size, rng,
        loss_fn=softmax_cross_entropy, x_val=None, y_val=None, callbacks=(),
        clip_norm=None, drop_last=False, eval_train=True, eval_batch_size=1000,
        progress=None):
    r"""Train ``model`` with mini-batch gradient descent and return its :class:`History`.

    Each epoch shuffles the training set with ``rng.permutation`` and walks
    through it in mini-batches of ``batch_size``, one :func:`train_step` each.
    At the end of each epoch the model is evaluated (evaluation mode, in
    chunks, :func:`evaluate`) on the training set and on the validation set.

    Parameters
    ----------
    model : Module
        Trained in training mode; every module's mode is restored at the end.
    x_train : ndarray, (N, ...)
    y_train : ndarray, (N,) labels or (N, C) targets, as ``loss_fn`` expects
    optimizer
        The optimizer contract: any object with ``zero_grad()`` (reset the
        gradients it updates) and ``step()`` (update its parameters from their
        ``.grad``), over the model's parameters; nothing else is read. E.g.
        ``litnet.optim.SGD(model.parameters(), lr=0.1)``.
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
        Training stops at the first :class:`Diverged`: a mini-batch whose loss
        or gradients are NaN or infinite (that step is not taken), or an epoch
        whose training loss at the end is not finite. ``history.diverged`` is
        that epoch (from 1), its entries are NaN (the training loss keeps an
        infinite value if there was one), and ``on_epoch_end`` is not called
        for it. Nothing is raised, so an experiment can show divergence (R12).

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
    _check_fit(model, optimizer, rng, epochs)
    check_int("fit", "batch_size", batch_size)
    check_int("fit", "eval_batch_size", eval_batch_size)
    n_batches = _count_batches(x_train, y_train, x_val, y_val, batch_size, drop_last)
    hooks, history, bar = _callbacks(callbacks), History(), _Progress(progress, epochs)
    step = partial(train_step, model, optimizer=optimizer, loss_fn=loss_fn, clip_norm=clip_norm,
                   params=model.parameters())       # the model's structure is fixed here
    evaluate_on = partial(evaluate, model, loss_fn=loss_fn, batch_size=eval_batch_size)
    val = None if x_val is None else (x_val, y_val)

    def on_batch_end(epoch, b, loss):
        for cb in hooks["on_batch_end"]:
            cb(epoch, b, model, loss)
        bar.batch(epoch, b, n_batches, loss)

    for cb in hooks["on_train_begin"]:
        cb(model, history)
    with restored_modes(model):
        try:
            for epoch in range(1, epochs + 1):
                model.train()
                batches = _shuffled_batches(rng, len(x_train), batch_size, n_batches)
                try:
                    means = _train_epoch(epoch, step, x_train, y_train, batches, history,
                                         on_batch_end, with_acc=not eval_train)
                    history.append(**_evaluate_epoch(evaluate_on, (x_train, y_train), val,
                                                     None if eval_train else means))
                except Diverged as err:
                    _record_divergence(history, epoch, err, with_val=val is not None)
                    break
                for cb in hooks["on_epoch_end"]:
                    cb(epoch, model, history)
                bar.epoch(epoch, history)
        finally:
            bar.close()
    for cb in hooks["on_train_end"]:
        cb(model, history)
    return history
