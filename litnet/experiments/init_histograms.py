r"""R2 — how the initial weight scale shapes the activations of an untrained network.

The book's experiment (note 002; *Deep Learning from Scratch*, ch. 6): a batch of
1000 standard-normal inputs with 100 features goes through five layers of 100
units, without biases and without any training; we look at the distribution of
each layer's activations. Everything here is built from litnet layers
(:class:`~litnet.Linear` with ``bias=False`` followed by an activation) and the
initialisers of :mod:`litnet.init`.

Two more checks come from note 003:

* Glorot's initialiser has variance :math:`1/n_\text{avg}` (checked on a
  1000×1000 matrix);
* with it, the variance of the activations going forward and of the gradients
  going backward changes little from layer to layer in a deep tanh network.
"""

from __future__ import annotations

from functools import cache, partial

import numpy as np

from .. import init
from ..activations import ReLU, Sigmoid, Tanh
from ..diagnostics import record
from ..linear import Linear
from ..module import Sequential
from . import plotting
from .claim import all_of, also, ge, gt, le, lt, within

#: initialiser name -> (label for tables and figures, weight initialiser)
# --8<-- [start:inits]
INITS = {
    "std1": ("std 1", partial(init.normal, std=1.0)),
    "std0.01": ("std 0.01", partial(init.normal, std=0.01)),
    "xavier": ('"Xavier" (book)', partial(init.xavier_normal, mode="fan_in")),  # 1/√n_in
    "he": ("He", init.he_normal),                                             # √(2/n_in)
    "glorot_normal": ("Glorot normal", init.xavier_normal),                   # var 1/n_avg
    "glorot_uniform": ("Glorot uniform", init.xavier_uniform),                # ±√(3/n_avg)
}
# --8<-- [end:inits]

#: activation name -> layer class
ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU}

N_SAMPLES, WIDTH, DEPTH = 1000, 100, 5
#: layers of the tanh stack of :func:`deep_tanh_variance`
TANH_DEPTH = 10
GLOROT_TALL = (1000, 250)     # (out_features, in_features): fan_avg 625, fan_in 250


# --8<-- [start:build]
def build_stack(init_name, activation, *, depth=DEPTH, width=WIDTH, rng):
    """``depth`` blocks of ``Linear(width, width, bias=False)`` + activation.

    Examples
    --------
    >>> import numpy as np
    >>> net = build_stack("he", "relu", depth=2, width=3, rng=np.random.default_rng(0))
    >>> [type(m).__name__ for m in net]
    ['Linear', 'ReLU', 'Linear', 'ReLU']
    """
    _, weight_init = INITS[init_name]
    layers = []
    for _ in range(depth):
        layers += [Linear(width, width, bias=False, init=weight_init, rng=rng),
                   ACTIVATIONS[activation]()]
    return Sequential(*layers)
# --8<-- [end:build]


@cache
# --8<-- [start:activations]
def activations(init_name, activation, seed=0):
    """The five layers' activations, each (1000, 100) float32 (read-only arrays).

    One generator draws the input first and then the weights, as the book's
    script does with NumPy's global state; a :mod:`~litnet.diagnostics`
    recorder keeps a copy of every activation layer's output.

    Examples
    --------
    >>> acts = activations("he", "relu")
    >>> len(acts), acts[0].shape
    (5, (1000, 100))
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_SAMPLES, WIDTH)).astype(np.float32)
    net = build_stack(init_name, activation, rng=rng)
    with record(net, layers=ACTIVATIONS[activation], keep=True, saturation=False,
                grads=False) as rec:
        net(x)                                   # no training: one forward pass
    out = tuple(rec.values(i) for i in range(len(rec)))
    for a in out:
        a.setflags(write=False)                  # cached: nobody may modify it
    return out
# --8<-- [end:activations]


def layer_stats(a):
    r"""Mean, std and the share (in %) of values near 0 and near ±1.

    ``near0`` is the share with :math:`|a| \le 0.05`, ``near1`` with :math:`|a| > 0.95`;
    for the sigmoid these are the book's tails [0, 0.05] and (0.95, 1].

    Examples
    --------
    >>> import numpy as np
    >>> layer_stats(np.array([0.0, 0.5, 0.99, 1.0]))
    {'mean': 0.6225, 'std': 0.4123..., 'near0': 25.0, 'near1': 50.0}
    """
    a = np.asarray(a, dtype=np.float64)
    mag = np.abs(a)
    return {"mean": float(a.mean()), "std": float(a.std()),
            "near0": float(100 * np.mean(mag <= 0.05)),
            "near1": float(100 * np.mean(mag > 0.95))}


@cache
def stats_table(seed=0):
    """``{(init_name, activation): [stats of layer 1, ..., layer 5]}`` for every pair.

    Examples
    --------
    >>> table = stats_table()
    >>> round(table["std0.01", "sigmoid"][4]["mean"], 2)
    0.5
    """
    return {(i, a): [layer_stats(z) for z in activations(i, a, seed)]
            for a in ACTIVATIONS for i in INITS}


@cache
def glorot_variance(shape=(1000, 1000), seed=0):
    r"""Empirical variance of Glorot-initialised weights of ``shape`` times :math:`n_\text{avg}`.

    Both should be 1: normal with variance :math:`1/n_\text{avg}`, uniform on
    :math:`\pm\sqrt{3/n_\text{avg}}` (variance :math:`\text{bound}^2/3`), where
    :math:`n_\text{avg} = (n_\text{in} + n_\text{out})/2`.

    Examples
    --------
    >>> v = glorot_variance()
    >>> abs(v["normal"] - 1) < 0.02 and abs(v["uniform"] - 1) < 0.02
    True
    """
    rng = np.random.default_rng(seed)
    fan_avg = (shape[0] + shape[1]) / 2
    out = {}
    for name, fn in (("normal", init.xavier_normal), ("uniform", init.xavier_uniform)):
        w = fn(shape, rng=rng, dtype=np.float64)
        out[name] = float(w.var() * fan_avg)
    return out


@cache
def deep_tanh_variance(init_name="glorot_normal", depth=TANH_DEPTH, seed=0):
    r"""Variance of the activations (forward) and of the gradients (backward), per layer.

    A ``depth``-layer tanh stack of width 100 gets the standard-normal batch and,
    at its output, a standard-normal :math:`\partial L/\partial y`. For each
    tanh layer :math:`\ell`, ``forward[l]`` is the variance of its output and
    ``backward[l]`` the mean square of :math:`\partial L/\partial s_\ell`, the
    gradient at its input (the pre-activation :math:`s_\ell`), both recorded by
    the hooks of :func:`litnet.diagnostics.record`. The per-layer ratios are
    taken in the direction each signal travels: ``forward_ratio[l] =
    forward[l+1] / forward[l]`` and ``backward_ratio[l] = backward[l] /
    backward[l+1]``; 1 means the variance is kept.

    Examples
    --------
    >>> v = deep_tanh_variance("glorot_normal", depth=3)
    >>> len(v["forward"]), len(v["forward_ratio"])
    (3, 2)
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_SAMPLES, WIDTH)).astype(np.float32)
    net = build_stack(init_name, "tanh", depth=depth, rng=rng)
    with record(net, layers=Tanh, saturation=False) as rec:
        y = net(x)
        net.backward(rng.standard_normal(y.shape).astype(np.float32))
    fwd = rec.stats().column("std") ** 2
    bwd = np.array([r.grad_norms[0] ** 2 / y.size for r in rec])   # mean square of dL/ds
    return {"forward": fwd.tolist(), "backward": bwd.tolist(),
            "forward_ratio": (fwd[1:] / fwd[:-1]).tolist(),
            "backward_ratio": (bwd[:-1] / bwd[1:]).tolist()}


def _per_layer(table, key, field):
    return [s[field] for s in table[key]]


@plotting.styled
def plot_histograms(activation="sigmoid", inits=("std1", "std0.01", "xavier"), seed=0):
    """Figure: histograms of each layer's activations (columns) for each initialisation
    (rows). For ReLU the zeros are left out and each row has its own range."""
    fig, axes = plotting.figure(len(inits), DEPTH, width=8.0, height=1.3 * len(inits) + 0.6,
                                sharey="row", squeeze=False)
    for r, (row, init_name) in enumerate(zip(axes, inits, strict=True)):
        acts = activations(init_name, activation, seed)
        if activation == "relu":
            values = [a[a > 0] for a in acts]
            span = (0.0, float(max(np.percentile(v, 99) for v in values)))
        else:
            values = [a.ravel() for a in acts]
            span = (0.0, 1.0) if activation == "sigmoid" else (-1.0, 1.0)
        for k, (ax, v) in enumerate(zip(row, values, strict=True), start=1):
            counts, edges = np.histogram(v, bins=30, range=span)
            ax.stairs(counts, edges, fill=True, color=plotting.PALETTE[5])
            ax.set_yticks([])
            ax.set_xticks(span, [f"{e:.2g}" for e in span])
            ax.tick_params(labelsize=7)
            ax.grid(False)
            if r == 0:
                ax.set_title(f"layer {k}")
        row[0].set_ylabel(INITS[init_name][0], fontsize=8)
    return fig

def claims():
    """The R2 claims with their thresholds (the reproductions page lists them)."""
    return _histogram_claims() + _glorot_claims()


def _histogram_claims():
    """R2's claims on the activation histograms of the five-layer stacks."""
    t = stats_table()
    out = []

    near0 = _per_layer(t, ("std1", "sigmoid"), "near0")
    near1 = _per_layer(t, ("std1", "sigmoid"), "near1")
    out.append(all_of(
        "R2.std1_sigmoid_saturates",
        "std 1, sigmoid: every layer has more than {tail}% of its activations in each tail",
        note="29–38% in [0, 0.05], 35–38% in (0.95, 1]",
        measured=f"{min(near0):.1f}–{max(near0):.1f}% and {min(near1):.1f}–{max(near1):.1f}%",
        tail=gt(min(min(near0), min(near1)), 25, ".0f")))

    std = _per_layer(t, ("std0.01", "sigmoid"), "std")
    mean = _per_layer(t, ("std0.01", "sigmoid"), "mean")
    out.append(all_of(
        "R2.std001_sigmoid_collapses",
        "std 0.01, sigmoid: every unit outputs about 0.5 (std < {std} and mean within "
        "{mean} of 0.5 in every layer)",
        note="mean 0.50, std ≈ 0.012",
        measured=f"mean {min(mean):.3f}–{max(mean):.3f}, std {min(std):.4f}–{max(std):.4f}",
        std=lt(max(std), 0.03, ".2f"), mean=lt(max(abs(m - 0.5) for m in mean), 0.01, ".2f")))

    std = _per_layer(t, ("xavier", "sigmoid"), "std")
    tails = [max(s["near0"], s["near1"]) for s in t["xavier", "sigmoid"]]
    out.append(all_of(
        "R2.xavier_sigmoid_spread",
        'book "Xavier", sigmoid: std within {low}–{high} and under {tail}% in either tail, '
        "every layer", note="std 0.12–0.21, under 1% near 0 or 1",
        measured=f"std {min(std):.3f}–{max(std):.3f}, tails ≤ {max(tails):.2f}%",
        low=ge(min(std), 0.1, ".1f"), high=le(max(std), 0.25, ".2f"),
        tail=lt(max(tails), 1, ".0f")))

    std = _per_layer(t, ("std1", "relu"), "std")
    growth = (std[-1] / std[0]) ** (1 / (len(std) - 1))
    expected = np.sqrt(WIDTH / 2)
    out.append(all_of(
        "R2.std1_relu_explodes",
        f"std 1, ReLU: the std grows by a factor of about √(n/2) ≈ {expected:.2f} per layer "
        "(within {off})", note="≈ 7× per layer (5.9 → 17 700)",
        measured=f"×{growth:.2f} per layer ({std[0]:.1f} → {std[-1]:.0f})",
        off=lt(abs(growth / expected - 1), 0.2, ".0%")))

    std = _per_layer(t, ("he", "relu"), "std")
    out.append(all_of(
        "R2.he_relu_stable",
        f"He, ReLU: the std stays within a factor {{factor}} over the {DEPTH} layers",
        note="std 0.8–1.0 in all five layers",
        measured=f"std {min(std):.2f}–{max(std):.2f} (factor {max(std) / min(std):.2f})",
        factor=lt(max(std) / min(std), 2, ".0f")))
    return out


def _glorot_claims():
    """R2's claims on Glorot's variance rule."""
    out = []
    shapes = ((1000, 1000), GLOROT_TALL)
    v = {shape: glorot_variance(shape) for shape in shapes}
    err = max(abs(x - 1) for per in v.values() for x in per.values())
    out.append(also(within(
        "R2.glorot_variance",
        f"Glorot weights on a 1000×1000 and a {GLOROT_TALL[0]}×{GLOROT_TALL[1]} matrix have "
        "variance 1/fan_avg within {bound} (on the second, the book's 1/fan_in is "
        f"{sum(GLOROT_TALL) / 2 / GLOROT_TALL[1]:g}× larger)",
        err, 0.02, note="“σ² = 1/fan_avg” (normal), “r = sqrt(3/fan_avg)” (uniform); "
        "note 003 names the first Xavier's, the second Glorot's", fmt=".0%"),
        measured="; ".join(f"{a}×{b}: Var·fan_avg = {v[a, b]['normal']:.4f} (normal), "
                           f"{v[a, b]['uniform']:.4f} (uniform)" for a, b in shapes)))

    g = deep_tanh_variance("glorot_normal")
    small = deep_tanh_variance("std0.01")
    large = deep_tanh_variance("std1")
    ratios = g["forward_ratio"] + g["backward_ratio"]
    out.append(all_of(
        "R2.glorot_deep_tanh",
        f"Glorot, {TANH_DEPTH}-layer tanh: forward and backward variance change "
        "by less than {change}× per layer (std 0.01: forward shrinks > {shrink}× per layer; "
        "std 1: backward grows > {grow}× per layer)",
        note="Xavier keeps the activation and gradient variance roughly constant (note 003's "
             "“Xavier”: Glorot's normal rule)",
        measured=f"per-layer ratios {min(ratios):.2f}–{max(ratios):.2f}; std 0.01 forward "
                 f"≤ {max(small['forward_ratio']):.1e}, std 1 backward ≥ "
                 f"{min(large['backward_ratio']):.2f}",
        change=lt(max(max(ratios), 1 / min(ratios)), 3, ".0f"),
        shrink=gt(1 / max(small["forward_ratio"]), 10, ".0f"),
        grow=gt(min(large["backward_ratio"]), 3, ".0f")))
    return out


def weight_gradient_ratio(init_name, activation="sigmoid", seed=0):
    r""":math:`\lVert \partial L/\partial W_1 \rVert / \lVert \partial L/\partial W_5 \rVert`, first
    layer over last, in the five-layer stack of :func:`build_stack` at initialisation.

    The batch is the histograms' (drawn first, then the weights); at the top a
    standard-normal :math:`\partial L/\partial y`, as in :func:`deep_tanh_variance`.
    Below 1 the gradient shrinks toward the input.

    Examples
    --------
    >>> bool(weight_gradient_ratio("std0.01") < 1e-3 < weight_gradient_ratio("std1"))
    True
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_SAMPLES, WIDTH)).astype(np.float32)
    net = build_stack(init_name, activation, rng=rng)
    y = net(x)
    net.backward(rng.standard_normal(y.shape).astype(np.float32))
    linears = [m for m in net if isinstance(m, Linear)]
    return float(np.linalg.norm(linears[0].weight.grad) / np.linalg.norm(linears[-1].weight.grad))
