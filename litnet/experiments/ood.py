r"""R9: BatchNorm's stored statistics meet out-of-distribution inputs.

Note 001 quotes an out-of-distribution (OOD) detection survey: BN statistics
estimated on the training data and applied blindly to OOD data at test time can
trigger abnormally high unit activations and, with them, confident outputs.
Measured here on R6's ReLU network (He init, SGD lr 0.1, 20 epochs on the
digits; :func:`litnet.experiments.sigmoid_bn.run`): ReLU, because a sigmoid's
outputs are bounded and cannot grow.

Inputs (each 297 × 64, pixels of the digits in [0, 1]):

* ``"digits"``: the 297 test digits (in distribution);
* ``"noise"``: uniform noise on [0, 1] (seed 0);
* ``"inverted"``: :math:`1 - x`, white digits on black;
* ``"x5"``: :math:`5x`, the test digits five times brighter.

Networks, all in evaluation mode:

* ``"plain"``: no normalisation;
* ``"bn"``: BN with its running statistics (what a deployed network does);
* ``"bn_batch"``: the same trained BN network, but normalising with the
  statistics of the batch being evaluated (``eval_uses_batch_stats``; each
  input set is one batch of 297);
* ``"ln"``, ``"gn"``: LayerNorm and GroupNorm (10 groups) networks.

Measured for each pair: the mean activation of each of the five ReLU layers
(over units and samples), the max softmax probability of every sample (the
network's confidence), and for BN the *mismatch*: the std, over units and
samples, of each BN layer's input standardised with the running statistics,
:math:`(x - \mu_\text{run})/\sqrt{\sigma^2_\text{run} + \epsilon}` (≈ 1 on data
like the training data).
"""

from __future__ import annotations

import copy
from functools import lru_cache

import numpy as np

from ..activations import ReLU
from ..batchnorm import BatchNorm1d
from ..cache import shared
from ..diagnostics import record
from ..losses import softmax
from ..training import predict
from .claim import Claim, all_of, ge, le
from .plotting import figure, styled
from .sigmoid_bn import digits, run

#: input set -> label
INPUTS = {"digits": "test digits (ID)", "noise": "uniform noise", "inverted": "inverted digits",
          "x5": "digits × 5"}
#: network -> label
NETWORKS = {"plain": "no normalisation", "bn": "BN, running statistics",
            "bn_batch": "BN, batch statistics", "ln": "LayerNorm", "gn": "GroupNorm"}


# --8<-- [start:inputs]
@lru_cache(maxsize=1)
def inputs(seed=0):
    """``{name: (297, 64) float32 array}`` for the four input sets of :data:`INPUTS`.

    Examples
    --------
    >>> x = inputs()
    >>> list(x), x["x5"].shape, float(x["inverted"].max())
    (['digits', 'noise', 'inverted', 'x5'], (297, 64), 1.0)
    """
    x = digits().x_test
    noise = np.random.default_rng(seed).uniform(0.0, 1.0, x.shape).astype(x.dtype)
    out = {"digits": x, "noise": noise, "inverted": 1 - x, "x5": 5 * x}
    for a in out.values():
        a.flags.writeable = False
    return out
# --8<-- [end:inputs]


def network(name):
    """A trained ReLU network of :data:`NETWORKS` (a copy: free to change)."""
    norm = {"plain": "none", "bn": "bn", "bn_batch": "bn", "ln": "ln", "gn": "gn"}[name]
    model = copy.deepcopy(run("relu", norm).model)
    if name == "bn_batch":
        for m in model.modules():
            if isinstance(m, BatchNorm1d):
                m.eval_uses_batch_stats = True
    return model


def _mismatch(model, x):
    """Std of each BN layer's input standardised with the running statistics."""
    bns = [m for m in model.modules() if isinstance(m, BatchNorm1d)]
    if not bns:
        return None
    with record(model, layers=bns, what="input", keep=True, grads=False) as rec:
        predict(model, x)
    return np.array([float(((rec.values(i) - bn.running_mean)
                            / np.sqrt(bn.running_var + bn.eps)).std())
                     for i, bn in enumerate(bns)])


@shared
def measure():
    """Activations and confidence of every network of :data:`NETWORKS` on every input set.

    Returns
    -------
    dict
        ``{network: {input: {"activation": ndarray (5,), "confidence": ndarray (297,),
        "mismatch": ndarray (5,) or None}}}``; ``activation[l]`` is the mean output of
        ReLU layer ``l + 1``, ``confidence`` the max softmax probability per sample.
    """
    out = {}
    for name in NETWORKS:
        model = network(name)
        relus = [m for m in model.modules() if isinstance(m, ReLU)]
        out[name] = {}
        for key, x in inputs().items():
            with record(model, layers=relus, saturation=False, grads=False) as rec:
                logits = predict(model, x)           # evaluation mode, one batch of 297
            out[name][key] = {
                "activation": rec.stats().column("mean"),
                "confidence": softmax(logits).max(axis=1).astype(np.float64),
                "mismatch": None if name == "bn_batch" else _mismatch(model, x),
            }
    return out


def summary():
    """``{network: {input: (last-layer activation, mean confidence)}}`` from :func:`measure`."""
    return {net: {k: (float(v["activation"][-1]), float(v["confidence"].mean()))
                  for k, v in per_input.items()}
            for net, per_input in measure().items()}


def ratio(net, key):
    """Last ReLU layer's mean activation on ``key`` divided by that on the test digits."""
    s = summary()[net]
    return s[key][0] / s["digits"][0]


def claims():
    """What litnet measured on OOD inputs, per network."""
    s, m = summary(), measure()
    conf = {net: {k: v[1] for k, v in per.items()} for net, per in s.items()}
    others = ("noise", "inverted", "x5")
    flat = {net: max(abs(ratio(net, k) - 1) for k in others)
            for net in ("bn_batch", "ln", "gn")}
    first_mismatch = m["bn"]["x5"]["mismatch"][0]
    return [
        all_of("R9.bn_activation", "BN with running statistics: the last hidden layer's mean "
               "activation is at least {x5}× the in-distribution value on digits × 5 and at "
               "least {inverted}× on inverted digits",
               note="“abnormally high unit activations” (the survey note 001 quotes)",
               measured=f"×5: {ratio('bn', 'x5'):.1f}×, inverted: {ratio('bn', 'inverted'):.1f}×",
               x5=ge(ratio("bn", "x5"), 3, ".0f"),
               inverted=ge(ratio("bn", "inverted"), 1.5, ".1f")),
        all_of("R9.bn_mismatch", "the first BN layer's input, standardised with the running "
               "statistics, has std ≥ {std} on digits × 5 (≈ 1 on the test digits)",
               note="“mismatched BatchNorm statistics” (the same survey)",
               measured=f"{first_mismatch:.2f} (test digits "
                        f"{m['bn']['digits']['mismatch'][0]:.2f})",
               std=ge(first_mismatch, 3, ".0f")),
        all_of("R9.bn_confident", "BN with running statistics: mean confidence on inverted "
               "digits and on digits × 5 at most {drop} below the test digits'",
               note="overconfident outputs on OOD data",
               measured=f"test {conf['bn']['digits']:.3f}, inverted "
                        f"{conf['bn']['inverted']:.3f}, ×5 {conf['bn']['x5']:.3f}",
               drop=le(conf["bn"]["digits"] - min(conf["bn"]["inverted"], conf["bn"]["x5"]),
                       0.1, ".1f")),
        all_of("R9.noise", "not every OOD input does it: on uniform noise the BN network's "
               "activation stays within {activation}× of the test digits' and its confidence "
               "drops by at least {drop}", note="(beyond the note)",
               measured=f"activation {ratio('bn', 'noise'):.2f}×, confidence "
                        f"{conf['bn']['noise']:.3f}",
               activation=le(ratio("bn", "noise"), 1.5, ".1f"),
               drop=ge(conf["bn"]["digits"] - conf["bn"]["noise"], 0.2, ".1f")),
        all_of("R9.renormalised", "BN with batch statistics, LayerNorm and GroupNorm: the "
               "last hidden layer's mean activation on every OOD set is within {change} of "
               "the test digits'",
               note="(beyond the note: the reproduction list's comparison)",
               measured=", ".join(f"{NETWORKS[n]} {flat[n]:.1%}" for n in flat),
               change=le(max(flat.values()), 0.10, ".0%")),
        Claim("R9.inverted_less_confident", "on inverted digits, batch statistics, LN and GN "
              "are each less confident than BN with running statistics",
              "(beyond the note: the reproduction list's comparison)",
              ", ".join(f"{NETWORKS[n]} {conf[n]['inverted']:.3f}"
                        for n in ("bn", "bn_batch", "ln", "gn")),
              max(conf[n]["inverted"] for n in ("bn_batch", "ln", "gn"))
              < conf["bn"]["inverted"]),
        all_of("R9.plain_too", "without any normalisation the ReLU network's activation also "
               "grows at least {growth}× on digits × 5, with confidence at least the test "
               "digits'", note="(beyond the note: the growth is not BN's alone)",
               measured=f"{ratio('plain', 'x5'):.1f}×, confidence {conf['plain']['x5']:.3f} vs "
                        f"{conf['plain']['digits']:.3f}",
               holds=conf["plain"]["x5"] >= conf["plain"]["digits"],
               growth=ge(ratio("plain", "x5"), 3, ".0f")),
    ]


@styled
def plot_ood():
    """Per network and input set: the last hidden layer's mean activation relative to the
    test digits (left) and the mean confidence (right)."""
    fig, axes = figure(1, 2, width=7.2, height=3.8)
    s, keys = summary(), list(INPUTS)
    width = 0.8 / len(NETWORKS)
    for i, (net, label) in enumerate(NETWORKS.items()):
        pos = np.arange(len(keys)) + (i - (len(NETWORKS) - 1) / 2) * width
        axes[0].bar(pos, [ratio(net, k) for k in keys], width, label=label)
        axes[1].bar(pos, [s[net][k][1] for k in keys], width, label=label)
    for ax in axes:
        ax.set_xticks(np.arange(len(keys)), [INPUTS[k].replace(" (ID)", "") for k in keys],
                      rotation=20)
    axes[0].axhline(1, color="0.5", lw=1, ls=":")
    axes[0].set_ylabel("activation ÷ on test digits")
    axes[1].set(ylabel="mean confidence", ylim=(0, 1))
    axes[0].legend(fontsize=7)
    return fig
