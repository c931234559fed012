r"""R4 — batch normalization makes training far less sensitive to the initial weight scale.

The book's experiment (note 002; *Deep Learning from Scratch*, ch. 6): sixteen
weight scales :math:`w` from 1 down to :math:`10^{-4}` (``logspace(0, -4, 16)``),
the same standard deviation :math:`w` for every layer's weights, five hidden
layers of 100 units, SGD with learning rate 0.01, mini-batches of 100, 20
epochs on 1000 training samples, each network trained once with and once
without :class:`~litnet.BatchNorm1d` before every activation. Here the data
are the bundled 8×8 digits (the book used MNIST) and the accuracy is measured
on the 1000 training samples after every epoch, as in the book's figure. The
ReLU grid is the book's; a sigmoid grid is added.

Both networks of a pair start from the same weights (BatchNorm adds no random
parameters), so the only difference is the normalisation.
"""

from __future__ import annotations

from functools import cache, partial

import numpy as np

from .. import init
from ..activations import ReLU, Sigmoid
from ..batchnorm import BatchNorm1d
from ..cache import shared
from ..optim import SGD
from ..training import evaluate, fit
from . import plotting
from .claim import also, at_least
from .common import digits, mlp

SCALES = np.logspace(0, -4, 16)
N_TRAIN, HIDDEN, DEPTH = 1000, 100, 5
LR, BATCH, EPOCHS = 0.01, 100, 20
ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid}


# --8<-- [start:build]
def build(scale, batchnorm, activation="relu", *, rng, n_in=64, n_out=10):
    """Five hidden layers ``Linear -> [BatchNorm1d] -> activation``, then ``Linear``.

    Every weight is drawn from :math:`N(0, \\text{scale}^2)`; biases start at 0.

    Examples
    --------
    >>> import numpy as np
    >>> net = build(0.01, True, rng=np.random.default_rng(0))
    >>> [type(m).__name__ for m in net][:4], len(net)
    (['Linear', 'BatchNorm1d', 'ReLU', 'Linear'], 16)
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"bn_init_sensitivity: activation must be one of {list(ACTIVATIONS)}, "
                         f"got {activation!r}")
    weight_init = partial(init.normal, std=float(scale))
    norm = (lambda n, dtype: BatchNorm1d(n, dtype=dtype)) if batchnorm else None
    return mlp((n_in,) + (HIDDEN,) * DEPTH + (n_out,), ACTIVATIONS[activation], rng=rng,
               init=weight_init, norm=norm)
# --8<-- [end:build]


@cache
def training_set(seed=0):
    """The first 1000 training digits of a seeded shuffle: x (1000, 64) float32, y (1000,)."""
    x, y = digits(seed)[:2]
    return x[:N_TRAIN], y[:N_TRAIN]


# --8<-- [start:run]
def train_curve(model, x, y, lr, rng):
    """Train ``model`` with SGD for :data:`EPOCHS` epochs; the training accuracy after epochs
    0..EPOCHS (epoch 0: before training), NaN from the epoch where training diverged."""
    start = evaluate(model, x, y)[1]
    history = fit(model, x, y, optimizer=SGD(model.parameters(), lr=lr), epochs=EPOCHS,
                  batch_size=BATCH, rng=rng, progress=False)
    acc = np.full(EPOCHS + 1, np.nan)
    acc[0] = start
    acc[1:1 + len(history.train_acc)] = history.train_acc
    return acc


@shared
def curve(scale_index, batchnorm, activation="relu", seed=0):
    """Training accuracy after epochs 0..20 at weight scale ``SCALES[scale_index]``, a
    read-only array (NaN after a divergence, see :func:`litnet.fit`).

    Examples
    --------
    >>> acc = curve(8, batchnorm=True)
    >>> acc.shape, bool(acc[-1] > acc[0])
    ((21,), True)
    """
    x, y = training_set(seed)
    init_rng, order_rng = np.random.default_rng([seed, scale_index]).spawn(2)
    model = build(SCALES[scale_index], batchnorm, activation, rng=init_rng)
    return train_curve(model, x, y, LR, order_rng)
# --8<-- [end:run]


# -- note 002's first benefit: faster training, even at a learning rate the plain net fails

#: learning rates of :func:`lr_curve`; the network is He-initialised, so it trains without BN
LEARNING_RATES = (0.01, 0.1, 0.5, 1.0)
#: the epoch at which :func:`claims` compares the two networks' progress
EARLY = 5


@shared
# --8<-- [start:lr_curve]
def lr_curve(lr, batchnorm, seed=0):
    """Training accuracy after epochs 0..20 of the network of :func:`build` (ReLU) with He
    weights instead of a fixed scale, trained with learning rate ``lr``; with and without
    BN from the same weights and the same mini-batch order.

    Examples
    --------
    >>> lr_curve(0.1, True).shape
    (21,)
    """
    x, y = training_set(seed)
    init_rng, order_rng = np.random.default_rng([seed, 99]).spawn(2)
    norm = (lambda n, dtype: BatchNorm1d(n, dtype=dtype)) if batchnorm else None
    model = mlp((x.shape[1],) + (HIDDEN,) * DEPTH + (10,), ReLU, rng=init_rng,
                init=init.he_normal, norm=norm)
    return train_curve(model, x, y, float(lr), order_rng)
# --8<-- [end:lr_curve]


@plotting.styled
def plot_learning_rates(seed=0):
    """Figure: training accuracy with and without BN, one panel per learning rate."""
    fig, axes = plotting.figure(1, len(LEARNING_RATES), width=8.0, height=2.8, sharey=True)
    epochs = np.arange(EPOCHS + 1)
    for ax, lr in zip(axes, LEARNING_RATES, strict=True):
        plain = lr_curve(lr, False, seed)
        ax.plot(epochs, lr_curve(lr, True, seed), color=plotting.PALETTE[5], label="with BN")
        ax.plot(epochs, plain, "--", color="0.35", label="without")
        if np.isnan(plain[-1]):
            ax.text(0.5, 0.5, "plain diverged", transform=ax.transAxes, ha="center",
                    fontsize=8, color="0.35")
        ax.set(title=f"learning rate {lr:g}", xlabel="epoch", ylim=(0, 1.02))
    axes[0].set_ylabel("train accuracy")
    axes[0].legend(fontsize=7, loc="lower right")
    return fig


def _final(acc):
    """The last accuracy; a run that diverged counts as -inf (it did not train)."""
    return -np.inf if np.isnan(acc[-1]) else float(acc[-1])


@cache
def grid(activation="relu", seed=0):
    """All 16 scales with and without BN.

    Returns
    -------
    dict
        ``scales`` (16,), ``bn`` and ``plain`` (16, 21) accuracy curves,
        ``at_least`` (how many scales end with BN ≥ plain), ``better``
        (BN strictly better) and ``diverged`` (the plain runs that diverged).
    """
    bn = np.stack([curve(i, True, activation, seed) for i in range(len(SCALES))])
    plain = np.stack([curve(i, False, activation, seed) for i in range(len(SCALES))])
    final_bn = np.array([_final(a) for a in bn])
    final_plain = np.array([_final(a) for a in plain])
    return {"scales": SCALES.copy(), "bn": bn, "plain": plain,
            "at_least": int(np.sum(final_bn >= final_plain)),
            "better": int(np.sum(final_bn > final_plain)),
            "diverged": [float(SCALES[i]) for i in range(len(SCALES))
                         if np.isnan(plain[i, -1])]}


@plotting.styled
def plot_grid(activation="relu", seed=0):
    """Figure: the sixteen pairs of training-accuracy curves, with BN (solid) and without
    (dashed), one panel per weight scale."""
    g = grid(activation, seed)
    epochs = np.arange(EPOCHS + 1)
    fig, axes = plotting.figure(4, 4, width=8.0, height=6.4, sharex=True, sharey=True)
    for k, ax in enumerate(axes.flat):
        ax.plot(epochs, g["bn"][k], color=plotting.PALETTE[5], label="with BN")
        ax.plot(epochs, g["plain"][k], "--", color="0.35", label="without")
        ax.set_title(f"w = {g['scales'][k]:.3g}", fontsize=8)
        ax.set(ylim=(0, 1.02), xticks=[0, EPOCHS // 2, EPOCHS], yticks=[0, 0.5, 1])
        if np.isnan(g["plain"][k, -1]):
            ax.text(0.5, 0.85, "plain diverged", transform=ax.transAxes, ha="center",
                    fontsize=7, color="0.35")
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("train acc.")
    axes[0, 0].legend(fontsize=7, loc="lower right")
    return fig

def claims():
    """The R4 claims: BN ≥ plain at the last epoch for at least 12 of 16 scales, per grid."""
    out = []
    for activation, note in (("relu", "the book's figure: BN learns faster at almost every "
                                      "scale, and learns where the plain net does not"),
                             ("sigmoid", "(second grid, not in the note)")):
        g = grid(activation)
        extra = f"; plain diverged at w = {', '.join(f'{w:.2g}' for w in g['diverged'])}" \
            if g["diverged"] else ""
        out.append(also(at_least(
            f"R4.{activation}",
            f"{activation}: with BN the final training accuracy is at least the plain "
            "network's for at least {bound} of the 16 weight scales",
            g["at_least"], 12, note=note, fmt=".0f"),
            measured=f"{g['at_least']} of 16 (strictly better at {g['better']}){extra}"))
    return out + _lr_claims()


def _lr_claims():
    curves = {(lr, bn): lr_curve(lr, bn) for lr in LEARNING_RATES for bn in (True, False)}
    early = [curves[lr, True][EARLY] - np.nan_to_num(curves[lr, False][EARLY])
             for lr in LEARNING_RATES]
    top = LEARNING_RATES[-1]
    return [
        also(at_least(
            "R4.bn_faster",
            f"He init, ReLU: after {EARLY} epochs the training accuracy with BN is ahead of the "
            "plain network's (by at least {bound}) at every learning rate of "
            f"{', '.join(f'{lr:g}' for lr in LEARNING_RATES)}",
            min(early), 0.0, note="BN speeds up learning (note 002)", fmt=".0%"),
            measured=f"after {EARLY} epochs, BN / plain: " + ", ".join(
                f"lr {lr:g}: {curves[lr, True][EARLY]:.0%} / "
                f"{np.nan_to_num(curves[lr, False][EARLY]):.0%}" for lr in LEARNING_RATES)),
        also(at_least(
            "R4.bn_large_lr",
            f"at learning rate {top:g} the plain network diverges, while with BN it reaches a "
            "training accuracy of at least {bound}",
            curves[top, True][-1], 0.9, note="BN allows large learning rates", fmt=".0%"),
            bool(np.isnan(curves[top, False][-1])),
            f"BN {curves[top, True][-1]:.0%} after {EPOCHS} epochs; plain diverged: "
            f"{bool(np.isnan(curves[top, False][-1]))}"),
    ]
