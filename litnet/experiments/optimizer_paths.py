r"""R3 — the optimisers' paths on the elongated bowl :math:`f(x, y) = x^2/20 + y^2`.

The book's comparison (note 002; *Deep Learning from Scratch*, ch. 6): start
at :math:`(-7, 2)` and take 30 updates with each optimiser. The point is a
:class:`~litnet.Parameter` and the optimisers are the ones that train networks
(:mod:`litnet.optim`), driven through the same ``zero_grad`` / ``.grad`` /
``step`` cycle; only the gradient comes from
:func:`~litnet.data.elongated_bowl` instead of a backward pass.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ..data import elongated_bowl
from ..optim import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSProp
from ..parameter import Parameter
from . import plotting
from .claim import Claim, all_of, le, lt

START, STEPS = (-7.0, 2.0), 30

#: name -> (optimiser class, hyper-parameters): the book's four, then two extras
#: with Momentum's learning rate (Nesterov) and PyTorch's default decay (RMSProp).
OPTIMIZERS = {
    "SGD": (SGD, {"lr": 0.95}),
    "Momentum": (Momentum, {"lr": 0.1, "momentum": 0.9}),
    "AdaGrad": (AdaGrad, {"lr": 1.5}),
    "Adam": (Adam, {"lr": 0.3, "betas": (0.9, 0.999)}),
    "Nesterov": (Nesterov, {"lr": 0.1, "momentum": 0.9}),
    "RMSProp": (RMSProp, {"lr": 0.1, "alpha": 0.99}),
}
BOOK = ("SGD", "Momentum", "AdaGrad", "Adam")
#: name -> hyper-parameters alone (what the chapter quotes as settings)
HYPER = {name: hyper for name, (_, hyper) in OPTIMIZERS.items()}

#: where the book's code ends after 30 updates, and the length of its path
BOOK_END = {"SGD": (-0.3504, 0.0848), "Momentum": (0.8964, 0.0881),
            "AdaGrad": (-0.1202, 0.0), "Adam": (0.1360, 0.3182)}
BOOK_LENGTH = {"SGD": 36.99, "Momentum": 12.80, "AdaGrad": 7.58, "Adam": 8.30}


# --8<-- [start:descend]
def descend(optimizer_cls, steps=STEPS, start=START, on_step=None, **hyper):
    """The ``steps + 1`` points visited from ``start``, as an array (steps + 1, 2).

    ``on_step(opt, t)``, if given, runs before update ``t = 1, 2, ...`` (e.g. to
    change a hyper-parameter, as a learning-rate schedule would).

    Examples
    --------
    >>> descend(SGD, steps=1, lr=0.5).tolist()   # gradient at (-7, 2) is (-0.7, 4)
    [[-7.0, 2.0], [-6.65, 0.0]]
    """
    point = Parameter(np.array(start, dtype=np.float64))
    opt = optimizer_cls([point], **hyper)
    path = [point.data.copy()]
    for t in range(1, steps + 1):
        if on_step is not None:
            on_step(opt, t)
        opt.zero_grad()
        _, grad = elongated_bowl(point.data)
        point.accumulate(grad)          # where a network's backward would put dL/dθ
        opt.step()
        path.append(point.data.copy())
    return np.array(path)
# --8<-- [end:descend]


def path_length(path):
    """Sum of the lengths of the segments of a (K, 2) path.

    Examples
    --------
    >>> path_length(np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 0.0]]))
    9.0
    """
    return float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())


@cache
def paths(steps=STEPS):
    """``{name: path}`` for every optimiser of :data:`OPTIMIZERS` (read-only arrays).

    Examples
    --------
    >>> p = paths()
    >>> list(p)[:4], p["SGD"].shape
    (['SGD', 'Momentum', 'AdaGrad', 'Adam'], (31, 2))
    """
    out = {}
    for name, (cls, hyper) in OPTIMIZERS.items():
        path = descend(cls, steps, **hyper)
        path.setflags(write=False)
        out[name] = path
    return out


@cache
def eps_effect():
    r"""How far the end point moves when :math:`\epsilon` is the book's instead of PyTorch's.

    AdaGrad: :math:`10^{-7}` (book) vs :math:`10^{-10}`, both outside the square
    root. Adam: the book adds :math:`10^{-7}` to the *uncorrected* :math:`\sqrt{v}`,
    which is PyTorch's form with :math:`\epsilon_t = 10^{-7}/\sqrt{1 - \beta_2^t}`
    (:math:`3.2\times10^{-6}` at :math:`t = 1`, :math:`5.8\times10^{-7}` at
    :math:`t = 30`): litnet's Adam is run with that :math:`\epsilon_t`, set before
    every step, which is the book's update exactly, and compared with PyTorch's
    constant :math:`10^{-8}`.

    Returns ``{name: largest coordinate difference of the end point}``.

    Examples
    --------
    >>> max(eps_effect().values()) < 1e-5
    True
    """
    base = paths()
    adam_cls, adam_hyper = OPTIMIZERS["Adam"]
    beta2 = adam_hyper["betas"][1]
    adagrad_cls, adagrad_hyper = OPTIMIZERS["AdaGrad"]

    def book_eps(opt, t):
        opt.eps = 1e-7 / np.sqrt(1 - beta2**t)

    book = {"AdaGrad": descend(adagrad_cls, eps=1e-7, **adagrad_hyper),
            "Adam": descend(adam_cls, on_step=book_eps, **adam_hyper)}
    return {n: float(np.abs(book[n][-1] - base[n][-1]).max()) for n in book}


@plotting.styled
def plot_paths(steps=STEPS):
    """Figure: each optimiser's path over the contours of the bowl, one panel each."""
    xs, ys = np.meshgrid(np.linspace(-10, 10, 201), np.linspace(-5, 5, 101))
    height, _ = elongated_bowl(np.stack([xs, ys], axis=-1))
    fig, axes = plotting.figure(2, 3, width=8.0, height=4.6, sharex=True, sharey=True)
    for ax, (name, path) in zip(axes.flat, paths(steps).items(), strict=True):
        ax.contour(xs, ys, height, levels=np.geomspace(0.05, 30, 12), colors="0.75",
                   linewidths=0.7)
        ax.plot(path[:, 0], path[:, 1], "o-", ms=2.5, lw=1.2, color=plotting.PALETTE[6])
        ax.plot(0, 0, "+", ms=9, mew=2, color="0.2")
        ax.set(title=name + ("" if name in BOOK else " (extra)"), xlim=(-10, 10), ylim=(-5, 5))
        ax.grid(False)
    return fig

def claims():
    """The R3 claims (the reproductions page lists them)."""
    p = paths()
    diff = {n: float(np.abs(p[n][-1] - BOOK_END[n]).max()) for n in BOOK}
    length = {n: path_length(p[n]) for n in p}
    ends = "; ".join(f"{n} ({p[n][-1][0]:.4f}, {p[n][-1][1]:.4f})" for n in BOOK)
    book_ends = "; ".join(f"{n} ({x:.4f}, {y:.4f})" for n, (x, y) in BOOK_END.items())
    eps = eps_effect()
    f_end = {n: float(elongated_bowl(p[n][-1])[0]) for n in p}
    return [
        all_of("R3.end_points",
               "litnet's SGD, Momentum, AdaGrad and Adam end where the book's code ends "
               f"({STEPS} updates from ({START[0]:g}, {START[1]:g})), within {{end}}",
               note=book_ends, measured=f"{ends} (largest difference {max(diff.values()):.1e})",
               end=lt(max(diff.values()), 1e-3, "x10")),
        all_of("R3.path_lengths",
               "the four paths have the book's lengths (to its two decimals: within {half} "
               "of them)", note=", ".join(f"{BOOK_LENGTH[n]:.2f}" for n in BOOK),
               measured=", ".join(f"{length[n]:.2f}" for n in BOOK),
               half=le(max(abs(length[n] - BOOK_LENGTH[n]) for n in BOOK), 0.005 + 1e-9,
                       ".3f")),
        all_of("R3.eps_placement",
               "PyTorch's ε (placement and size) instead of the book's moves the AdaGrad "
               "and Adam end points by less than {moved}",
               note="AdaGrad ε = 1e−7; Adam ε = 1e−7 added to the uncorrected √v",
               measured=f"AdaGrad {eps['AdaGrad']:.1e}, Adam {eps['Adam']:.1e}",
               moved=lt(max(eps.values()), 1e-5, "x10")),
        Claim("R3.nesterov",
              "extra: with Momentum's settings, Nesterov overshoots less: a shorter path "
              "ending lower on f",
              "(not in the note)",
              f"length {length['Nesterov']:.2f} vs {length['Momentum']:.2f}, f "
              f"{f_end['Nesterov']:.4f} vs {f_end['Momentum']:.4f}",
              length["Nesterov"] < length["Momentum"] and f_end["Nesterov"] < f_end["Momentum"]),
    ]
