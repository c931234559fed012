r"""R1: the worked example of note 004, computed by litnet's own layers.

A scalar network with three weights and no biases, input :math:`x = 0.5`,
target :math:`t = 1`, loss :math:`L = (y - t)^2` (no factor :math:`\tfrac12`):

.. math::
    h_1 = \sigma(w_1 x), \qquad h_2 = \sigma(w_2 h_1), \qquad
    y = \begin{cases}
        \sigma(w_3 h_2) & \text{plain (scenario 1)} \\
        \sigma(w_3 h_2 + w_r h_1) & \text{residual (scenario 2)}
    \end{cases}

Every number comes from ``forward`` and ``backward`` of :class:`~litnet.Linear`,
:class:`~litnet.Sigmoid` and :class:`~litnet.Residual`, not from a hand
formula. The two terms of :math:`\partial L/\partial w_1` in the residual
network are obtained by sending each path's share of :math:`\partial L/\partial h_1`
(``Residual.grad_through_block`` and ``Residual.grad_through_shortcut``) back
through the first layer on its own: backward is linear in the upstream
gradient, so the two results add up to the total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import Sigmoid
from ..init import zeros
from ..linear import Linear
from ..losses import mse_loss
from ..module import Sequential
from ..residual import Residual
from .claim import Claim, all_of, at_least, le

X, TARGET = 0.5, 1.0
NOTE_WEIGHTS = {"w1": 0.2, "w2": 0.1, "w3": 0.1, "w_r": 0.1}
#: R1's bound on dL/dw1 residual / plain
GAIN_MIN = 10.0
#: significant digits at which every cell of the R1 table is compared with the note's
DIGITS = 4


def scalar(w):
    r"""``Linear(1, 1, bias=False)`` in float64 whose single weight is ``w``: :math:`x \mapsto w x`.

    Examples
    --------
    >>> scalar(0.2)(np.array([[0.5]])).tolist()
    [[0.1]]
    """
    layer = Linear(1, 1, bias=False, init=zeros, rng=np.random.default_rng(0),
                   dtype=np.float64)   # the rng is not used: the weight is set below
    layer.weight.data[...] = w
    return layer


# --8<-- [start:build]
def build(w1, w2, w3, w_r=None):
    """The scalar network of note 004: plain when ``w_r`` is None, else residual.

    Examples
    --------
    >>> [type(m).__name__ for m in build(0.2, 0.1, 0.1, w_r=0.1)]
    ['Sequential', 'Residual', 'Sigmoid']
    """
    first = Sequential(scalar(w1), Sigmoid())             # x -> h1
    body = Sequential(scalar(w2), Sigmoid(), scalar(w3))  # h1 -> w3 h2
    if w_r is None:
        middle = body                            # scenario 1: w3 h2
    else:                                        # scenario 2: w3 h2 + w_r h1
        middle = Residual(body, shortcut=scalar(w_r))
    return Sequential(first, middle, Sigmoid())  # y = sigma(...)
# --8<-- [end:build]


@dataclass(frozen=True)
class WorkedExample:
    r"""Forward values and gradients of one scenario (``None`` where it has no such term).

    ``grad_w1_main`` is the part of :math:`\partial L/\partial w_1` that flows
    through :math:`h_2`, ``grad_w1_skip`` the part through the skip (residual only).
    ``grad_h1_main`` / ``grad_h1_skip`` are the two shares of :math:`\partial L/\partial h_1`.

    Examples
    --------
    >>> ex = worked_example(0.2, 0.1, 0.1, 0.1)
    >>> ex.residual, list(ex.table())[:3]
    (True, ['L', 'dL/dw3', 'dL/dw2'])
    """

    weights: dict
    residual: bool
    h1: float
    h2: float
    y: float
    loss: float
    grad_w3: float
    grad_w2: float
    grad_w1: float
    grad_w_r: float | None
    grad_w1_main: float
    grad_w1_skip: float | None
    grad_h1_main: float
    grad_h1_skip: float | None

    def table(self):
        """The numbers of the note's table, as ``{label: value}``."""
        rows = {"L": self.loss, "dL/dw3": self.grad_w3, "dL/dw2": self.grad_w2}
        if self.residual:
            rows.update({"dL/dw1 via h2": self.grad_w1_main,
                         "dL/dw1 via skip": self.grad_w1_skip})
        rows["dL/dw1"] = self.grad_w1
        return rows

    def show(self, digits=4):
        """Print the table to ``digits`` significant digits."""
        for label, value in self.table().items():
            print(f"{label:16s}{value:#.{digits}g}")


# --8<-- [start:measure]
def measure(net, x=X, t=TARGET):
    """Forward and backward through ``build(...)``'s network, layer by
    layer; dL/dw1 is also split into its two paths."""
    first, middle, out = net
    residual = isinstance(middle, Residual)
    body = middle.block if residual else middle
    seen = {}                                # h2, seen by a forward hook
    remove = body[1].register_forward_hook(
        lambda module, inp, h2: seen.update(h2=h2))
    net.zero_grad()
    h1 = first(np.array([[x]]))              # h1 = sigma(w1 x)
    y = out(middle(h1))                      # y = sigma(w3 h2 [+ w_r h1])
    remove()
    loss, dy = mse_loss(y, np.array([[t]]), reduction="sum")  # (y - t)^2
    g_h1 = middle.backward(out.backward(dy))  # dL/dh1; dL/dw3, dL/dw2, ...

    w1 = first[0].weight
    if residual:            # dL/dh1 = (through the block) + (through skip)
        shares = {"main": middle.grad_through_block,
                  "skip": middle.grad_through_shortcut}
    else:
        shares = {"main": g_h1}              # one path only
    grad_w1 = {}
    for path, share in shares.items():       # backward is linear in its
        w1.zero_grad()                       # upstream gradient: send
        first.backward(share)                # each share back on its own
        grad_w1[path] = w1.grad.item()
    w1.zero_grad()
    first.backward(g_h1)                     # the full dL/dw1

    def grad(layer):
        return layer.weight.grad.item()

    return WorkedExample(
        weights={"w1": first[0].weight.data.item(), "w2": body[0].weight.data.item(),
                 "w3": body[2].weight.data.item(),
                 "w_r": middle.shortcut.weight.data.item() if residual else None},
        residual=residual, h1=h1.item(), h2=seen["h2"].item(), y=y.item(), loss=loss,
        grad_w3=grad(body[2]), grad_w2=grad(body[0]), grad_w1=grad(first[0]),
        grad_w_r=grad(middle.shortcut) if residual else None,
        grad_w1_main=grad_w1["main"], grad_w1_skip=grad_w1.get("skip"),
        grad_h1_main=shares["main"].item(),
        grad_h1_skip=shares["skip"].item() if residual else None,
    )
# --8<-- [end:measure]


def worked_example(w1=0.2, w2=0.1, w3=0.1, w_r=0.1, *, residual=True, x=X, t=TARGET):
    """Build one scenario with the given weights and measure it.

    The defaults are the note's weights; ``w_r`` is ignored when ``residual`` is False.

    Examples
    --------
    >>> ex = worked_example(residual=False)
    >>> round(ex.loss, 4), ex.grad_w1_skip is None
    (0.2373, True)
    """
    return measure(build(w1, w2, w3, w_r if residual else None), x, t)


def scenarios(w1=0.2, w2=0.1, w3=0.1, w_r=0.1, *, x=X, t=TARGET):
    """Both scenarios with the same weights: ``{"plain": ..., "residual": ...}``.

    Examples
    --------
    >>> both = scenarios()
    >>> round(both["residual"].loss, 4)
    0.2247
    """
    return {"plain": worked_example(w1, w2, w3, w_r, residual=False, x=x, t=t),
            "residual": worked_example(w1, w2, w3, w_r, residual=True, x=x, t=t)}


# The R1 table of the project's reproduction list: the values the note's numbers imply.
NOTE_TABLE = {
    "plain": {"L": "0.2373", "dL/dw3": "-0.1249", "dL/dw2": "-0.003193",
              "dL/dw1": "-7.583e-5"},
    "residual": {"L": "0.2247", "dL/dw3": "-0.1213", "dL/dw2": "-0.003100",
                 "dL/dw1 via h2": "-7.364e-5", "dL/dw1 via skip": "-0.0029476",
                 "dL/dw1": "-0.0030212"},
}
_IDS = {"L": "loss", "dL/dw3": "dw3", "dL/dw2": "dw2", "dL/dw1 via h2": "dw1_via_h2",
        "dL/dw1 via skip": "dw1_via_skip", "dL/dw1": "dw1"}


def significant(v, digits=4):
    """``v`` rounded to ``digits`` significant digits.

    Examples
    --------
    >>> significant(-7.36392e-05), significant(0.22474309)
    (-7.364e-05, 0.2247)
    """
    return float(f"{v:.{digits - 1}e}")


#: the two path terms of dL/dw1 as the note prints them (fewer digits than its table)
NOTE_VIA_SKIP, NOTE_VIA_H2 = "-0.00295", "-0.000074"


def _at_note_rounding(id, path, value, note):
    """``value`` rounded to as many decimals as the note prints equals the note's."""
    decimals = len(note.split(".")[1])
    return Claim(id, f"dL/dw1 {path}, at the note's rounding ({decimals} decimals)", note,
                 f"{value:.{decimals}f}", round(value, decimals) == float(note))


def claims():
    """Every cell of the R1 table, the note's own rounding, and the conclusion.

    Examples
    --------
    >>> cs = claims()
    >>> cs[0].id, cs[0].measured, all(c.holds for c in cs)
    ('R1.loss_plain', '0.2373', True)
    """
    both = scenarios(**NOTE_WEIGHTS)
    out = []
    for scenario, rows in NOTE_TABLE.items():
        measured = both[scenario].table()
        for label, note in rows.items():
            value = measured[label]
            out.append(Claim(
                f"R1.{_IDS[label]}_{scenario}",
                f"{label} in the {scenario} network ({DIGITS} significant digits)", note,
                f"{value:#.{DIGITS}g}",
                significant(value, DIGITS) == significant(float(note), DIGITS)))
    res, plain = both["residual"], both["plain"]
    # The note prints the two terms as -0.00295 - 0.000074: fewer digits than the table.
    out.append(_at_note_rounding("R1.note_via_skip", "through the skip", res.grad_w1_skip,
                                 NOTE_VIA_SKIP))
    out.append(_at_note_rounding("R1.note_via_h2", "through h2", res.grad_w1_main, NOTE_VIA_H2))
    total = res.grad_w1_main + res.grad_w1_skip
    out.append(all_of("R1.paths_sum", "the two path terms (skip, then h2) add up to the "
                      "full dL/dw1 (relative difference at most {rel})",
                      note=f"{NOTE_VIA_SKIP} - {NOTE_VIA_H2.lstrip('-')}",
                      measured=f"({res.grad_w1_skip:#.4g}) + ({res.grad_w1_main:#.4g}) = "
                               f"{total:#.4g}",
                      rel=le(abs(total - res.grad_w1) / abs(res.grad_w1), 1e-12, "x10")))
    out.append(at_least("R1.skip_keeps_gradient", "the skip makes dL/dw1 at least {bound}× "
                        "larger than in the plain network", res.grad_w1 / plain.grad_w1,
                        GAIN_MIN, note="plain gradients shrink quickly toward the first "
                        "layer, residual ones do not", fmt=".3g"))
    return out
