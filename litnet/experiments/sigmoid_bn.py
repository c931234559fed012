r"""R6 (and the training part of R8): a deep sigmoid network with and without normalisation.

Note 001 reports a course run in which a deep sigmoid network stayed near chance
without batch normalisation and reached 94.4 % with it, while for ReLU adding BN
made little difference. The setting measured here:

* data: the bundled 8×8 digits (:func:`litnet.data.load_digits`), 1,500 training
  and 297 test images, shuffled by seed 0; pixels in [0, 1];
* network: ``Linear(64, 100)``, then four ``Linear(100, 100)``, each followed by an
  optional normalisation layer and the activation, then ``Linear(100, 10)``;
* weights: normal with std :math:`1/\sqrt{n_\text{in}}` (the book's "Xavier",
  ``xavier_normal(mode="fan_in")``) for the sigmoid, He normal
  (:math:`\sqrt{2/n_\text{in}}`) for ReLU; biases start at 0;
* normalisation, between each hidden ``Linear`` and its activation:
  none, ``BatchNorm1d(100)``, ``LayerNorm(100)`` or ``GroupNorm(10, 100)``;
* training: softmax cross-entropy, plain SGD, lr 0.1, batch 100, 20 epochs
  (300 steps), float32; the order of the mini-batches comes from seed 1.

Each run also records, on the 297 test images after every epoch (and before the
first, as epoch 0), the input of the last hidden activation — the pre-activation
the sigmoid sees — for :mod:`litnet.experiments.bn_shift` (R7).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from .. import init
from ..activations import ReLU, Sigmoid
from ..batchnorm import BatchNorm1d
from ..cache import shared
from ..diagnostics import Probe, record
from ..groupnorm import GroupNorm
from ..io import load_state, state_arrays
from ..layernorm import LayerNorm
from ..module import Sequential
from ..optim import SGD, Adam
from ..training import evaluate, fit, predict
from . import common
from .claim import at_least, at_most, within
from .plotting import figure, styled

N_IN, WIDTH, DEPTH, N_CLASSES = 64, 100, 5, 10
EPOCHS, LR, BATCH_SIZE = 20, 0.1, 100
ADAM_LR = 1e-3                   # R8's extra runs
#: the R6 claims' bounds, written once (sentence and test)
PLAIN_MAX, BN_MIN, RELU_GAP = 0.20, 0.90, 0.03
SPLIT_SEED, ORDER_SEED = 0, 1
GROUPS = 10                      # GroupNorm: 10 groups of 10 units
#: bin edges of the recorded pre-activation histograms (R7): 49 bins of width 0.5,
#: the middle one centred on 0
BINS = np.linspace(-12.25, 12.25, 50)

#: activation name -> (layer class, weight initialiser)
ACTIVATIONS = {
    "sigmoid": (Sigmoid, partial(init.xavier_normal, mode="fan_in")),   # std 1/sqrt(n_in)
    "relu": (ReLU, init.he_normal),                                     # std sqrt(2/n_in)
}

#: normalisation name -> (label, layer factory)
NORMS = {
    "none": ("no normalisation", None),
    "bn": ("BatchNorm", lambda width, dtype: BatchNorm1d(width, dtype=dtype)),
    "ln": ("LayerNorm", lambda width, dtype: LayerNorm(width, dtype=dtype)),
    "gn": (f"GroupNorm ({GROUPS} groups)", lambda width, dtype: GroupNorm(GROUPS, width,
                                                                          dtype=dtype)),
}


def bin_centres():
    """The centres of the 49 bins of :data:`BINS` (-12, -11.5, ..., 12)."""
    return 0.5 * (BINS[:-1] + BINS[1:])


def digits():
    """The 1,500 / 297 split used by every experiment of chapter 3 (float32, read-only)."""
    return common.digits(SPLIT_SEED)


# --8<-- [start:build]
def build(activation="sigmoid", norm="none", *, init_std=None, seed=0, dtype=np.float32):
    """Five hidden layers ``Linear -> [norm] -> activation`` of 100 units, then ``Linear(100, 10)``.

    ``init_std`` replaces the activation's default initialiser by a normal with
    that std in every layer (R7's second setting uses 1.0).

    Examples
    --------
    >>> model = build("sigmoid", "bn")
    >>> [type(m).__name__ for m in model][:3], len(model)
    (['Linear', 'BatchNorm1d', 'Sigmoid'], 16)
    >>> model(np.zeros((2, 64), np.float32)).shape
    (2, 10)
    """
    act, weight_init = ACTIVATIONS[activation]
    if init_std is not None:
        weight_init = partial(init.normal, std=init_std)
    return common.mlp((N_IN, *[WIDTH] * DEPTH, N_CLASSES), act, init=weight_init,
                      norm=NORMS[norm][1], rng=np.random.default_rng(seed), dtype=dtype)
# --8<-- [end:build]


@dataclass(frozen=True, eq=False)
class Run:
    """One training run: per-epoch curves and the trained model.

    ``test_acc`` and ``test_loss`` run from epoch 0 (before training) to the
    last epoch, in evaluation mode; ``train_loss`` / ``train_acc`` are the
    epoch's mini-batch averages (training mode), from epoch 1. The ``pre_*``
    arrays describe the input of the last hidden activation on the test images,
    one row per epoch from 0: ``pre_hist`` counts per bin of :data:`BINS`
    (values outside go to ``pre_outside``) and ``pre_mode`` is the centre of the
    tallest bin, the peak the eye sees in a histogram. ``model`` is the trained network:
    read it, copy it (``copy.deepcopy``) before changing anything.
    """

    label: str
    test_acc: np.ndarray
    test_loss: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    pre_mean: np.ndarray
    pre_median: np.ndarray
    pre_std: np.ndarray
    pre_mode: np.ndarray
    pre_hist: np.ndarray
    pre_outside: np.ndarray
    model: Sequential

    @property
    def final_acc(self):
        """Test accuracy after the last epoch."""
        return float(self.test_acc[-1])


def _pre_activation_summary(probe):
    """The ``pre_*`` fields of :class:`Run` from the probe's recordings, one row per epoch."""
    pre = [rec.values(0) for rec in probe.recorders]          # epochs 0..E, (297, 100) each
    hist = probe.histograms()[:, 0]
    return {"pre_mean": common.readonly([v.mean(dtype=np.float64) for v in pre]),
            "pre_median": common.readonly([np.median(v) for v in pre]),
            "pre_std": common.readonly([v.std(dtype=np.float64) for v in pre]),
            "pre_mode": common.readonly(bin_centres()[hist.argmax(axis=1)]),
            "pre_hist": common.readonly(hist, np.int64),
            "pre_outside": common.readonly(
                [v.size - c.sum() for v, c in zip(pre, hist, strict=True)], np.int64)}


def _label(activation, norm, init_std, optimizer, lr):
    return (f"{activation}, {NORMS[norm][0]}" + (f", init std {init_std:g}" if init_std else "")
            + (", Adam" if optimizer == "adam" else "") + (f", lr {lr:g}" if lr else ""))


# --8<-- [start:run]
def train(activation="sigmoid", norm="none", *, init_std=None, optimizer="sgd",
          epochs=EPOCHS, seed=0, lr=None):
    """Train one network of :func:`build` on the digits: ``(model, curves)``.

    ``optimizer`` is ``"sgd"`` (lr :data:`LR`, the note's setting) or ``"adam"``
    (lr :data:`ADAM_LR`, an extra for R8); ``lr`` replaces that learning rate.
    :func:`run` is the cached form the chapter and the tests use.
    """
    x_train, y_train, x_test, y_test = digits()
    model = build(activation, norm, init_std=init_std, seed=seed)
    params = model.parameters()
    if optimizer == "sgd":
        opt = SGD(params, lr=LR if lr is None else lr)
    else:
        opt = Adam(params, lr=ADAM_LR if lr is None else lr)
    # the input of the last hidden activation, on the test digits, after every epoch
    probe = Probe(x_test, layers=[model[-2]], what="input", bins=BINS, keep=True)
    loss0, acc0 = evaluate(model, x_test, y_test)                 # epoch 0
    h = fit(model, x_train, y_train, optimizer=opt, epochs=epochs,
            batch_size=BATCH_SIZE, rng=np.random.default_rng(ORDER_SEED),
            x_val=x_test, y_val=y_test, callbacks=[probe], eval_train=False)
    return model, dict(label=_label(activation, norm, init_std, optimizer, lr),
                       test_acc=common.readonly([acc0, *h.val_acc]),
                       test_loss=common.readonly([loss0, *h.val_loss]),
                       train_loss=common.readonly(h.train_loss),
                       train_acc=common.readonly(h.train_acc),
                       **_pre_activation_summary(probe))
# --8<-- [end:run]


@shared
def _stored(activation, norm, init_std, optimizer, epochs, seed, lr):
    """:func:`train`'s result as arrays: the model travels as its state."""
    model, curves = train(activation, norm, init_std=init_std, optimizer=optimizer,
                          epochs=epochs, seed=seed, lr=lr)
    return dict(curves, state=state_arrays(model), training=model.training)


_RUNS = {}


def run(activation="sigmoid", norm="none", *, init_std=None, optimizer="sgd",
        epochs=EPOCHS, seed=0, lr=None):
    """:func:`train`, cached: the chapter, its notebook and the tests share one :class:`Run`.

    The trained weights may come from another process (see :mod:`litnet.cache`): the
    model is rebuilt around them.

    Examples
    --------
    >>> r = run("relu", "bn", epochs=1)
    >>> r.test_acc.shape, r.pre_hist.shape       # epochs 0 and 1; 49 bins
    ((2,), (2, 49))
    """
    key = (activation, norm, init_std, optimizer, epochs, seed, lr)
    if key not in _RUNS:
        result = dict(_stored(*key))
        model = load_state(build(activation, norm, init_std=init_std, seed=seed),
                           result.pop("state"))
        model.train(result.pop("training"))
        _RUNS[key] = Run(model=model, **result)
    return _RUNS[key]


#: the six runs of the R6 figure, in plotting order: (activation, norm)
R6_RUNS = (("sigmoid", "none"), ("sigmoid", "bn"), ("relu", "none"), ("relu", "bn"),
           ("sigmoid", "ln"), ("sigmoid", "gn"))


def results():
    """``{(activation, norm): Run}`` for the six runs of R6 (cached by :func:`run`)."""
    return {key: run(*key) for key in R6_RUNS}


def affine_drift(activation="sigmoid"):
    """How far training moved each BN layer's scale and shift from their start (1 and 0).

    Returns ``{"gamma": (5,), "beta": (5,)}``: the mean of ``|gamma - 1|`` and of
    ``|beta|`` over the units of each BN layer of ``run(activation, "bn")``.

    Examples
    --------
    >>> d = affine_drift("relu")
    >>> d["gamma"].shape, bool((d["beta"] > 0).all())
    ((5,), True)
    """
    bns = [m for m in run(activation, "bn").model if isinstance(m, BatchNorm1d)]
    return {"gamma": common.readonly([np.abs(m.weight.data - 1).mean() for m in bns]),
            "beta": common.readonly([np.abs(m.bias.data).mean() for m in bns])}


#: pairs of test digits in relu_linearity
PAIRS = 100


# --8<-- [start:relu_linear]
def shift_positive(model, x):
    """Set each hidden bias so that every ReLU input is positive on ``x`` (least one 1)."""
    h = x
    for linear, relu in zip(list(model)[:-1:2], list(model)[1::2], strict=True):
        linear.bias.data[...] = 0
        linear.bias.data[...] = 1 - linear(h).min(axis=0)
        h = relu(linear(h))
    return model


def relu_linearity(seed=0):
    """ReLU whose inputs are all positive is the identity, so the network is affine.

    R6's untrained ReLU network (float64) on :data:`PAIRS` pairs of test digits ``a``, ``b``: as
    built, and with :func:`shift_positive`'s biases. Returns ``{name: (share of ReLU
    inputs above 0, largest |f((a + b)/2) - (f(a) + f(b))/2|)}``: an affine map sends
    the midpoint of two inputs to the midpoint of their outputs.

    Examples
    --------
    >>> r = relu_linearity()
    >>> r["all inputs positive"][0], r["all inputs positive"][1] < 1e-9 < r["as built"][1]
    (1.0, True)
    """
    x = digits().x_test.astype(np.float64)
    a, b = x[0:2 * PAIRS:2], x[1:2 * PAIRS:2]
    out = {}
    for name in ("as built", "all inputs positive"):
        model = build("relu", "none", seed=seed, dtype=np.float64)
        if name != "as built":
            shift_positive(model, np.concatenate([a, b]))
        relus = [m for m in model if isinstance(m, ReLU)]
        with record(model, layers=relus, what="input", keep=True, grads=False) as rec:
            mid = predict(model, (a + b) / 2)
        active = float(np.mean([(rec.values(i) > 0).mean() for i in range(len(relus))]))
        gap = np.abs(mid - (predict(model, a) + predict(model, b)) / 2).max()
        out[name] = (active, float(gap))
    return out
# --8<-- [end:relu_linear]


#: a learning rate ten times R6's: the speed test of note 002's BN claims
FAST_LR = 1.0


def speed():
    """Note 002's "BN trains faster": ReLU with and without BN at lr :data:`LR` and :data:`FAST_LR`.

    Returns ``{(norm, lr): Run}``.
    """
    return {(norm, lr): run("relu", norm, lr=None if lr == LR else lr)
            for lr in (LR, FAST_LR) for norm in ("none", "bn")}


def first_epoch_at(r, level=BN_MIN):
    """The first epoch whose test accuracy reaches ``level`` (None if none does)."""
    reached = np.flatnonzero(r.test_acc >= level)
    return int(reached[0]) if reached.size else None


def overfitting(activation="relu"):
    """Note 002's "BN suppresses overfitting": ``{norm: (train accuracy, test accuracy)}``
    of the trained networks without and with BN, both in evaluation mode."""
    x_train, y_train = digits()[:2]
    return {norm: (float(evaluate(run(activation, norm).model, x_train, y_train)[1]),
                   run(activation, norm).final_acc) for norm in ("none", "bn")}


def claims():
    """R6: the note's sigmoid-vs-BN contrast and the ReLU non-difference; note 002's BN
    claims (faster, less overfitting), γ and β moving, and the all-positive ReLU."""
    r = results()
    relu, relu_bn = r["relu", "none"].final_acc, r["relu", "bn"].final_acc
    return [
        at_most("R6.sigmoid_plain", f"deep sigmoid network without BN: test accuracy after "
                f"{EPOCHS} epochs at most {{bound}} (chance is 10%)",
                r["sigmoid", "none"].final_acc, PLAIN_MAX, note="≈ 11%", fmt=".1%"),
        at_least("R6.sigmoid_bn", "the same network with BN before each sigmoid: at least "
                 "{bound}", r["sigmoid", "bn"].final_acc, BN_MIN, note="94.4%", fmt=".1%"),
        within("R6.relu_bn", "ReLU (He init): test accuracy with and without BN within "
               "{bound} of each other", relu_bn - relu, RELU_GAP, note="little difference",
               fmt=".1%"),
        *_note_002_claims(),
        *_mechanism_claims(),
    ]


#: bounds of the claims beyond R6's table, written once
FAST_PLAIN_MAX, SPEEDUP_MIN, GAP_CHANGE_MAX, GAMMA_MOVE_MIN = 0.20, 1, 0.02, 0.05
AFFINE_MAX, NONLINEAR_MIN = 1e-9, 0.1


def _note_002_claims():
    fast, fit_ = speed(), overfitting()
    gaps = {norm: train - test for norm, (train, test) in fit_.items()}
    return [
        at_most("R6.fast_lr_plain", f"ReLU without BN at lr {FAST_LR:g}: test accuracy after "
                f"{EPOCHS} epochs at most {{bound}}", fast["none", FAST_LR].final_acc,
                FAST_PLAIN_MAX, note="BN allows a larger learning rate (note 002)", fmt=".1%"),
        at_least("R6.fast_lr_bn", f"with BN at lr {FAST_LR:g}: at least {{bound}}",
                 fast["bn", FAST_LR].final_acc, BN_MIN, note="BN speeds up learning (note 002)",
                 fmt=".1%"),
        at_least("R6.bn_faster", f"at lr {LR:g} the ReLU network without BN needs at least "
                 f"{{bound}} epoch(s) more than with BN to reach {BN_MIN:.0%}",
                 first_epoch_at(fast["none", LR]) - first_epoch_at(fast["bn", LR]),
                 SPEEDUP_MIN, note="BN speeds up learning (note 002)", fmt=".0f"),
        within("R6.overfitting", "ReLU: BN changes the train-minus-test accuracy gap by at "
               "most {bound} (no measurable effect on overfitting here)",
               gaps["bn"] - gaps["none"], GAP_CHANGE_MAX,
               note="BN suppresses overfitting (note 002; here: no measurable effect)",
               fmt=".1%"),
    ]


def _mechanism_claims():
    linear = relu_linearity()
    return [
        at_least("R6.gamma_moves", "training moves the last BN layer's scale: mean |γ − 1| "
                 "at least {bound} in the sigmoid network",
                 affine_drift("sigmoid")["gamma"][-1], GAMMA_MOVE_MIN,
                 note="the re-positioning is learned (note 001)", fmt=".2f"),
        at_most("R6.relu_all_positive", "ReLU network whose ReLU inputs are all positive: "
                "f((a + b)/2) − (f(a) + f(b))/2 at most {bound} (an affine map)",
                linear["all inputs positive"][1], AFFINE_MAX,
                note="all-positive ReLU loses its non-linearity (note 001)", fmt="x10"),
        at_least("R6.relu_as_built", "the same network as built: at least {bound}",
                 linear["as built"][1], NONLINEAR_MIN, note="(contrast)", fmt=".2g"),
    ]


@styled
def plot_accuracy(runs=None):
    """Test accuracy per epoch (epoch 0: untrained) of the given :class:`Run` s; by default
    R6's four runs of the note's experiment."""
    fig, ax = figure()
    for r in runs or [run(*key) for key in R6_RUNS[:4]]:
        ax.plot(100 * r.test_acc, "o-" if r.label.startswith("sigmoid") else "s--", ms=3,
                label=r.label)
    ax.axhline(10, color="0.6", lw=1, ls=":")
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", ylim=(0, 100))
    ax.legend(loc="center right")
    return fig
