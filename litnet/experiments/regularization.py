r"""R5 — weight decay and dropout against overfitting.

The book's setting (note 002; *Deep Learning from Scratch*, ch. 6): only 300
training samples and a network much larger than they need, six hidden layers
of 100 ReLU units with He initialisation, trained by SGD (learning rate 0.01,
mini-batches of 100) long enough for the training accuracy to reach 100 %
while the test accuracy stalls. The same network is trained three times from
the same initial weights: without regularisation, with weight decay
:math:`\lambda = 0.1` (``weight_decay`` of :class:`~litnet.optim.SGD`, the
gradient of :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2`), and with inverted
dropout :math:`p = 0.2` (:class:`~litnet.Dropout`) after every hidden
activation. Data: the bundled digits, 300 training and the other 1497 images
as the test set.

Weight decay here applies to every parameter, as PyTorch's ``weight_decay``
does; the book exempts the biases (610 of the 55 810 parameters, all starting
at 0).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .. import init
from ..activations import ReLU
from ..batchnorm import BatchNorm1d
from ..cache import shared
from ..data import load_digits
from ..optim import SGD
from ..training import evaluate, fit
from . import plotting
from .claim import Claim
from .common import mlp

N_TRAIN, HIDDEN, DEPTH = 300, 100, 6
LR, BATCH = 0.01, 100
EPOCHS, EVAL_EVERY = 200, 5
WEIGHT_DECAY, DROPOUT = 0.1, 0.2
SEED = 0          # weights, data split and mini-batch order of the claim's runs

#: variant -> (weight decay λ, dropout probability p)
VARIANTS = {"plain": (0.0, 0.0), "weight decay": (WEIGHT_DECAY, 0.0),
            "dropout": (0.0, DROPOUT)}
#: one more run, not a regulariser of the book's: BatchNorm1d before every ReLU (note 002
#: says BN curbs overfitting)
BATCHNORM = "batch norm"


# --8<-- [start:build]
def build(dropout=0.0, *, rng, batchnorm=False, n_in=64, n_out=10):
    """Six hidden ``Linear -> ReLU [-> Dropout(p)]`` blocks with He weights, then ``Linear``.

    Examples
    --------
    >>> import numpy as np
    >>> net = build(0.2, rng=np.random.default_rng(0))
    >>> [type(m).__name__ for m in net][:4], len(net)
    (['Linear', 'ReLU', 'Dropout', 'Linear'], 19)
    """
    norm = (lambda n, dtype: BatchNorm1d(n, dtype=dtype)) if batchnorm else None
    return mlp((n_in,) + (HIDDEN,) * DEPTH + (n_out,), ReLU, rng=rng, init=init.he_normal,
               dropout=dropout, norm=norm)
# --8<-- [end:build]


@cache
def data(seed=SEED):
    """300 training digits and the remaining 1497 as test set (a seeded shuffle)."""
    split = load_digits(rng=np.random.default_rng(seed), test_size=1797 - N_TRAIN)
    for a in split:
        a.setflags(write=False)
    return split


@shared
# --8<-- [start:run]
def curves(variant, epochs=EPOCHS, seed=SEED):
    """Train and test accuracy every ``EVAL_EVERY`` epochs, from epoch 0.

    The initial weights come from the same seed for every variant (Dropout
    draws its masks from the same generator, after the weights), so the
    variants start identical.

    Returns
    -------
    dict
        ``epoch``, ``train_acc``, ``test_acc`` (read-only arrays of equal length).

    Examples
    --------
    >>> c = curves("plain", epochs=10)
    >>> c["epoch"].tolist()
    [0, 5, 10]
    """
    if variant not in VARIANTS and variant != BATCHNORM:
        raise ValueError(f"regularization: variant must be one of {[*VARIANTS, BATCHNORM]}, "
                         f"got {variant!r}")
    weight_decay, p = VARIANTS.get(variant, (0.0, 0.0))
    x, y, x_test, y_test = data(seed)
    init_rng, order_rng = np.random.default_rng(seed).spawn(2)
    model = build(p, rng=init_rng, batchnorm=variant == BATCHNORM)
    rows = []

    def measure(epoch, model, history=None):     # fit calls it after every epoch
        if epoch % EVAL_EVERY == 0:              # evaluate() uses eval mode: no dropout
            rows.append((epoch, evaluate(model, x, y)[1], evaluate(model, x_test, y_test)[1]))

    measure(0, model)
    fit(model, x, y, optimizer=SGD(model.parameters(), lr=LR, weight_decay=weight_decay),
        epochs=epochs, batch_size=BATCH, rng=order_rng, eval_train=False,
        callbacks=[measure], progress=False)
    table = np.array(rows)                     # (n_evaluations, 3)
    out = {"epoch": table[:, 0].astype(int), "train_acc": table[:, 1], "test_acc": table[:, 2]}
    for a in out.values():
        a.setflags(write=False)
    return out
# --8<-- [end:run]


def gaps(epochs=EPOCHS, seed=SEED):
    """``{variant: final train accuracy − final test accuracy}``.

    Examples
    --------
    >>> sorted(gaps(epochs=10))
    ['dropout', 'plain', 'weight decay']
    """
    return {v: float(c["train_acc"][-1] - c["test_acc"][-1])
            for v in VARIANTS for c in [curves(v, epochs, seed)]}


@plotting.styled
def plot_curves(epochs=EPOCHS, seed=SEED, variants=(*VARIANTS, BATCHNORM)):
    """Figure: training and test accuracy over the epochs, one panel per variant."""
    fig, axes = plotting.figure(1, len(variants), width=8.0, height=3.0, sharey=True)
    for ax, variant in zip(axes, variants, strict=True):
        c = curves(variant, epochs, seed)
        ax.plot(c["epoch"], c["train_acc"], label="train")
        ax.plot(c["epoch"], c["test_acc"], label="test")
        ax.set(title=variant, xlabel="epoch")
    axes[0].set_ylabel("accuracy")
    axes[0].legend()
    return fig

def claims():
    """The R5 claim: weight decay and dropout both shrink the final train–test gap."""
    g = gaps()
    final = {v: curves(v) for v in VARIANTS}
    measured = "; ".join(f"{v} {100 * final[v]['train_acc'][-1]:.1f} / "
                         f"{100 * final[v]['test_acc'][-1]:.1f}% (gap {100 * g[v]:.1f})"
                         for v in VARIANTS)
    test = {v: final[v]["test_acc"][-1] for v in VARIANTS}
    return [Claim(
        "R5.gap",
        f"one seed ({SEED}), after {EPOCHS} epochs on {N_TRAIN} digits: weight decay "
        f"(λ = {WEIGHT_DECAY:g}) and dropout (p = {DROPOUT:g}) each leave a smaller "
        "train–test accuracy gap than no regularisation, and each a lower test accuracy "
        "too (the training accuracy falls more)",
        "weight decay keeps the weights small so that the network does not overfit; "
        "dropout does the same job (the book's ch. 6)",
        f"train / test: {measured}",
        all(g[v] < g["plain"] and test[v] < test["plain"] for v in ("weight decay", "dropout")))]
