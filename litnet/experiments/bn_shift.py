r"""R7: where the last hidden layer's pre-activations sit, epoch by epoch.

Note 001 says that over the epochs the histogram of the last layer's values
moved from a centre near :math:`-5` to a centre near :math:`0`. Here "the last
layer's values" is taken as the input of the last hidden sigmoid (the
pre-activation :math:`z_5`, after BN when there is BN), recorded on the 297 test
digits in evaluation mode before training (epoch 0) and after each epoch, by the
runs of :mod:`litnet.experiments.sigmoid_bn`. Two settings:

* ``"xavier"``: R6's network, weights with std :math:`1/\sqrt{n_\text{in}}`;
* ``"std1"``: the same network with std-1 weights (the book's badly scaled
  initialisation), whose pre-activations start wide and off-centre.

Centres are the mean and the median over all units and test images, and the
peak (mode) of the histogram: the centre of its tallest bin, 0.5 wide. Evaluation
mode matters at epoch 0: BN's running statistics start at mean 0 and variance 1,
so before any training step BN is (up to :math:`\epsilon`) the identity and the
BN network's histogram is the raw one; once the running statistics have followed
the mini-batches, BN puts every unit's pre-activation around its shift
:math:`\beta`, which starts at 0.

:func:`initial_centres` measures how far from 0 the untrained network's centre is
over many random initialisations: a property of the random draw, not of the
network.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from .. import init
from ..activations import Sigmoid, Tanh
from ..cache import shared
from ..training import predict
from . import common
from .claim import all_of, at_least, at_most, ge, le, lt, near
from .plotting import figure, styled
from .sigmoid_bn import (
    BATCH_SIZE,
    BINS,
    DEPTH,
    EPOCHS,
    N_CLASSES,
    N_IN,
    WIDTH,
    bin_centres,
    build,
    digits,
    run,
)

#: setting -> (label, weight std or None for R6's 1/sqrt(n_in))
SETTINGS = {"xavier": ("weights std 1/√n_in (R6)", None), "std1": ("weights std 1", 1.0)}

#: share of BN's initial running statistics left after one epoch (momentum 0.1, 15 steps)
STEPS_PER_EPOCH = 1500 // BATCH_SIZE
MOMENTUM_LEFT = (1 - 0.1) ** STEPS_PER_EPOCH
#: R7's bounds, written once (sentence and test)
CENTRED_MAX, KEPT_MIN, UNIT_SPREAD_MIN = 0.1, 0.5, 5.0
#: epochs whose histograms the chapter draws
SHOWN_EPOCHS = (0, 1, 2, 5, 20)
#: untrained networks drawn by initial_centres
N_SEEDS = 20


def shift(setting="xavier"):
    """``{"plain": Run, "bn": Run}`` for one setting (see :data:`SETTINGS`).

    The recorded arrays are ``Run.pre_mean``, ``pre_median``, ``pre_std`` and
    ``pre_hist`` (bins ``sigmoid_bn.BINS``), one row per
    epoch from 0.

    Examples
    --------
    >>> s = shift("xavier")
    >>> s["bn"].pre_hist.shape                      # epochs 0..20, 49 bins
    (21, 49)
    """
    std = SETTINGS[setting][1]
    return {"plain": run("sigmoid", "none", init_std=std), "bn": run("sigmoid", "bn", init_std=std)}


class Centres(NamedTuple):
    """Centres of the last sigmoid's input before training, one per seed."""

    median: np.ndarray
    mode: np.ndarray     # centre of the tallest histogram bin


@shared
def initial_centres(init_std=1.0, n_seeds=N_SEEDS):
    """Median and histogram peak of the last sigmoid's input on the test digits for
    ``n_seeds`` untrained plain networks (weights std ``init_std``; ``None``: R6's
    1/sqrt(n_in)), one per seed.

    Examples
    --------
    >>> c = initial_centres(n_seeds=3)
    >>> c.median.shape, c.mode.shape
    ((3,), (3,))
    """
    x = digits().x_test
    medians, modes = [], []
    for seed in range(n_seeds):
        model = build("sigmoid", "none", init_std=init_std, seed=seed)
        z = predict(model[:-2], x)                 # everything before the last sigmoid
        medians.append(float(np.median(z)))
        modes.append(float(bin_centres()[np.histogram(z, bins=BINS)[0].argmax()]))
    return Centres(common.readonly(medians), common.readonly(modes))


class UnitCentres(NamedTuple):
    """Where each unit of the last hidden layer sits before training (std-1 weights)."""

    centre: np.ndarray       # (100,) mean of each unit's input over the test digits
    predicted: np.ndarray    # (100,) mean(h) * (sum of the unit's weights): the estimate
    input_mean: float        # mean of the outputs feeding that layer


@shared
def unit_centres(activation="sigmoid", init_std=1.0, seed=0):
    r"""Per-unit centres of the last hidden layer's input, untrained, on the test digits.

    ``activation`` is ``"sigmoid"`` (R7's network) or ``"tanh"`` (the same weights,
    tanh instead). A unit's input is :math:`z_j = \sum_i W_{ji} h_i`; when every
    :math:`h_i` is positive with mean :math:`\bar h`, its centre is about
    :math:`\bar h \sum_i W_{ji}`, a different number for every unit.

    Examples
    --------
    >>> c = unit_centres()
    >>> c.centre.shape, 0.4 < c.input_mean < 0.6
    ((100,), True)
    """
    act = {"sigmoid": Sigmoid, "tanh": Tanh}[activation]
    model = common.mlp((N_IN, *[WIDTH] * DEPTH, N_CLASSES), act,
                       init=partial(init.normal, std=init_std),
                       rng=np.random.default_rng(seed))
    h = predict(model[:-3], digits().x_test)          # the outputs feeding the last layer
    z = predict(model[-3:-2], h)                      # its input, before the activation
    w = model[-3].weight.data
    return UnitCentres(common.readonly(z.mean(axis=0)),
                       common.readonly(h.mean() * w.sum(axis=1)), float(h.mean()))


def claims():
    """The measured trend of the centres, and what litnet finds about the note's -5."""
    xav, std1 = shift("xavier"), shift("std1")
    med_bn, med_plain = std1["bn"].pre_median, std1["plain"].pre_median
    mode_bn = std1["bn"].pre_mode
    r6_start = xav["plain"].pre_median[0]
    finals = [abs(float(s["bn"].pre_median[-1])) for s in (xav, std1)] + \
             [abs(float(s["bn"].pre_mean[-1])) for s in (xav, std1)]
    seeds = initial_centres(1.0)
    kept = float(med_plain[-1] / med_plain[0])
    return [
        at_most("R7.bn_centred", "with BN the last sigmoid's input ends centred on 0: |mean| "
                f"and |median| at most {{bound}} after {EPOCHS} epochs, in both settings",
                max(finals), CENTRED_MAX, note="a centre near 0", fmt=".2g"),
        all_of("R7.bn_moves", "std-1 weights, with BN: the median starts at least {start} away "
               "from 0 and at least {gone} of that offset is gone after the first epoch "
               f"({STEPS_PER_EPOCH} steps: the running statistics keep 0.9^{STEPS_PER_EPOCH} "
               f"≈ {MOMENTUM_LEFT:.0%} of their starting values)",
               note="moves from about −5 to 0",
               measured=f"{med_bn[0]:+.2f} → {med_bn[1]:+.2f} (epoch 1) → {med_bn[2]:+.2f} "
                        f"(epoch 2) → {med_bn[-1]:+.2f} (epoch 20)",
               start=ge(abs(med_bn[0]), 1, ".0f"),
               gone=ge(1 - abs(med_bn[1] / med_bn[0]), 1 - MOMENTUM_LEFT, ".0%")),
        all_of("R7.peak_moves", "std-1 weights, with BN: the histogram's tallest bin starts at "
               "least {below} below 0 and is within one bin ({bin}) of 0 at every epoch "
               f"from 1 to {EPOCHS}", note="moves from about −5 to 0",
               measured=f"peak at {mode_bn[0]:+.2f} before training, between "
                        f"{min(mode_bn[1:]):+.2f} and {max(mode_bn[1:]):+.2f} at epochs 1–{EPOCHS}",
               below=ge(-mode_bn[0], 3, ".0f"), bin=le(np.abs(mode_bn[1:]).max(), 0.5, ".1f")),
        at_least("R7.plain_stays", "std-1 weights, no BN: the median keeps at least {bound} of "
                 f"its starting offset after {EPOCHS} epochs", kept, KEPT_MIN,
                 note="(contrast, beyond the note)", fmt=".0%"),
        at_least("R7.unit_spread", "std-1 weights, untrained: the centres of the last hidden "
                 "layer's 100 units (each unit's mean input over the test digits) spread with "
                 "a std of at least {bound}, so a centre of −5 is ordinary for one unit",
                 unit_centres().centre.std(), UNIT_SPREAD_MIN,
                 note="starts near −5 (here: one unit's, or one draw's, centre)",
                 fmt=".1f"),
        all_of("R7.no_minus_five", "the starting centre is set by the random draw, not by the "
               f"architecture: over {len(seeds.median)} seeds of the std-1 network the medians "
               "average within ±{mean} of 0 and the peaks lie on both sides of 0, none below "
               "−{floor}; in R6's setting the median starts at most {r6} from 0",
               note="starts near −5 (here: not a property of BN or of the network)",
               measured=f"medians: mean {seeds.median.mean():+.2f}, {seeds.median.min():+.2f} "
                        f"to {seeds.median.max():+.2f}; peaks {seeds.mode.min():+.2f} to "
                        f"{seeds.mode.max():+.2f}; R6 setting {r6_start:+.2f}",
               holds=seeds.mode.min() < 0 < seeds.mode.max(),
               mean=near(seeds.median.mean(), 1, ".0f"), floor=lt(-seeds.mode.min(), 5, ".0f"),
               r6=near(r6_start, 0.25, ".2f")),
    ]


@styled
def plot_histograms(setting="std1", epochs=SHOWN_EPOCHS):
    """The last sigmoid's input on the test digits at ``epochs``, without and with BN."""
    fig, axes = figure(1, 2, sharey=True)
    for ax, (name, r) in zip(axes, shift(setting).items(), strict=True):
        for e in epochs:
            share = r.pre_hist[e] / (r.pre_hist[e].sum() + r.pre_outside[e])
            ax.step(bin_centres(), 100 * share, where="mid", label=f"epoch {e}")
        ax.axvline(0, color="0.6", lw=1)
        ax.set(title=("no normalisation" if name == "plain" else "BatchNorm") + ", "
               + SETTINGS[setting][0], xlabel="input of the last sigmoid")
    axes[0].set_ylabel("share of values (%)")
    axes[1].legend()
    return fig


@styled
def plot_unit_centres():
    """Histogram of the 100 per-unit centres before training, sigmoid vs tanh (std-1)."""
    fig, ax = figure()
    edges = np.linspace(-25, 25, 51)
    for activation in ("sigmoid", "tanh"):
        c = unit_centres(activation)
        ax.hist(c.centre, bins=edges, histtype="step", lw=1.8,
                label=f"{activation}: inputs average {c.input_mean:+.2f}")
    ax.axvline(-5, color="0.4", lw=1, ls=":")
    ax.set(xlabel="centre of one unit's input (mean over the test digits)",
           ylabel="units of the last hidden layer")
    ax.legend()
    return fig


__all__ = ["BINS", "SETTINGS", "Centres", "UnitCentres", "claims", "initial_centres",
           "plot_histograms", "plot_unit_centres", "shift", "unit_centres"]
