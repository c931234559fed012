r"""R13: a 40-layer sigmoid network with and without skip connections.

Note 004 ends by saying that the effect of its three-weight example becomes
much clearer around 40 layers. The setting used here:

* input: the 8×8 digits (:func:`litnet.data.load_digits`, 64 pixels in [0, 1]),
  so every hidden layer has width 64 and no input layer is needed;
* layer :math:`\ell = 1 \dots 40`: :math:`a_\ell = \sigma(W_\ell h_{\ell-1} + b_\ell)`, with
  :math:`h_0 = x` and

  .. math:: h_\ell = a_\ell \ \text{(plain)}, \qquad h_\ell = h_{\ell-1} + a_\ell
            \ \text{(residual: identity shortcut)};

* a head ``Linear(64, 10)`` and softmax cross-entropy;
* Glorot (Xavier) normal weights, variance :math:`1/n_\text{avg} = 1/64`, zero
  biases; both networks are drawn from the same seed, so their weights are
  identical and the addition is the only difference.

The *per-layer gradient norm* is :math:`\lVert \partial L/\partial W_\ell \rVert_F`
for the 40 hidden weight matrices, at initialisation, on the 1,500 training
digits in float64; the ratio first/last is
:math:`\lVert \partial L/\partial W_1 \rVert / \lVert \partial L/\partial W_{40} \rVert`.
The norm of the gradient reaching each layer's input,
:math:`\lVert \partial L/\partial h_{\ell-1} \rVert`, is recorded as well.

Training (beyond the note): both networks, float32, Adam (lr 1e-3), batch 64,
5 epochs. Because :math:`\sigma > 0`, every residual layer adds a positive
:math:`a_\ell` to the running sum, which therefore grows with depth; a step size
that suits the plain network is too large for the residual one with plain
SGD, and Adam's per-weight step scaling copes with both. Real ResNets avoid
this growth with ReLU and batch normalisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..activations import Sigmoid
from ..cache import shared
from ..diagnostics import forward_backward, record
from ..init import xavier_normal
from ..linear import Linear
from ..module import Sequential
from ..optim import Adam
from ..residual import Residual
from ..training import evaluate, fit
from . import common
from .claim import at_least, at_most, within
from .plotting import figure, styled

DEPTH = 40
#: training (beyond the note): Adam, float32
EPOCHS, LR, BATCH_SIZE = 5, 1e-3, 64
#: R13's bounds, written once (sentence and test)
PLAIN_RATIO_MAX, RESIDUAL_DECADES, GAP_MIN, STUCK_TOL, LEARNS_MIN = 1e-6, 2.0, 100.0, 0.05, 0.5
N_CLASSES = 10


# --8<-- [start:build]
def build(depth=DEPTH, *, residual, seed=0, dtype=np.float64, width=64):
    """``depth`` layers ``sigmoid(W h + b)`` on 64 inputs, with or without the identity
    shortcut around each, then ``Linear(64, 10)``.

    Examples
    --------
    >>> model = build(3, residual=True)
    >>> len(model), type(model[0]).__name__, model(np.zeros((2, 64))).shape
    (4, 'Residual', (2, 10))
    """
    rng = np.random.default_rng(seed)
    blocks = []
    for _ in range(depth):
        layer = Sequential(
            Linear(width, width, init=xavier_normal, rng=rng, dtype=dtype),
            Sigmoid())                                  # a = sigmoid(W h + b)
        blocks.append(Residual(layer) if residual else layer)  # h + a, or a
    head = Linear(width, N_CLASSES, init=xavier_normal, rng=rng, dtype=dtype)
    return Sequential(*blocks, head)
# --8<-- [end:build]


def hidden_linears(model):
    """The ``Linear`` layer of each hidden block of a :func:`build` model, first to last.

    Examples
    --------
    >>> [layer.weight.shape for layer in hidden_linears(build(2, residual=True))]
    [(64, 64), (64, 64)]
    """
    return [(block.block if isinstance(block, Residual) else block)[0]
            for block in model.layers[:-1]]


@dataclass(frozen=True)
class Profile:
    r"""Gradient norms of one network at initialisation (read-only arrays of length depth).

    ``weight_grad[l]`` is :math:`\lVert\partial L/\partial W_{l+1}\rVert`,
    ``input_grad[l]`` is :math:`\lVert\partial L/\partial h_l\rVert`,
    ``mean[l]`` is the mean of :math:`h_{l+1}` over units and samples, and
    ``ratio = weight_grad[0] / weight_grad[-1]``.

    Examples
    --------
    >>> p = gradient_profile(depth=3).residual
    >>> p.weight_grad.flags.writeable, bool(p.ratio == p.weight_grad[0] / p.weight_grad[-1])
    (False, True)
    """

    loss: float
    weight_grad: np.ndarray
    input_grad: np.ndarray
    mean: np.ndarray
    ratio: float


class Comparison(NamedTuple):
    """The two :class:`Profile` s of :func:`gradient_profile`; iterates plain, residual.

    Examples
    --------
    >>> Comparison._fields
    ('plain', 'residual')
    """

    plain: Profile
    residual: Profile


@shared
# --8<-- [start:profile]
def gradient_profile(depth=DEPTH, seed=0):
    """Per-layer gradient norms of the plain and the residual network at initialisation.

    Examples
    --------
    >>> p = gradient_profile(depth=5)
    >>> p.plain.weight_grad.shape, bool(p.plain.ratio < p.residual.ratio)
    ((5,), True)
    """
    x, y = common.digits(seed)[:2]
    x = x.astype(np.float64)
    out = {}
    for name, residual in (("plain", False), ("residual", True)):
        model = build(depth, residual=residual, seed=seed)
        linears, blocks = hidden_linears(model), model.layers[:-1]
        with record(model, layers=linears + blocks, saturation=False) as rec:
            loss = forward_backward(model, x, y)   # hooks record the norms
        stats = rec.stats()
        weight = stats.column("weight.grad_norm")[:depth]  # ||dL/dW_l||
        incoming = stats.column("grad_norm")[depth:]   # ||dL/dh_(l-1)||
        mean = stats.column("mean")[depth:]            # mean of h_l
        out[name] = Profile(loss, common.readonly(weight), common.readonly(incoming),
                            common.readonly(mean), float(weight[0] / weight[-1]))
    return Comparison(**out)
# --8<-- [end:profile]


@dataclass(frozen=True)
class Curves:
    """Per-epoch values from epoch 0 (before training) to the last epoch, and the
    loss of every mini-batch (tuples of floats; ``val_*`` on the 297 test digits).

    Examples
    --------
    >>> sorted(Curves.__dataclass_fields__)
    ['batch_loss', 'train_loss', 'val_acc', 'val_loss']
    """

    train_loss: tuple
    val_loss: tuple
    val_acc: tuple
    batch_loss: tuple


@shared
def training_curves(depth=DEPTH, epochs=EPOCHS, seed=0, lr=LR, batch_size=BATCH_SIZE):
    """Train the plain and the residual network on the digits (float32, Adam).

    Returns ``{"plain": Curves, "residual": Curves}``; cached like :func:`gradient_profile`.

    Examples
    --------
    >>> c = training_curves(depth=2, epochs=1)
    >>> len(c["plain"].train_loss), len(c["residual"].batch_loss)     # epochs 0 and 1
    (2, 24)
    """
    x_train, y_train, x_test, y_test = common.digits(seed)
    out = {}
    for name, residual in (("plain", False), ("residual", True)):
        model = build(depth, residual=residual, seed=seed, dtype=np.float32)
        train0, val0 = evaluate(model, x_train, y_train), evaluate(model, x_test, y_test)
        h = fit(model, x_train, y_train, optimizer=Adam(model.parameters(), lr=lr),
                epochs=epochs, batch_size=batch_size, rng=np.random.default_rng(seed + 1),
                x_val=x_test, y_val=y_test)
        out[name] = Curves(train_loss=(train0[0], *h.train_loss),
                           val_loss=(val0[0], *h.val_loss), val_acc=(val0[1], *h.val_acc),
                           batch_loss=tuple(h.batch_loss))
    return out


def claims():
    """The first/last ratio gap of the note's 40-layer remark, and the training runs.

    Examples
    --------
    >>> [c.id for c in claims()][:3]
    ['R13.ratio_plain', 'R13.ratio_residual', 'R13.ratio_gap']
    """
    p = gradient_profile()
    c = training_curves()
    plain, res = c["plain"].train_loss[-1], c["residual"].train_loss[-1]
    return [
        at_most("R13.ratio_plain", f"plain {DEPTH}-layer sigmoid network: ||dL/dW_1|| / "
                f"||dL/dW_{DEPTH}|| is at most {{bound}} (the gradient vanishes toward the "
                "input)", p.plain.ratio, PLAIN_RATIO_MAX,
                note="the gradient shrinks toward the first layers", fmt="x10"),
        within("R13.ratio_residual", f"residual network: log10 of ||dL/dW_1|| / "
               f"||dL/dW_{DEPTH}|| within {{bound}} of 0 (a factor 100 of 1)",
               math.log10(p.residual.ratio), RESIDUAL_DECADES,
               note="skip connections keep the gradient", fmt=".2g"),
        at_least("R13.ratio_gap", "the plain ratio is at least {bound}× smaller than the "
                 "residual ratio", p.residual.ratio / p.plain.ratio, GAP_MIN,
                 note="the difference is much clearer at about 40 layers", fmt="x10"),
        within("R13.plain_stuck", f"after {EPOCHS} epochs the plain network's training loss "
               "is still within {bound} of chance, ln 10", plain - math.log(10), STUCK_TOL,
               note="(beyond the note)", fmt=".2g"),
        at_least("R13.residual_learns", f"after {EPOCHS} epochs the residual network's "
                 "training loss is at least {bound} below the plain network's", plain - res,
                 LEARNS_MIN, note="(beyond the note)", fmt=".2g"),
    ]



@styled
def plot_gradient_norms(depth=DEPTH, seed=0):
    """The norm of each hidden layer's weight gradient at initialisation (log scale)."""
    fig, ax = figure()
    for name, p in gradient_profile(depth, seed)._asdict().items():
        ax.semilogy(np.arange(1, depth + 1), p.weight_grad, "o-", ms=3, label=name)
    ax.set(xlabel="layer (1 = next to the input)", ylabel="‖∂L/∂W‖ at initialisation")
    ax.legend()
    return fig


@styled
def plot_training(**settings):
    """Training loss (log scale) per epoch of the plain and the residual network."""
    fig, ax = figure()
    for name, c in training_curves(**settings).items():
        (line,) = ax.plot(c.train_loss, "o-", label=f"{name}, training")
        ax.plot(c.val_loss, "s--", color=line.get_color(), alpha=0.7, label=f"{name}, test")
    ax.axhline(math.log(10), color="0.5", lw=1, ls=":")
    ax.set(yscale="log", xlabel="epoch (0 = before training)", ylabel="cross-entropy loss")
    ax.legend()
    return fig
