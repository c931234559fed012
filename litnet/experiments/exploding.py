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
from functools import lru_cache, partial

import numpy as np

from .. import init as _init
from ..activations import ReLU
from ..cache import shared
from ..data import load_digits
from ..diagnostics import gradient_norms
from ..linear import Linear
from ..module import Sequential
from ..optim import SGD
from ..training import evaluate, fit
from .claim import Claim

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


@lru_cache(maxsize=2)
def _digits(seed):
    return load_digits(rng=np.random.default_rng(seed))     # float32, 1500 / 297


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
    layers, n = [], 64
    for _ in range(depth):
        layers += [Linear(n, width, init=INITS[init], rng=rng, dtype=dtype), ReLU()]
        n = width
    return Sequential(*layers, Linear(n, N_CLASSES, init=INITS[init], rng=rng, dtype=dtype))
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
    x, y = _digits(seed)[:2]
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


# --8<-- [start:runs]
@shared
def training_runs(seed=0, epochs=EPOCHS):
    """Train the network of each of :data:`RUNS` from the same seed; ``{key: Run}``.

    Examples
    --------
    >>> runs = training_runs()
    >>> runs["no_clip"].diverged, runs["clip"].diverged
    (1, None)
    """
    x, y, x_test, y_test = _digits(seed)
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


def claims():
    """The R12 claims (see /work/shared/REPRODUCTIONS.md)."""
    g = gradient_growth()
    growth = float((g[0] / g[-1]) ** (1 / DEPTH))
    expected = np.sqrt(WIDTH / 2)
    runs = training_runs()
    plain, clipped, he = runs["no_clip"], runs["clip"], runs["he"]
    first_step = LR * clipped.grad_norm[0]        # what an unclipped first step would be
    finite = bool(np.all(np.isfinite(clipped.batch_loss)))
    return [
        Claim("R12.gradient_grows",
              "std-1 ReLU stack at initialisation: the gradient grows toward the input by "
              "≈ √(n/2) ≈ 7.1 per layer (within 25 %)",
              "the exploding gradient: factors larger than one",
              f"×{growth:.2f} per layer; ‖∂L/∂x‖ / ‖∂L/∂h₅‖ = {g[0] / g[-1]:.1e}",
              abs(growth / expected - 1) < 0.25),
        Claim("R12.no_clip_diverges",
              "without clipping, SGD (lr 0.1) meets a NaN or infinite loss or gradient within "
              "the first epoch; the first step alone is ≥ 10× longer than the whole weight "
              "vector",
              "exploding gradients make training fail",
              f"diverged in epoch {plain.diverged} after {len(plain.batch_loss) - 1} steps "
              f"(losses {', '.join(f'{v:.2g}' for v in plain.batch_loss)}); first step "
              f"{first_step:.1e} vs ‖θ‖ = {plain.param_norm:.0f}",
              plain.diverged == 1 and first_step >= 10 * plain.param_norm),
        Claim("R12.clip_trains",
              "with clip_norm = 1 every loss stays finite, the training loss falls below 1/5 of "
              "its initial value and the test accuracy reaches ≥ 50 % (chance: 10 %)",
              "gradient clipping fixes exploding gradients",
              f"train loss {clipped.train_loss[0]:.2g} → {clipped.train_loss[-1]:.2g}; "
              f"test accuracy {100 * clipped.val_acc[0]:.0f} % → "
              f"{100 * clipped.val_acc[-1]:.0f} %; gradient norms before clipping "
              f"{min(clipped.grad_norm):.1e}–{max(clipped.grad_norm):.1e}",
              clipped.diverged is None and finite
              and clipped.train_loss[-1] < clipped.train_loss[0] / 5
              and clipped.val_acc[-1] >= 0.5),
        Claim("R12.he_reference",
              "the same network with He initialisation trains without clipping (test accuracy "
              "≥ 85 %): clipping bounds the steps, the initialisation removes the cause",
              "(beyond the note: chapter 2)",
              f"test accuracy {100 * he.val_acc[-1]:.1f} %, train loss "
              f"{he.train_loss[0]:.2f} → {he.train_loss[-1]:.3f}",
              he.diverged is None and he.val_acc[-1] >= 0.85),
    ]
