r"""R17: the degradation problem of plain CNNs, and residual blocks without it (He et al. 2016).

He et al. (2016, "Deep Residual Learning for Image Recognition", Figure 1 and
section 4.2) train plain CNNs of 20 and 56 layers on CIFAR-10: the deeper one
ends with a *higher training error*, which overfitting cannot explain; with
residual blocks the deeper network trains better instead. The small-scale
version here, on the 8×8 digits as images:

* network (:func:`build`), their CIFAR design with :math:`6n + 2` weighted
  layers: a 3×3 convolution with :data:`WIDTH` channels, then three stages of
  :math:`n` basic blocks on 8×8, 4×4 and 2×2 maps with :data:`WIDTH`,
  2·:data:`WIDTH` and 4·:data:`WIDTH` channels (the first convolution of the
  second and third stage has stride 2), global average pooling and a
  ``Linear`` head. :math:`n = 1` gives 8 layers, :math:`n = 4` gives 26;
* basic block (:func:`basic_block`): conv–BN–ReLU–conv–BN, then, in the
  residual network, the shortcut is added, then ReLU. The shortcut is the
  identity, or a stride-2 1×1 convolution followed by BN where the shape
  changes (their option B). The plain network is the same without the addition;
* training (:func:`training_losses`): SGD with momentum 0.9, learning rate
  :data:`LR`, batch :data:`BATCH`, :data:`EPOCHS` epochs for every network,
  the same data order for all; the training loss of an epoch is the mean of its
  mini-batch losses (training mode, as He et al.'s curves of training error).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import ReLU
from ..batchnorm2d import BatchNorm2d
from ..cache import shared
from ..conv import Conv2d
from ..data import load_digits
from ..flatten import Flatten
from ..linear import Linear
from ..module import Sequential
from ..optim import SGD
from ..pooling import AdaptiveAvgPool2d
from ..residual import Residual
from ..training import fit
from . import plotting
from .claim import at_least, at_most

DEPTHS = (1, 4)           # blocks per stage, n: 6n + 2 = 8 and 26 layers
WIDTH = 8                 # channels of the first stage
EPOCHS = 3
BATCH = 64
LR = 0.1


# --8<-- [start:block]
def basic_block(c_in, c_out, stride, *, residual, rng, dtype=np.float32):
    """conv-BN-ReLU-conv-BN (+ shortcut) then ReLU, He et al.'s basic block.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> block = basic_block(4, 8, 2, residual=True, rng=rng)
    >>> block(np.zeros((2, 4, 8, 8), np.float32)).shape
    (2, 8, 4, 4)
    """
    body = Sequential(
        Conv2d(c_in, c_out, 3, stride, 1, bias=False, rng=rng, dtype=dtype),
        BatchNorm2d(c_out, dtype=dtype), ReLU(),
        Conv2d(c_out, c_out, 3, 1, 1, bias=False, rng=rng, dtype=dtype),
        BatchNorm2d(c_out, dtype=dtype))
    if not residual:
        return Sequential(body, ReLU())                       # plain: F(x), then ReLU
    shortcut = None                                           # identity
    if stride != 1 or c_in != c_out:                          # projection: 1x1 conv + BN
        shortcut = Sequential(Conv2d(c_in, c_out, 1, stride, bias=False, rng=rng, dtype=dtype),
                              BatchNorm2d(c_out, dtype=dtype))
    return Sequential(Residual(body, shortcut), ReLU())       # F(x) + S(x), then ReLU
# --8<-- [end:block]


def build(n, *, residual, width=WIDTH, seed=0, dtype=np.float32):
    """The :math:`6n + 2`-layer CNN of R17, plain or residual.

    Examples
    --------
    >>> model = build(1, residual=False)
    >>> sum(isinstance(m, (Conv2d, Linear)) for m in model.modules())     # 6n + 2
    8
    >>> model(np.zeros((2, 1, 8, 8), np.float32)).shape
    (2, 10)
    """
    rng = np.random.default_rng(seed)
    layers = [Conv2d(1, width, 3, padding=1, bias=False, rng=rng, dtype=dtype),
              BatchNorm2d(width, dtype=dtype), ReLU()]
    c_in = width
    for stage in range(3):
        c_out = width * 2 ** stage
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            layers.append(basic_block(c_in, c_out, stride, residual=residual, rng=rng,
                                      dtype=dtype))
            c_in = c_out
    layers += [AdaptiveAvgPool2d(1), Flatten(), Linear(c_in, 10, rng=rng, dtype=dtype)]
    return Sequential(*layers)


@dataclass(frozen=True)
class Losses:
    """Training loss after each epoch (tuples of floats), per network: ``layers[i]`` (6n + 2)
    goes with ``plain[i]`` and ``residual[i]``."""

    layers: tuple
    plain: tuple
    residual: tuple


def train(n, *, residual, epochs=EPOCHS, seed=0):
    """Train :func:`build` ``(n)``; the per-epoch training losses (a tuple).

    Examples
    --------
    >>> len(train(1, residual=True, epochs=1))
    1
    """
    x, y = load_digits(rng=np.random.default_rng(seed), images=True)[:2]
    model = build(n, residual=residual, seed=seed)
    history = fit(model, x, y, optimizer=SGD(model.parameters(), lr=LR, momentum=0.9),
                  epochs=epochs, batch_size=BATCH, rng=np.random.default_rng(seed + 1),
                  eval_train=False, drop_last=True, progress=False)
    return tuple(float(v) for v in history.train_loss)


@shared
def training_losses(depths=DEPTHS, epochs=EPOCHS, seed=0):
    """The R17 curves; cached (one computation per build)."""
    curves = {kind: tuple(train(n, residual=kind == "residual", epochs=epochs, seed=seed)
                          for n in depths) for kind in ("plain", "residual")}
    return Losses(tuple(6 * n + 2 for n in depths), curves["plain"], curves["residual"])


def claims():
    """The deeper plain net ends higher than the shallower one; the residual nets' gap.

    He et al. find the deeper residual network *lower* after full training; after the
    :data:`EPOCHS` epochs of this budget it is still above the shallower one, by much less
    than in the plain pair. The claims say so.
    """
    r = training_losses()
    plain_gap = r.plain[-1][-1] - r.plain[0][-1]
    residual_gap = r.residual[-1][-1] - r.residual[0][-1]
    deep, shallow = r.layers[-1], r.layers[0]
    return [
        at_least("R17.plain_degrades", f"plain CNNs: after the same training the {deep}-layer "
                 f"network's training loss is higher than the {shallow}-layer network's",
                 plain_gap, 0.0,
                 note="the deeper plain network has higher training error (He et al., Figure 1)",
                 fmt=".3f"),
        at_most("R17.residual_gap_smaller", f"residual CNNs: the gap between the {deep}- and "
                f"the {shallow}-layer network's training loss is at most {{bound}} of the "
                "plain networks' gap", residual_gap / plain_gap, 0.25,
                note="with residual learning the deeper network trains better (He et al., "
                "Figure 4)", fmt=".2f"),
        at_least("R17.residual_deeper_still_higher", f"not reproduced at this budget: after "
                 f"{EPOCHS} epochs the {deep}-layer residual network's training loss is still "
                 f"higher than the {shallow}-layer one's", residual_gap, 0.0,
                 note="the 34-layer ResNet has lower training error than the 18-layer one "
                 "(He et al., Figure 4)", fmt=".3f"),
    ]


@plotting.styled
def plot_losses(losses=None):
    """Training loss after each epoch, plain (dashed) and residual (solid), both depths."""
    r = training_losses() if losses is None else losses
    fig, ax = plotting.figure(width=6.4, height=3.4)
    for i, layers in enumerate(r.layers):
        color = plotting.PALETTE[5 if i else 1]
        for kind, style in (("plain", "--"), ("residual", "-")):
            curve = getattr(r, kind)[i]
            ax.plot(range(1, len(curve) + 1), curve, style, marker="o", color=color,
                    label=f"{kind}, {layers} layers")
    ax.set_yscale("log")
    ax.set_xticks(range(1, len(r.plain[0]) + 1))
    ax.set(xlabel="epoch", ylabel="mean training loss over the epoch")
    ax.legend()
    return fig
