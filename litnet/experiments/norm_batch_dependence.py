r"""R8: LayerNorm and GroupNorm next to BatchNorm.

All three standardise a set of values, :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}`,
then scale and shift; they differ in *which* values share :math:`\mu` and
:math:`\sigma^2`. For a (N, C) input: BatchNorm takes one feature over the N
samples of the batch, LayerNorm one sample over its C features, GroupNorm one
sample over a group of C/G features. Three measurements follow from that:

* :func:`batch_dependence` — one sample's output of LN and GN is the same
  whatever the other samples of the batch are; BN's (training mode) is not;
* :func:`batch_of_one` — BN with batch statistics on a batch of one sample:
  :math:`x - \mu = 0`, so the output is :math:`\beta` whatever the input
  (training mode refuses such a batch, as PyTorch does);
* :func:`weight_gradients` — the gradient norm of each weight matrix of R6's
  untrained sigmoid network: it vanishes toward the input without
  normalisation, stays level with BN, and falls in between with LN and GN;
* :func:`spread` — in R6's untrained sigmoid network, the standard deviation of
  each unit's pre-activation *across samples* (what tells one digit from
  another) at each of the five sigmoids: BN sets it to 1, LN and GN, which only
  fix each sample's own scale, let it shrink layer after layer as the plain
  network does.

The training runs (R6's sigmoid network with LN and GN, and the same with Adam)
come from :func:`litnet.experiments.sigmoid_bn.run`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..activations import Sigmoid
from ..batchnorm import BatchNorm1d
from ..cache import shared
from ..diagnostics import record
from ..groupnorm import GroupNorm
from ..layernorm import LayerNorm
from ..linear import Linear
from ..losses import softmax_cross_entropy
from .claim import Claim, all_of, ge, gt, le, lt, power_of_ten
from .plotting import figure, styled
from .sigmoid_bn import ADAM_LR, EPOCHS, GROUPS, LR, NORMS, WIDTH, build, digits, run

N_OTHERS = 31          # the other samples of the batch in batch_dependence
#: the test accuracy R8's training claims count as passing
PASS_ACC = 0.90


def _layers():
    """The three layers compared, float64, each with a non-trivial scale and shift."""
    rng = np.random.default_rng(1)
    layers = {"BatchNorm1d": BatchNorm1d(WIDTH, dtype=np.float64),
              "LayerNorm": LayerNorm(WIDTH, dtype=np.float64),
              "GroupNorm": GroupNorm(GROUPS, WIDTH, dtype=np.float64)}
    for layer in layers.values():
        layer.weight.data[...] = rng.uniform(0.5, 2.0, WIDTH)
        layer.bias.data[...] = rng.uniform(-1.0, 1.0, WIDTH)
    return layers


@shared
def batch_dependence(seed=0):
    r"""Largest change of one sample's output when the rest of its batch is replaced.

    The sample is the first row of two batches of 32 (float64, 100 features);
    the other 31 rows are standard normal in the first batch and normal with
    mean 3 and std 2 in the second. Layers in training mode.

    Returns
    -------
    dict
        ``{"BatchNorm1d": float, "LayerNorm": float, "GroupNorm": float}``:
        :math:`\max_j |y_{0j}^{(1)} - y_{0j}^{(2)}|`.

    Examples
    --------
    >>> d = batch_dependence()
    >>> d["LayerNorm"], d["GroupNorm"], d["BatchNorm1d"] > 0.1
    (0.0, 0.0, True)
    """
    rng = np.random.default_rng(seed)
    sample = rng.standard_normal((1, WIDTH))
    batch_1 = np.vstack([sample, rng.standard_normal((N_OTHERS, WIDTH))])
    batch_2 = np.vstack([sample, rng.normal(3.0, 2.0, (N_OTHERS, WIDTH))])
    out = {}
    for name, layer in _layers().items():
        out[name] = float(np.abs(layer(batch_1)[0] - layer(batch_2)[0]).max())
    return out


@lru_cache(maxsize=16)
def batch_of_one(seed=0, n_inputs=3):
    r"""BN on a single sample with batch statistics: the output is β, whatever the input.

    A ``BatchNorm1d`` with a random shift β is put in evaluation mode with
    ``eval_uses_batch_stats=True`` (the statistics of the batch being
    evaluated, here one sample) and fed ``n_inputs`` unrelated (1, 100) inputs.

    Returns
    -------
    dict
        ``"max_from_beta"``: :math:`\max |y - \beta|` over every input and
        feature; ``"train_error"``: the message BN raises in training mode for
        the same batch of one (as PyTorch does).

    Examples
    --------
    >>> r = batch_of_one()
    >>> r["max_from_beta"]
    0.0
    """
    rng = np.random.default_rng(seed)
    bn = _layers()["BatchNorm1d"]
    bn.eval_uses_batch_stats = True
    bn.eval()
    inputs = [rng.normal(rng.uniform(-10, 10), rng.uniform(0.1, 10), (1, WIDTH))
              for _ in range(n_inputs)]
    worst = max(float(np.abs(bn(x) - bn.bias.data).max()) for x in inputs)
    bn.train()
    try:
        bn(inputs[0])
        message = None
    except ValueError as err:
        message = str(err)
    return {"max_from_beta": worst, "train_error": message}


# --8<-- [start:spread]
@shared
def spread(seed=0):
    """Across-sample and within-sample std of each sigmoid's input, untrained R6 networks.

    For each normalisation of ``sigmoid_bn.NORMS``, the
    1,500 training digits go through the untrained network (training mode, one
    batch); at each of the five sigmoids, ``across`` is the std of each unit
    over the samples, averaged over the units, and ``within`` the std of each
    sample over the units, averaged over the samples.

    Returns
    -------
    dict
        ``{norm: {"across": ndarray (5,), "within": ndarray (5,)}}``.

    Examples
    --------
    >>> s = spread()
    >>> s["bn"]["across"].round(2).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    x = digits().x_train
    out = {}
    for norm in NORMS:
        model = build("sigmoid", norm, seed=seed)
        with record(model, layers=Sigmoid, what="input", keep=True, grads=False) as rec:
            model(x)
        z = [rec.values(i).astype(np.float64) for i in range(len(rec))]
        out[norm] = {"across": np.array([v.std(axis=0).mean() for v in z]),
                     "within": np.array([v.std(axis=1).mean() for v in z])}
    return out
# --8<-- [end:spread]


@shared
def weight_gradients(seed=0, batch=100):
    r""":math:`\lVert \partial L/\partial W_\ell \rVert` of the six ``Linear`` layers of
    R6's untrained sigmoid network, for each normalisation, on one mini-batch
    (the first ``batch`` training digits, training mode).

    Returns
    -------
    dict
        ``{norm: ndarray (6,)}``, first layer first.

    Examples
    --------
    >>> g = weight_gradients()
    >>> bool(g["none"][0] < g["none"][-1] / 100), bool(g["bn"][0] > g["bn"][-1] / 10)
    (True, True)
    """
    x, y = digits().x_train[:batch], digits().y_train[:batch]
    out = {}
    for norm in NORMS:
        model = build("sigmoid", norm, seed=seed)
        model.zero_grad()
        _, g = softmax_cross_entropy(model(x), y)
        model.backward(g)
        out[norm] = np.array([float(np.linalg.norm(m.weight.grad)) for m in model
                              if isinstance(m, Linear)])
    return out


def training():
    """R6's sigmoid network trained with each normalisation: ``{(norm, optimizer): Run}``.

    SGD (lr 0.1, R6's setting) for none / BN / LN / GN, and Adam (lr 1e-3) for
    none / LN / GN.
    """
    keys = [(n, "sgd") for n in ("none", "bn", "ln", "gn")] + \
           [(n, "adam") for n in ("none", "ln", "gn")]
    return {(n, o): run("sigmoid", n, optimizer=o) for n, o in keys}


def claims():
    """Batch (in)dependence, the batch of one, the across-sample spread and the runs."""
    return _batch_claims() + _training_claims()


def _batch_claims():
    dep, one, s = batch_dependence(), batch_of_one(), spread()
    across = {n: float(s[n]["across"][-1]) for n in s}
    return [
        all_of("R8.ln_gn_independent", "one sample's LayerNorm and GroupNorm output does not "
               f"change (by more than {{change}}) when the other {N_OTHERS} samples of its "
               "batch are replaced",
               note="LN normalises each sample by itself (GN: the addendum's question)",
               measured=f"largest change: LN {power_of_ten(dep['LayerNorm'], 2)}, "
                        f"GN {power_of_ten(dep['GroupNorm'], 2)}",
               change=le(max(dep["LayerNorm"], dep["GroupNorm"]), 1e-12, "x10")),
        all_of("R8.bn_dependent", "BatchNorm (training mode): the same replacement changes "
               "that sample's output by more than {change}", note="BN normalises over the batch",
               measured=f"largest change {dep['BatchNorm1d']:.3f}",
               change=gt(dep["BatchNorm1d"], 0.1, ".1f")),
        Claim("R8.bn_batch_of_one", "BN in evaluation mode with batch statistics "
              "(eval_uses_batch_stats) on a batch of one sample outputs β exactly, for any "
              "input; in training mode it refuses the batch (ValueError)",
              "(beyond the note)",
              f"max |y − β| = {power_of_ten(one['max_from_beta'], 2)}; training mode: "
              + ("ValueError" if one["train_error"] is not None else "no error"),
              one["max_from_beta"] == 0.0 and one["train_error"] is not None),
        all_of("R8.spread", "untrained sigmoid network: at the fifth sigmoid the std of each "
               "unit's input across samples is ≈ 1 with BN (≥ {bn}) but below {others} with "
               "no norm, LN or GN", note="(why LN/GN differ from BN here)",
               measured=", ".join(f"{NORMS[n][0]} {across[n]:.3f}" for n in NORMS),
               bn=ge(across["bn"], 0.9, ".1f"),
               others=lt(max(across[n] for n in ("none", "ln", "gn")), 0.05, ".2f")),
    ]


def _training_claims():
    first_last = {n: float(g[0] / g[-1]) for n, g in weight_gradients().items()}
    runs = training()
    t = {k: r.final_acc for k, r in runs.items()}
    best = {n: float(runs[n, "sgd"].test_acc[1:].max()) for n in ("ln", "gn")}
    reached = np.flatnonzero(runs["bn", "sgd"].test_acc >= PASS_ACC)
    bn_epoch = int(reached[0]) if reached.size else None
    adam = min(t["ln", "adam"], t["gn", "adam"])
    return [
        all_of("R8.vanishing", "untrained sigmoid network, one mini-batch: "
               "||dL/dW_1|| / ||dL/dW_6|| is below {none} without normalisation, above {bn} "
               "with BN, and in between with LN and GN",
               note="BN and LN are fixes for the vanishing gradient",
               measured=", ".join(f"{NORMS[n][0]} {first_last[n]:.1e}" for n in NORMS),
               holds=all(first_last["none"] < first_last[n] < first_last["bn"]
                         for n in ("ln", "gn")),
               none=lt(first_last["none"], 0.01, ".2f"), bn=gt(first_last["bn"], 0.1, ".1f")),
        all_of("R8.ln_gn_sgd", f"R6's setting (SGD lr {LR:g}, {EPOCHS} epochs): BN passes "
               "{acc} test accuracy within {epoch} epochs; with LN or GN the sigmoid network "
               "stays below {acc} at every epoch",
               note="LN is a third fix for the vanishing gradient (with SGD here: not seen)",
               measured=f"BN ≥ {PASS_ACC:.0%} from epoch {bn_epoch}; best epoch: "
                        f"LN {best['ln']:.1%}, GN {best['gn']:.1%} (final: LN "
                        f"{t['ln', 'sgd']:.1%}, GN {t['gn', 'sgd']:.1%})",
               acc=lt(max(best.values()), PASS_ACC, ".0%"),
               epoch=le(np.inf if bn_epoch is None else bn_epoch, 5, ".0f")),
        all_of("R8.ln_gn_adam", f"with Adam (lr {power_of_ten(ADAM_LR)}, {EPOCHS} epochs) LN "
               "and GN reach at least {acc}, at least {points} points above the same network "
               "without normalisation",
               note="LN is a third fix for the vanishing gradient (with Adam here: seen)",
               measured=f"LN {t['ln', 'adam']:.1%}, GN {t['gn', 'adam']:.1%}, "
                        f"none {t['none', 'adam']:.1%}",
               acc=ge(adam, PASS_ACC, ".0%"),
               points=ge(100 * (adam - t["none", "adam"]), 20, ".0f")),
    ]


@styled
def plot_spread():
    """At each sigmoid of R6's untrained network, the std of a unit's input across samples
    (log scale), per normalisation."""
    fig, ax = figure()
    for norm, s in spread().items():
        ax.semilogy(np.arange(1, len(s["across"]) + 1), s["across"], "o-", label=NORMS[norm][0])
    ax.set(xlabel="sigmoid layer", ylabel="std of one unit's input across samples",
           xticks=np.arange(1, len(s["across"]) + 1))
    ax.legend()
    return fig
