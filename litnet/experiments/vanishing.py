r"""R10 — the vanishing gradient by depth and activation, and the dying ReLU.

Note 003 says the gradient vanishes because of the activation function (a
sigmoid whose derivative is near zero *saturates*) and because of depth (the
chain rule multiplies one factor per layer). Two measurements follow it.

**Gradient norms by layer.** An untrained stack of ``depth`` blocks
``Linear(100, 100)`` + activation, then ``Linear(100, 10)`` and softmax
cross-entropy, in float64:

* inputs :math:`x \sim \mathcal N(0, I_{100})`, a batch of 200, labels drawn
  uniformly from the 10 classes (at initialisation the data carry no
  information; only the scale of the signal matters);
* zero biases and the *standard* initialisation of each activation: Glorot
  (Xavier) normal, variance :math:`1/n_\text{avg}` (here :math:`1/100`), for
  sigmoid and tanh; He normal, variance :math:`2/n_\text{in}`, for ReLU,
  LeakyReLU(0.01) and PReLU (slope starting at 0.25). The head is Glorot
  normal in every case. ``init="glorot"`` gives every activation the same
  Glorot weights instead, to separate the activation's effect from the
  initialisation's;
* :func:`~litnet.diagnostics.gradient_norms` records
  :math:`\lVert \partial L/\partial h_k \rVert` at the input of every
  ``Linear``: :math:`k = 0` is the network's input :math:`x`, :math:`k =`
  ``depth`` the input of the head. The *first/last ratio* is
  :math:`\lVert \partial L/\partial h_0 \rVert / \lVert \partial L/\partial h_\text{depth} \rVert`,
  and the *per-layer factor* its ``depth``-th root.

Why the sigmoid loses a factor of about 4 per layer: going down one block,

.. math::
    \frac{\partial L}{\partial h_{\ell-1}}
    = \Bigl(\frac{\partial L}{\partial h_\ell} \odot \sigma'(z_\ell)\Bigr) W_\ell ,
    \qquad \sigma'(z) = \sigma(z)\bigl(1 - \sigma(z)\bigr) \le \tfrac14 .

A Glorot matrix with :math:`n_\text{in} = n_\text{out} = n` has
:math:`n \operatorname{Var} W = 1`, so it keeps the norm of a typical vector
on average; what is left is the root mean square of :math:`\sigma'(z_\ell)`.
:func:`sigmoid_factors` measures both, layer by layer.

**The dying ReLU.** Note 003: a ReLU unit whose input is negative outputs 0
and passes no gradient; LeakyReLU (and PReLU, which learns its slope) fixes
that. On the digits (:func:`litnet.data.load_digits`, 1,500 training images of
64 pixels in [0, 1]), a network ``64 → 100 → 100 → 10`` with He-normal weights
and zero biases, float32. The first layer's biases are then shifted by
:math:`-1` (its pre-activations have a standard deviation of about 0.7), a
controlled stand-in for what a too-large update can do in practice. A unit is
*dead* when its output is 0 for every training image; since the first layer
reads the data themselves, a dead first-layer ReLU unit gets a zero gradient
on every mini-batch and can never come back. The same weights are then used
with LeakyReLU(0.01) and PReLU, and each network is trained for 10 epochs
(SGD, lr 0.1, batch 50): :func:`dying_relu`.
"""

from __future__ import annotations

from functools import lru_cache, partial

import numpy as np

from .. import init as _init
from ..activations import LeakyReLU, PReLU, ReLU, Sigmoid, Tanh
from ..cache import shared
from ..diagnostics import gradient_norms, record
from ..linear import Linear
from ..losses import softmax_cross_entropy
from ..module import run_backward
from ..optim import SGD
from ..training import fit, predict
from . import plotting
from .claim import also, at_least, at_most, within
from .common import digits, mlp

WIDTH, BATCH, N_CLASSES, DEPTHS = 100, 200, 10, (10, 40)

#: activation key -> (label, layer factory taking a dtype, its standard initialisation)
ACTIVATIONS = {
    "sigmoid": ("sigmoid", lambda dtype: Sigmoid(), "glorot"),
    "tanh": ("tanh", lambda dtype: Tanh(), "glorot"),
    "relu": ("ReLU", lambda dtype: ReLU(), "he"),
    "leaky_relu": ("LeakyReLU(0.01)", lambda dtype: LeakyReLU(0.01), "he"),
    "prelu": ("PReLU", lambda dtype: PReLU(dtype=dtype), "he"),
}

#: initialisation key -> weight initialiser
INITS = {"glorot": _init.xavier_normal, "he": _init.he_normal}


def _check(activation, init):
    if activation not in ACTIVATIONS:
        raise ValueError(f"vanishing: activation must be one of {list(ACTIVATIONS)}, "
                         f"got {activation!r}")
    if init != "standard" and init not in INITS:
        raise ValueError(f"vanishing: init must be 'standard' or one of {list(INITS)}, "
                         f"got {init!r}")
    return ACTIVATIONS[activation][2] if init == "standard" else init


# --8<-- [start:build_stack]
def build_stack(activation, depth, *, init="standard", rng, width=WIDTH, dtype=np.float64):
    """``depth`` blocks ``Linear(width, width)`` + activation, then ``Linear(width, 10)``.

    ``init="standard"`` is Glorot normal for sigmoid and tanh and He normal for
    the ReLU family; ``"glorot"`` or ``"he"`` force one of them.

    Examples
    --------
    >>> net = build_stack("tanh", 2, rng=np.random.default_rng(0))
    >>> [type(m).__name__ for m in net]
    ['Linear', 'Tanh', 'Linear', 'Tanh', 'Linear']
    """
    weights = INITS[_check(activation, init)]
    make_activation = ACTIVATIONS[activation][1]
    return mlp((width,) * (depth + 1) + (N_CLASSES,), lambda: make_activation(dtype),
               rng=rng, init=weights, head_init=_init.xavier_normal, dtype=dtype)
# --8<-- [end:build_stack]


# --8<-- [start:profile]
def _setting(activation, depth, init, seed):
    """The model and the batch of one measurement: weights first, then x, then labels."""
    rng = np.random.default_rng(seed)
    model = build_stack(activation, depth, init=init, rng=rng)
    x = rng.standard_normal((BATCH, WIDTH))
    y = rng.integers(0, N_CLASSES, BATCH)
    return model, x, y


@shared
def gradient_profile(activation, depth, init="standard", seed=0):
    r"""``norms[k]`` = :math:`\lVert \partial L/\partial h_k \rVert` for ``k = 0 .. depth``
    at initialisation (``k = 0``: the input), a read-only float64 array.

    Examples
    --------
    >>> norms = gradient_profile("sigmoid", 10)
    >>> norms.shape, bool(norms[0] < norms[-1] / 1000)      # vanishes toward the input
    ((11,), True)
    """
    model, x, y = _setting(activation, depth, init, seed)
    norms = gradient_norms(model, x, y, layers=Linear)   # at the input of every Linear
    norms.setflags(write=False)
    return norms
# --8<-- [end:profile]


def shrink_factor(norms):
    r"""Geometric-mean factor per layer, :math:`(n_0 / n_\text{depth})^{1/\text{depth}}`.

    Examples
    --------
    >>> round(shrink_factor([0.01, 0.1, 1.0]), 6)
    0.1
    """
    norms = np.asarray(norms, dtype=np.float64)
    return float((norms[0] / norms[-1]) ** (1.0 / (norms.size - 1)))


@lru_cache(maxsize=64)
def profile_summary(seed=0):
    """``{(activation, depth, init): {"ratio": first/last, "factor": per layer}}`` for every
    activation, both depths of :data:`DEPTHS` and both ``"standard"`` and ``"glorot"``.

    Examples
    --------
    >>> s = profile_summary()
    >>> sorted({k[2] for k in s}), len(s)
    (['glorot', 'standard'], 20)
    """
    out = {}
    for init in ("standard", "glorot"):
        for depth in DEPTHS:
            for activation in ACTIVATIONS:
                norms = gradient_profile(activation, depth, init, seed)
                out[activation, depth, init] = {"ratio": float(norms[0] / norms[-1]),
                                                "factor": shrink_factor(norms)}
    return out


@shared
def sigmoid_factors(depth=40, seed=0):
    r"""The sigmoid stack's per-layer gradient factor next to :math:`\sigma'` of that layer.

    Returns
    -------
    dict of read-only arrays, one entry per block :math:`\ell = 1 \dots` ``depth``
        ``"factor"``: the measured :math:`\lVert \partial L/\partial h_{\ell-1} \rVert /
        \lVert \partial L/\partial h_\ell \rVert`; ``"rms"``, ``"mean"`` and ``"max"``:
        the root mean square, mean and maximum of :math:`\sigma'(z_\ell) = y(1-y)`
        over the batch and the units (``y`` the layer's output).

    Examples
    --------
    >>> f = sigmoid_factors(depth=5)
    >>> f["factor"].shape, bool(f["max"].max() <= 0.25)
    ((5,), True)
    """
    norms = gradient_profile("sigmoid", depth, "standard", seed)
    model, x, _ = _setting("sigmoid", depth, "standard", seed)   # the same weights and x
    with record(model, layers=Sigmoid, keep=True, grads=False, saturation=False) as rec:
        model(x)
    slopes = [y * (1 - y) for y in (rec.values(i) for i in range(depth))]   # sigma'(z_l)
    out = {"factor": norms[:-1] / norms[1:],
           "rms": np.array([np.sqrt(np.mean(s * s)) for s in slopes]),
           "mean": np.array([s.mean() for s in slopes]),
           "max": np.array([s.max() for s in slopes])}
    for a in out.values():
        a.setflags(write=False)
    return out


# -- the dying ReLU ------------------------------------------------------------------

#: dying-ReLU activation key -> (label, layer factory)
DYING = {
    "relu": ("ReLU", ReLU),
    "leaky_relu": ("LeakyReLU(0.01)", partial(LeakyReLU, 0.01)),
    "prelu": ("PReLU", PReLU),
}
SHIFT, DYING_EPOCHS, DYING_LR, DYING_BATCH = 1.0, 10, 0.1, 50


def build_mlp(activation, *, rng, hidden=(100, 100), dtype=np.float32):
    """``64 → hidden... → 10`` with He-normal weights, zero biases, one of :data:`DYING`.

    Examples
    --------
    >>> mlp = build_mlp("relu", rng=np.random.default_rng(0))
    >>> [type(m).__name__ for m in mlp]
    ['Linear', 'ReLU', 'Linear', 'ReLU', 'Linear']
    """
    return mlp((64, *hidden, N_CLASSES), DYING[activation][1], rng=rng, init=_init.he_normal,
               dtype=dtype)


# --8<-- [start:dying]
def negative_units(model, x):
    """Boolean (units,): the first layer's input to its activation is <= 0 for every row of x."""
    return np.all(model[0](x) <= 0, axis=0)


def dead_share(model, x):
    """Share of first-layer units whose activation output is exactly 0 for every row of x."""
    with record(model, layers=[model[1]], grads=False, saturation=False) as rec:
        predict(model, x)
    return float(rec.stats()[0]["frac_dead"])


def unit_gradients(model, x, y):
    r"""Per first-layer unit :math:`j`, the gradient size
    :math:`\lVert \partial L/\partial W_{j,:} \rVert + |\partial L/\partial b_j|` over the
    batch ``(x, y)``; the gradients are zeroed again afterwards."""
    model.zero_grad()
    _, grad = softmax_cross_entropy(model(x), y)
    run_backward(model, grad)
    first = model[0]
    g = np.linalg.norm(first.weight.grad, axis=1) + np.abs(first.bias.grad)
    model.zero_grad()
    return g
# --8<-- [end:dying]


@shared
def dying_relu(shift=SHIFT, epochs=DYING_EPOCHS, seed=0):
    r"""The dying-ReLU experiment for each activation of :data:`DYING` (under a second).

    Every network starts from the same weights (drawn from ``default_rng(seed)``),
    has its first-layer biases shifted by ``-shift``, and is trained with SGD.

    Returns
    -------
    dict
        Per activation key, a dict of plain numbers about the first hidden layer:
        ``preact_std`` (standard deviation of its pre-activations over the training
        images, before the shift), ``negative_at_init`` (share of units with input
        <= 0 on every training image before the shift), ``negative`` (after the
        shift), ``dead`` and
        ``dead_after`` (share with output exactly 0 on every image, before and after
        training), ``no_gradient`` (share of the negative units whose weights and bias
        get exactly zero gradient over the training set), ``gradient_ratio`` (median
        gradient of the negative units over that of the others), ``moved`` (share
        of the negative units whose weights changed during training),
        ``negative_after`` (share with input <= 0 on every image after training),
        ``still_negative`` (share of the units negative after the shift that still
        are after training), ``train_acc`` (training accuracy after
        training), ``slope`` (PReLU only: the learnt slope of the first layer).

    Examples
    --------
    >>> r = dying_relu()
    >>> sorted(r), r["relu"]["no_gradient"]
    (['leaky_relu', 'prelu', 'relu'], 1.0)
    """
    x, y = digits(seed)[:2]
    out = {}
    for key in DYING:
        model = build_mlp(key, rng=np.random.default_rng(seed))   # same weights for all
        first = model[0]
        negative_at_init = negative_units(model, x)
        preact_std = float(first(x).std())
        first.bias.data -= shift                                   # push inputs below 0
        negative = negative_units(model, x)
        dead = dead_share(model, x)
        g = unit_gradients(model, x, y)
        before = np.concatenate([first.weight.data, first.bias.data[:, None]], axis=1)
        h = fit(model, x, y, optimizer=SGD(model.parameters(), lr=DYING_LR), epochs=epochs,
                batch_size=DYING_BATCH, rng=np.random.default_rng([seed, 1]))
        after = np.concatenate([first.weight.data, first.bias.data[:, None]], axis=1)
        moved = np.any(after != before, axis=1)
        negative_after = negative_units(model, x)
        entry = {
            "preact_std": preact_std,
            "negative_at_init": float(negative_at_init.mean()),
            "negative": float(negative.mean()),
            "dead": dead,
            "no_gradient": float(np.mean(g[negative] == 0)),
            "gradient_ratio": float(np.median(g[negative]) / np.median(g[~negative])),
            "moved": float(np.mean(moved[negative])),
            "dead_after": dead_share(model, x),
            "negative_after": float(negative_after.mean()),
            "still_negative": float(np.mean(negative_after[negative])),
            "train_acc": float(h.train_acc[-1]),
        }
        if key == "prelu":
            entry["slope"] = float(model[1].weight.data[0])
        out[key] = entry
    return out


# -- figures ---------------------------------------------------------------------------

@plotting.styled
def plot_gradient_norms(depths=DEPTHS, seed=0):
    r"""Figure: :math:`\lVert \partial L/\partial h_k \rVert` by layer, log scale, one panel
    per depth, one line per activation (dashed: ReLU with the sigmoid's Glorot weights)."""
    fig, axes = plotting.figure(1, len(depths), width=6.4 if len(depths) == 1 else 8.0,
                                sharey=True, squeeze=False)
    for ax, depth in zip(axes[0], depths, strict=True):
        k = np.arange(depth + 1)
        for key, (label, _, init) in ACTIVATIONS.items():
            ax.semilogy(k, gradient_profile(key, depth, seed=seed), "o-", ms=2.5,
                        label=f"{label} ({init})")
        ax.semilogy(k, gradient_profile("relu", depth, "glorot", seed), "--", color="0.4",
                    label="ReLU, Glorot weights")
        ax.set(title=f"depth {depth}", xlabel="k (0 = the input)")
    axes[0, 0].set_ylabel("‖∂L/∂h_k‖")
    axes[0, -1].legend(fontsize=7)
    return fig


@plotting.styled
def plot_sigmoid_factors(depth=40, seed=0):
    """Figure: the sigmoid stack's measured factor per layer next to the rms of σ′."""
    f = sigmoid_factors(depth, seed)
    layers = np.arange(1, depth + 1)
    fig, ax = plotting.figure()
    ax.plot(layers, f["factor"], "o", ms=4, label="measured ‖∂L/∂h_(l−1)‖ / ‖∂L/∂h_l‖")
    ax.plot(layers, f["rms"], "-", label="rms of σ′(z_l)")
    ax.axhline(0.25, color="0.5", ls=":", label="max σ′ = 1/4")
    ax.set(xlabel="layer l", ylim=(0, 0.3))
    ax.legend(loc="lower right")
    return fig


@plotting.styled
def plot_dying(shift=SHIFT, epochs=DYING_EPOCHS, seed=0):
    """Figure: per activation, the share of first-layer units pushed below 0, receiving no
    gradient, and still below 0 after training (bars)."""
    d = dying_relu(shift, epochs, seed)
    keys = list(DYING)
    pos = np.arange(len(keys))
    bars = [("input ≤ 0 on every digit", lambda e: e["negative"]),
            ("no gradient", lambda e: e["negative"] * e["no_gradient"]),
            ("still ≤ 0 after training", lambda e: e["negative_after"])]
    fig, ax = plotting.figure()
    for i, (label, value) in enumerate(bars):
        ax.bar(pos + (i - 1) * 0.26, [100 * value(d[k]) for k in keys], width=0.26, label=label)
    ax.set_xticks(pos, [DYING[k][0] for k in keys])
    ax.set(ylabel="% of first-layer units", ylim=(0, 100 * max(d[k]["negative"] for k in keys)
                                                 * 1.5 + 1))
    ax.legend(ncol=3, loc="upper center", fontsize=7)
    return fig


# -- claims ------------------------------------------------------------------------------

def claims():
    """The R10 claims, each with its bound written once (the reproductions page lists them)."""
    return _gradient_claims() + _dying_claims()


def _gradient_claims():
    """R10's claims on the gradient by layer."""
    s = profile_summary()
    f = sigmoid_factors()

    def factors(activation, init="standard"):
        return [s[activation, depth, init]["factor"] for depth in DEPTHS]

    sig = factors("sigmoid")
    ratio = f["factor"] / f["rms"]
    mean_ratio = float(np.exp(np.mean(np.log(ratio))))
    tanh = factors("tanh")
    family = ("relu", "leaky_relu", "prelu")
    relu_family = [s[a, depth, "standard"]["ratio"] for a in family for depth in DEPTHS]
    spread_40 = max(max(r, 1 / r) for r in (s[a, 40, "standard"]["ratio"] for a in family))
    spread_10 = max(max(r, 1 / r) for r in (s[a, 10, "standard"]["ratio"] for a in family))
    relu_glorot = factors("relu", "glorot")
    return [
        also(at_most(
            "R10.sigmoid_vanishes",
            "sigmoid (Glorot init): the gradient shrinks geometrically toward the input, "
            "by a factor ≤ {bound} per layer at depth 10 and 40",
            max(sig), 0.3, note="σ′ ≤ 1/4: the gradient vanishes with depth", fmt=".1f"),
            measured=f"×{sig[0]:.3f} and ×{sig[1]:.3f} per layer; first/last "
                     f"{s['sigmoid', 10, 'standard']['ratio']:.1e} (depth 10), "
                     f"{s['sigmoid', 40, 'standard']['ratio']:.1e} (depth 40)"),
        also(within(
            "R10.sigmoid_factor_is_slope",
            "the sigmoid's per-layer factor is the root mean square of σ′(z) of that layer: "
            "within {bound} on average over 40 layers and within 25 % in every layer; "
            "σ′ never exceeds 1/4",
            mean_ratio - 1, 0.05, note="σ′(x) = σ(x)(1 − σ(x)) ≤ 1/4", fmt=".0%"),
            0.75 < ratio.min() and ratio.max() < 1.25 and f["max"].max() <= 0.25,
            f"factor / rms σ′ = {mean_ratio:.3f} on average, {ratio.min():.2f}–"
            f"{ratio.max():.2f} per layer; rms σ′ {f['rms'].min():.3f}–{f['rms'].max():.3f}, "
            f"max σ′ {f['max'].max():.4f}"),
        also(at_least(
            "R10.tanh_slower",
            "tanh (Glorot init): a per-layer factor ≥ {bound} at depth 10 and 40, far from the "
            "sigmoid's (tanh′(0) = 1)",
            min(tanh), 0.8, note="(tanh is the sigmoid's zero-centred cousin)", fmt=".1f"),
            measured=f"×{tanh[0]:.3f} and ×{tanh[1]:.3f} per layer; first/last "
                     f"{s['tanh', 40, 'standard']['ratio']:.2f} at depth 40"),
        also(at_most(
            "R10.relu_family_keeps",
            "ReLU, LeakyReLU and PReLU (He init): the first/last ratio stays within a factor "
            "5 of 1 at depth 10 and {bound} at depth 40",
            spread_40, 20, note="ReLU's derivative is 1 for positive inputs: no vanishing",
            fmt="g"),
            spread_10 <= 5, f"first/last {min(relu_family):.2f}–{max(relu_family):.2f}"),
        also(at_least(
            "R10.relu_needs_he",
            "with the sigmoid's Glorot weights instead (variance 1/n), ReLU halves the "
            "squared norm per layer: factor within {bound}–0.8 (1/√2 ≈ 0.71)",
            min(relu_glorot), 0.6,
            note="(beyond the note: the initialisation matters too, chapter 2)", fmt=".1f"),
            max(relu_glorot) <= 0.8,
            f"×{relu_glorot[0]:.3f} and ×{relu_glorot[1]:.3f} per layer; first/last "
            f"{s['relu', 40, 'glorot']['ratio']:.1e} at depth 40"),
    ]


def _dying_claims():
    """R10's claims on the dying ReLU."""
    d = dying_relu()
    relu, leaky, prelu = d["relu"], d["leaky_relu"], d["prelu"]
    return [
        also(at_least(
            "R10.dying_relu",
            "shifting the first layer's biases by −1 kills ≥ {bound} of its ReLU units "
            "(output 0 on every training digit), against ≤ 5 % before the shift",
            relu["dead"], 0.25, note="negative inputs make ReLU units die", fmt=".0%"),
            relu["negative_at_init"] <= 0.05,
            f"{100 * relu['negative_at_init']:.0f} % → {100 * relu['dead']:.0f} % dead"),
        also(at_least(
            "R10.dead_stay_dead",
            "every dead ReLU unit gets exactly zero gradient ({bound} of them), so after 10 "
            "epochs of SGD all of them are still dead and their weights have not changed at all",
            relu["no_gradient"], 1.0, note="a dead ReLU unit stops learning", fmt=".0%"),
            relu["moved"] == 0.0 and relu["still_negative"] == 1.0,
            f"zero gradient for {100 * relu['no_gradient']:.0f} % of them; weights changed "
            f"for {100 * relu['moved']:.0f} %; still dead after training: "
            f"{100 * relu['still_negative']:.0f} % (dead in all: "
            f"{100 * relu['dead_after']:.0f} %)"),
        also(at_most(
            "R10.leaky_gradient_flows",
            "LeakyReLU(0.01) on the same weights: no dead unit, every unit with negative "
            "inputs gets a non-zero gradient (zero gradient for {bound} of them) and its "
            "weights move during training",
            leaky["no_gradient"], 0.0, note="LeakyReLU solves the dying ReLU", fmt=".0%"),
            leaky["dead"] == 0.0 and leaky["moved"] == 1.0,
            f"dead {100 * leaky['dead']:.0f} %; zero gradient for "
            f"{100 * leaky['no_gradient']:.0f} %; gradient {leaky['gradient_ratio']:.3f}× "
            f"that of the other units; weights moved for {100 * leaky['moved']:.0f} %"),
        also(at_most(
            "R10.prelu_recovers",
            "PReLU (slope learnt from 0.25): after training, at most {bound} of the units "
            "pushed below 0 still have a negative input for every digit",
            prelu["still_negative"], 0.5, note="(parametric ReLU also exists)", fmt=".0%"),
            measured=f"{100 * prelu['negative']:.0f} % → {100 * prelu['negative_after']:.0f} % "
                     f"(LeakyReLU(0.01): → {100 * leaky['negative_after']:.0f} %, ReLU: → "
                     f"{100 * relu['negative_after']:.0f} %); learnt slope {prelu['slope']:.2f}"),
    ]
