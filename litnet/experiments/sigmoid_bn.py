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
from functools import lru_cache, partial

import numpy as np

from .. import init
from ..activations import ReLU, Sigmoid
from ..batchnorm import BatchNorm1d
from ..cache import shared
from ..data import load_digits
from ..diagnostics import Probe
from ..groupnorm import GroupNorm
from ..io import load_state, state_arrays
from ..layernorm import LayerNorm
from ..linear import Linear
from ..module import Sequential
from ..optim import SGD, Adam
from ..training import evaluate, fit
from .claim import Claim

N_IN, WIDTH, DEPTH, N_CLASSES = 64, 100, 5, 10
EPOCHS, LR, BATCH_SIZE = 20, 0.1, 100
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


@lru_cache(maxsize=1)
def digits():
    """The 1,500 / 297 split used by every experiment of chapter 3 (float32)."""
    split = load_digits(rng=np.random.default_rng(SPLIT_SEED))
    for a in split:
        a.flags.writeable = False
    return split


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
    make_norm = NORMS[norm][1]
    rng = np.random.default_rng(seed)
    layers, n_in = [], N_IN
    for _ in range(DEPTH):
        layers.append(Linear(n_in, WIDTH, init=weight_init, rng=rng, dtype=dtype))
        if make_norm is not None:
            layers.append(make_norm(WIDTH, dtype))
        layers.append(act())
        n_in = WIDTH
    layers.append(Linear(n_in, N_CLASSES, init=weight_init, rng=rng, dtype=dtype))
    return Sequential(*layers)
# --8<-- [end:build]


def _readonly(a, dtype=np.float64):
    a = np.array(a, dtype=dtype)
    a.flags.writeable = False
    return a


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


def run(activation="sigmoid", norm="none", *, init_std=None, optimizer="sgd",
        epochs=EPOCHS, seed=0):
    """Train one network of :func:`build` on the digits and return its :class:`Run`.

    ``optimizer`` is ``"sgd"`` (lr 0.1, the note's setting) or ``"adam"`` (lr 1e-3,
    an extra for R8). Cached: the chapter, its notebook and the tests share one run.

    Examples
    --------
    >>> r = run("relu", "bn", epochs=1)
    >>> r.test_acc.shape, r.pre_hist.shape       # epochs 0 and 1; 49 bins
    ((2,), (2, 49))
    """
    # one cache entry per setting, however the arguments were spelled
    return _run(activation, norm, init_std, optimizer, epochs, seed)


def _pre_activation_summary(probe):
    """The ``pre_*`` fields of :class:`Run` from the probe's recordings, one row per epoch."""
    pre = [rec.values(0) for rec in probe.recorders]          # epochs 0..E, (297, 100) each
    hist = probe.histograms()[:, 0]
    return {"pre_mean": _readonly([v.mean(dtype=np.float64) for v in pre]),
            "pre_median": _readonly([np.median(v) for v in pre]),
            "pre_std": _readonly([v.std(dtype=np.float64) for v in pre]),
            "pre_mode": _readonly(bin_centres()[hist.argmax(axis=1)]),
            "pre_hist": _readonly(hist, np.int64),
            "pre_outside": _readonly([v.size - c.sum() for v, c in zip(pre, hist, strict=True)],
                                     np.int64)}


def _label(activation, norm, init_std, optimizer):
    return (f"{activation}, {NORMS[norm][0]}" + (f", init std {init_std:g}" if init_std else "")
            + (", Adam" if optimizer == "adam" else ""))


# --8<-- [start:run]
@shared
def _train(activation, norm, init_std, optimizer, epochs, seed):
    x_train, y_train, x_test, y_test = digits()
    model = build(activation, norm, init_std=init_std, seed=seed)
    params = model.parameters()
    opt = SGD(params, lr=LR) if optimizer == "sgd" else Adam(params, lr=1e-3)
    # the input of the last hidden activation, on the test digits, after every epoch
    probe = Probe(x_test, layers=[model[-2]], what="input", bins=BINS, keep=True)
    loss0, acc0 = evaluate(model, x_test, y_test)                 # epoch 0
    h = fit(model, x_train, y_train, optimizer=opt, epochs=epochs,
            batch_size=BATCH_SIZE, rng=np.random.default_rng(ORDER_SEED),
            x_val=x_test, y_val=y_test, callbacks=[probe], eval_train=False)
    return dict(label=_label(activation, norm, init_std, optimizer),
                test_acc=_readonly([acc0, *h.val_acc]),
                test_loss=_readonly([loss0, *h.val_loss]),
                train_loss=_readonly(h.train_loss), train_acc=_readonly(h.train_acc),
                state=state_arrays(model), training=model.training,
                **_pre_activation_summary(probe))
# --8<-- [end:run]


@lru_cache(maxsize=64)
def _run(activation, norm, init_std, optimizer, epochs, seed):
    # the trained weights may come from another process (see litnet.cache): rebuild the model
    result = dict(_train(activation, norm, init_std, optimizer, epochs, seed))
    model = load_state(build(activation, norm, init_std=init_std, seed=seed),
                       result.pop("state"))
    model.train(result.pop("training"))
    return Run(model=model, **result)


#: the six runs of the R6 figure, in plotting order: (activation, norm)
R6_RUNS = (("sigmoid", "none"), ("sigmoid", "bn"), ("relu", "none"), ("relu", "bn"),
           ("sigmoid", "ln"), ("sigmoid", "gn"))


def results():
    """``{(activation, norm): Run}`` for the six runs of R6 (cached by :func:`run`)."""
    return {key: run(*key) for key in R6_RUNS}


def claims():
    """R6: the note's sigmoid-vs-BN contrast and the ReLU non-difference."""
    r = results()
    sig, sig_bn = r["sigmoid", "none"].final_acc, r["sigmoid", "bn"].final_acc
    relu, relu_bn = r["relu", "none"].final_acc, r["relu", "bn"].final_acc
    return [
        Claim("R6.sigmoid_plain", "deep sigmoid network without BN: test accuracy after 20 "
              "epochs at most 20 % (chance is 10 %)", "≈ 11 %", f"{sig:.1%}", sig <= 0.20),
        Claim("R6.sigmoid_bn", "the same network with BN before each sigmoid: at least 90 %",
              "94.4 %", f"{sig_bn:.1%}", sig_bn >= 0.90),
        Claim("R6.relu_bn", "ReLU (He init): with and without BN within 3 points",
              "little difference", f"{relu:.1%} without, {relu_bn:.1%} with BN",
              abs(relu - relu_bn) <= 0.03),
    ]
