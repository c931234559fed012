r"""R12 — exploding gradients, and gradient clipping.

Note 003 ends with the mirror image of the vanishing gradient: when the
factors multiplied by the chain rule are larger than one, the gradient grows
on its way back, and its answer to that is gradient clipping. The setting:

* the digits (:func:`litnet.data.load_digits`: 1,500 training and 297 test
  images of 64 pixels in [0, 1]), float32;
* ``64 → 100 → 100 → 100 → 100 → 100 → 10``: five hidden ReLU layers, every
  weight drawn from :math:`\mathcal N(0, 1)` ("std 1", the first
  initialisation of chapter 2's histograms), zero biases;
* SGD with learning rate 0.1, mini-batches of 100, 10 epochs, the same
  mini-batch order in every run.

With standard deviation 1 and :math:`n = 100` inputs, a ReLU layer multiplies
the size of the signal by about :math:`\sqrt{n/2} \approx 7.1`, going forward
and going backward alike (half the units pass, each sums :math:`n` terms of
variance 1), so the gradient reaching the input is about :math:`7^5` times the
one leaving the head. :func:`gradient_growth` measures it.

Three runs (:func:`training_runs`): plain SGD; SGD with the global gradient
norm clipped to 1 (``fit(..., clip_norm=1.0)``, i.e.
:func:`litnet.clip.clip_grad_norm_` before every step); and, as a reference,
the same network with He initialisation and no clipping, which removes the
cause instead of bounding the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from .. import init as _init
from ..activations import ReLU
from ..cache import shared
from ..clip import clip_grad_norm_
from ..diagnostics import gradient_norms
from ..linear import Linear
from ..losses import mse_loss
from ..lstm import LSTM
from ..optim import SGD
from ..training import evaluate, fit
from . import plotting
from .claim import also, at_least, at_most, within
from .common import digits, mlp

DEPTH, WIDTH, N_CLASSES = 5, 100, 10
LR, BATCH, EPOCHS, CLIP = 0.1, 100, 10, 1.0

#: weight initialisation key -> initialiser
INITS = {"std1": partial(_init.normal, std=1.0), "he": _init.he_normal}

#: run key -> (label, initialisation key, clip_norm)
RUNS = {
    "no_clip": ("std 1, no clipping", "std1", None),
    "clip": (f"std 1, clip_norm = {CLIP:g}", "std1", CLIP),
    "he": ("He init, no clipping", "he", None),
}


# --8<-- [start:build]
def build(init="std1", *, rng, depth=DEPTH, width=WIDTH, dtype=np.float32):
    """``64 → width (× depth, ReLU) → 10`` with the weights of :data:`INITS`, zero biases.

    Examples
    --------
    >>> net = build(rng=np.random.default_rng(0), depth=2)
    >>> [type(m).__name__ for m in net], round(float(net[0].weight.data.std()), 1)
    (['Linear', 'ReLU', 'Linear', 'ReLU', 'Linear'], 1.0)
    """
    if init not in INITS:
        raise ValueError(f"exploding.build: init must be one of {list(INITS)}, got {init!r}")
    return mlp((64,) + (width,) * depth + (N_CLASSES,), ReLU, rng=rng, init=INITS[init],
               dtype=dtype)
# --8<-- [end:build]


@shared
def gradient_growth(seed=0):
    r"""``norms[k]`` = :math:`\lVert \partial L/\partial h_k \rVert` at every ``Linear``'s
    input (``k = 0``: the images) for the std-1 network at initialisation, on the
    training digits, in float64 (read-only array of length ``DEPTH + 1``).

    Examples
    --------
    >>> g = gradient_growth()
    >>> g.shape, bool(g[0] > 1000 * g[-1])          # grows toward the input
    ((6,), True)
    """
    x, y = digits(seed)[:2]
    model = build("std1", rng=np.random.default_rng(seed), dtype=np.float64)
    norms = gradient_norms(model, x.astype(np.float64), y, layers=Linear)
    norms.setflags(write=False)
    return norms


@dataclass(frozen=True)
class Run:
    """One training run of :func:`training_runs`.

    ``train_loss``, ``val_acc``: from epoch 0 (before training) to the last epoch
    reached; ``batch_loss``: every mini-batch's loss (the last one NaN or
    infinite when training diverged); ``grad_norm``: the global gradient norm of
    every mini-batch before clipping (clipped run only); ``diverged``: the epoch
    in which training stopped (:attr:`litnet.History.diverged`), or None;
    ``param_norm``: the global norm of all weights and biases at initialisation.
    """

    label: str
    train_loss: tuple
    val_acc: tuple
    batch_loss: tuple
    grad_norm: tuple
    diverged: int | None
    param_norm: float


@shared
# --8<-- [start:runs]
def training_runs(seed=0, epochs=EPOCHS):
    """Train the network of each of :data:`RUNS` from the same seed; ``{key: Run}``.

    Examples
    --------
    >>> runs = training_runs()
    >>> runs["no_clip"].diverged, runs["clip"].diverged
    (1, None)
    """
    x, y, x_test, y_test = digits(seed)
    out = {}
    for key, (label, init, clip) in RUNS.items():
        model = build(init, rng=np.random.default_rng(seed))
        param_norm = float(np.sqrt(sum(np.sum(p.data.astype(np.float64) ** 2)
                                       for p in model.parameters())))
        loss0, _ = evaluate(model, x, y)
        _, acc0 = evaluate(model, x_test, y_test)
        h = fit(model, x, y, optimizer=SGD(model.parameters(), lr=LR), epochs=epochs,
                batch_size=BATCH, rng=np.random.default_rng([seed, 1]),
                clip_norm=clip, x_val=x_test, y_val=y_test)
        out[key] = Run(label, (loss0, *h.train_loss), (acc0, *h.val_acc),
                       tuple(h.batch_loss), tuple(h.grad_norm), h.diverged, param_norm)
    return out
# --8<-- [end:runs]


# -- the same on an LSTM -----------------------------------------------------------------

LSTM_T, LSTM_INPUT, LSTM_HIDDEN, LSTM_BATCH = 50, 4, 32, 32
LSTM_SCALE, LSTM_LR, LSTM_STEPS = 16.0, 0.5, 30


def build_lstm(*, rng):
    """An LSTM whose recurrent weights are :data:`LSTM_SCALE` times PyTorch's, and a
    ``Linear(H, 1)`` head reading its last output (float64).

    Examples
    --------
    >>> lstm, head = build_lstm(rng=np.random.default_rng(0))
    >>> bound = LSTM_SCALE / np.sqrt(LSTM_HIDDEN)
    >>> bool(np.abs(lstm.weight_hh_l0.data).max() <= bound), head.weight.shape
    (True, (1, 32))
    """
    lstm = LSTM(LSTM_INPUT, LSTM_HIDDEN, rng=rng, dtype=np.float64)
    lstm.weight_hh_l0.data *= LSTM_SCALE
    return lstm, Linear(LSTM_HIDDEN, 1, rng=rng, dtype=np.float64)


# --8<-- [start:lstm_step]
def lstm_step(lstm, head, x, y, optimizer, clip_norm=None):
    """One SGD step on the mean squared error of ``head(h_T)``; returns (loss, grad norm)."""
    optimizer.zero_grad()
    out = lstm(x)                                # (N, T, H)
    loss, grad = mse_loss(head(out[:, -1]), y)
    grad_out = np.zeros_like(out)
    grad_out[:, -1] = head.backward(grad)        # the loss reads the last step only
    lstm.backward(grad_out)
    params = lstm.parameters() + head.parameters()
    norm = clip_grad_norm_(params, np.inf if clip_norm is None else clip_norm)
    if np.isfinite(loss) and np.isfinite(norm):
        optimizer.step()
    return loss, float(norm)
# --8<-- [end:lstm_step]


@shared
def lstm_runs(seed=0, steps=LSTM_STEPS):
    """Train :func:`build_lstm` to recall the first input of a sequence of :data:`LSTM_T`
    steps, without clipping and with ``clip_norm`` = :data:`CLIP`; ``{key: {"loss",
    "grad_norm"}}`` per step (a run stops at its first non-finite loss or gradient).

    Examples
    --------
    >>> r = lstm_runs()
    >>> sorted(r), bool(np.all(np.isfinite(r["clip"]["loss"])))
    (['clip', 'no_clip'], True)
    """
    out = {}
    for key, clip in (("no_clip", None), ("clip", CLIP)):
        lstm, head = build_lstm(rng=np.random.default_rng(seed))
        optimizer = SGD(list(lstm.parameters()) + list(head.parameters()), lr=LSTM_LR)
        data = np.random.default_rng([seed, 1])          # the same batches in both runs
        losses, norms = [], []
        for _ in range(steps):
            x = data.standard_normal((LSTM_BATCH, LSTM_T, LSTM_INPUT))
            loss, norm = lstm_step(lstm, head, x, x[:, 0, :1], optimizer, clip)
            losses.append(loss)
            norms.append(norm)
            if not (np.isfinite(loss) and np.isfinite(norm)):
                break
        out[key] = {"loss": np.array(losses), "grad_norm": np.array(norms)}
    return out


# -- figures ---------------------------------------------------------------------------

@plotting.styled
def plot_clipping(seed=0, epochs=EPOCHS):
    """Figure: every mini-batch's training loss of the three :func:`training_runs` (log
    scale; a cross where the unclipped run stopped), and the clipped run's gradient norm."""
    runs = training_runs(seed, epochs)
    fig, axes = plotting.figure(1, 2, width=8.0)
    for run in runs.values():
        loss = np.array(run.batch_loss, dtype=np.float64)
        ok = np.isfinite(loss)
        line, = axes[0].semilogy(np.arange(1, loss.size + 1)[ok], loss[ok], label=run.label)
        if not ok.all():
            axes[0].plot(ok.sum(), loss[ok][-1], "x", ms=9, mew=2, color=line.get_color())
    axes[0].set(xlabel="mini-batch", ylabel="training loss")
    axes[0].legend(fontsize=7)
    clipped = runs["clip"]
    axes[1].semilogy(np.arange(1, len(clipped.grad_norm) + 1), clipped.grad_norm,
                     label="norm before clipping")
    axes[1].axhline(CLIP, color="0.4", ls=":", label="clip_norm")
    axes[1].set(xlabel="mini-batch", title="clipped run: gradient norm")
    axes[1].legend(fontsize=7)
    return fig


@plotting.styled
def plot_lstm_clipping(seed=0):
    """Figure: the LSTM's training loss and gradient norm per step, with and without clipping."""
    runs = lstm_runs(seed)
    fig, axes = plotting.figure(1, 2, width=8.0)
    for key, label in (("no_clip", "no clipping"), ("clip", f"clip_norm = {CLIP:g}")):
        r = runs[key]
        for ax, values in zip(axes, (r["loss"], r["grad_norm"]), strict=True):
            values = np.where(np.isfinite(values), values, np.nan)
            ax.semilogy(np.arange(1, values.size + 1), values, "o-", ms=3, label=label)
    axes[0].set(xlabel="step", ylabel="training loss (MSE)")
    axes[1].set(xlabel="step", title="gradient norm (before clipping)")
    axes[0].legend(fontsize=7)
    return fig


def claims():
    """The R12 claims, each with its bound written once (the reproductions page lists them)."""
    return _mlp_claims() + _lstm_claims()


def _mlp_claims():
    """R12's claims on the std-1 ReLU network, with and without clipping."""
    g = gradient_growth()
    growth = float((g[0] / g[-1]) ** (1 / DEPTH))
    expected = np.sqrt(WIDTH / 2)
    runs = training_runs()
    plain, clipped, he = runs["no_clip"], runs["clip"], runs["he"]
    first_step = LR * clipped.grad_norm[0]        # what an unclipped first step would be
    finite = bool(np.all(np.isfinite(clipped.batch_loss)))
    return [
        also(within(
            "R12.gradient_grows",
            "std-1 ReLU stack at initialisation: the gradient grows toward the input by "
            "≈ √(n/2) ≈ 7.1 per layer (within {bound})",
            growth / expected - 1, 0.25, note="the exploding gradient: factors larger than one",
            fmt=".0%"),
            measured=f"×{growth:.2f} per layer; ‖∂L/∂x‖ / ‖∂L/∂h₅‖ = {g[0] / g[-1]:.1e}"),
        also(at_least(
            "R12.no_clip_diverges",
            "without clipping, SGD (lr 0.1) meets a NaN or infinite loss or gradient within "
            "the first epoch; the first step alone is ≥ {bound}× longer than the whole weight "
            "vector",
            first_step / plain.param_norm, 10, note="exploding gradients make training fail",
            fmt="g"),
            plain.diverged == 1,
            f"diverged in epoch {plain.diverged} after {len(plain.batch_loss) - 1} steps "
            f"(losses {', '.join(f'{v:.2g}' for v in plain.batch_loss)}); first step "
            f"{first_step:.1e} vs ‖θ‖ = {plain.param_norm:.0f}"),
        also(at_least(
            "R12.clip_trains",
            "with clip_norm = 1 every loss stays finite, the training loss falls below 1/5 of "
            "its initial value and the test accuracy reaches ≥ {bound} (chance: 10%)",
            clipped.val_acc[-1], 0.5, note="gradient clipping fixes exploding gradients",
            fmt=".0%"),
            clipped.diverged is None and finite
            and clipped.train_loss[-1] < clipped.train_loss[0] / 5,
            f"train loss {clipped.train_loss[0]:.2g} → {clipped.train_loss[-1]:.2g}; "
            f"test accuracy {100 * clipped.val_acc[0]:.0f}% → "
            f"{100 * clipped.val_acc[-1]:.0f}%; gradient norms before clipping "
            f"{min(clipped.grad_norm):.1e}–{max(clipped.grad_norm):.1e}"),
        also(at_least(
            "R12.he_reference",
            "the same network with He initialisation trains without clipping (test accuracy "
            "≥ {bound}): clipping bounds the steps, the initialisation removes the cause",
            he.val_acc[-1], 0.85, note="(beyond the note: chapter 2)", fmt=".0%"),
            he.diverged is None,
            f"test accuracy {100 * he.val_acc[-1]:.1f}%, train loss "
            f"{he.train_loss[0]:.2f} → {he.train_loss[-1]:.3f}"),
    ]


def _lstm_claims():
    """R12's claims on the LSTM, with and without clipping."""
    lstm = lstm_runs()
    lstm_growth = float(lstm["no_clip"]["loss"][-1] / lstm["no_clip"]["loss"][0])
    lstm_clipped = lstm["clip"]["loss"]
    return [
        also(at_least(
            "R12.lstm_explodes",
            f"an LSTM with {LSTM_SCALE:g}× PyTorch's recurrent weights, SGD (lr {LSTM_LR:g}) "
            f"without clipping: the loss grows at least {{bound}}-fold in {LSTM_STEPS} steps",
            lstm_growth, 1e6, note="LSTMs explode too: clipping is standard for them",
            fmt="x10"),
            measured=f"loss {lstm['no_clip']['loss'][0]:.2f} → "
                     f"{lstm['no_clip']['loss'][-1]:.1e}; largest gradient norm "
                     f"{lstm['no_clip']['grad_norm'].max():.1e}"),
        also(at_most(
            "R12.lstm_clip_bounded",
            f"the same LSTM with clip_norm = {CLIP:g}: every loss stays finite and at most "
            "{bound}× the initial loss",
            float(np.max(lstm_clipped) / lstm_clipped[0]), 3, note="gradient clipping",
            fmt="g"),
            bool(np.all(np.isfinite(lstm_clipped))) and lstm_clipped.size == LSTM_STEPS,
            f"loss {lstm_clipped[0]:.2f} → {lstm_clipped[-1]:.2f} (largest "
            f"{lstm_clipped.max():.2f}); gradient norms before clipping up to "
            f"{lstm['clip']['grad_norm'].max():.1e}"),
    ]
