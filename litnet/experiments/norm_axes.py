r"""Which values share a mean and a variance: BatchNorm, LayerNorm, InstanceNorm, GroupNorm.

Every normalisation here computes :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}`;
they differ only in the set of values :math:`\mu` and :math:`\sigma^2` are taken over.
For an image batch of shape (N, C, H, W), Wu & He (2018, Figure 2) draw those sets
as slabs of a cube. Here litnet's layers draw them themselves:
:func:`shared_statistics` changes a single input value and records which outputs
move. An output moves exactly when it was normalised with statistics that include
the changed value, so the answer is the layer's normalisation set, read off its
real code rather than from a diagram:

* ``BatchNorm2d(C)`` (training mode): one set per channel, over N, H and W;
* ``GroupNorm(1, C)``, the same as LayerNorm over (C, H, W): one set per image;
* ``GroupNorm(C, C)``, InstanceNorm: one set per image and channel, over H and W;
* ``GroupNorm(G, C)`` in between: one set per image and group of C/G channels.
"""

from __future__ import annotations

import numpy as np

from ..batchnorm2d import BatchNorm2d
from ..groupnorm import GroupNorm
from . import plotting

N, C, H, W = 6, 6, 4, 4
GROUPS = 3

#: name -> layer factory; the order of the figure's panels
LAYERS = {
    "BatchNorm": lambda: BatchNorm2d(C, dtype=np.float64),
    "LayerNorm": lambda: GroupNorm(1, C, dtype=np.float64),
    "InstanceNorm": lambda: GroupNorm(C, C, dtype=np.float64),
    f"GroupNorm ({GROUPS} groups)": lambda: GroupNorm(GROUPS, C, dtype=np.float64),
}


# --8<-- [start:shared]
def shared_statistics(name, sample=1, channel=2, seed=0):
    """Boolean (N, C): which (image, channel) slices of the output change when one input
    value, at ``[sample, channel, 0, 0]``, is changed.

    Examples
    --------
    >>> shared_statistics("InstanceNorm").sum(), shared_statistics("BatchNorm")[:, 2].all()
    (np.int64(1), np.True_)
    """
    x = np.random.default_rng(seed).standard_normal((N, C, H, W))
    layer = LAYERS[name]()
    before = layer(x)
    nudged = x.copy()
    nudged[sample, channel, 0, 0] += 1.0
    moved = np.abs(layer(nudged) - before) > 1e-12
    moved[sample, channel, 0, 0] = True     # the changed value itself moves in every layer
    return moved.any(axis=(2, 3))
# --8<-- [end:shared]


@plotting.styled
def plot_norm_axes(sample=1, channel=2):
    """Four panels of (image × channel) cells: the cells normalised together with the
    cell ``(sample, channel)``, as measured by :func:`shared_statistics`."""
    fig, axes = plotting.figure(1, len(LAYERS), width=7.2, height=2.6, sharey=True)
    for ax, name in zip(axes, LAYERS, strict=True):
        shared = shared_statistics(name, sample, channel)
        ax.imshow(shared, cmap="Blues", vmin=-0.3, vmax=1.2, aspect="equal")
        ax.scatter([channel], [sample], marker="x", color=plotting.PALETTE[6], s=40, zorder=3)
        ax.set_title(name)
        ax.set_xticks(range(C))
        ax.set_yticks(range(N))
        ax.set_xlabel("channel C")
        ax.grid(False)
        for k in range(1, C):
            ax.axvline(k - 0.5, color="white", linewidth=1)
        for k in range(1, N):
            ax.axhline(k - 0.5, color="white", linewidth=1)
    axes[0].set_ylabel("image N")
    return fig
