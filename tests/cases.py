"""The layer registry: every layer the protocol, bad-input and torch-parity tests run over.

To add a layer, append ONE line to ``CASES`` (keep the name unique), e.g.::

    Case("BatchNorm1d", lambda rng, dt: ln.BatchNorm1d(4, dtype=dt), (6, 4),
         torch=lambda t: t.nn.BatchNorm1d(4)),

Fields of :class:`Case`:

``name``
    The test id.
``factory(rng, dtype) -> Module``
    Builds the layer with parameters of ``dtype`` (layers without parameters
    ignore it), drawing any randomness from ``rng``. The forward must be
    deterministic for a fixed input (gradcheck needs it): e.g. build Dropout
    with a fixed mask or in eval mode.
``shape``
    Input shape, batch first, batch >= 2.
``out_shape``
    Output shape; ``None`` means the same as ``shape``.
``features``
    True when the layer fixes the size of axis ``feature_axis`` and rejects a
    1-D input (Linear, BatchNorm1d); False for elementwise layers. The
    bad-input tests then also check a wrong feature count and a 1-D input.
``feature_axis``
    The axis holding the features (1 for (N, D) and (N, C, L); 2 for (N, T, D)).
``torch(torch) -> torch.nn.Module``
    Optional equivalent PyTorch module, built with default arguments.
    ``tests/test_torch_parity.py`` copies litnet's parameters and buffers
    into it *by name* (litnet uses PyTorch's names, e.g. ``0.weight`` inside a
    Sequential), then compares forward and backward in float64 to 1e-10.
``make_input(rng, dtype) -> ndarray``
    Optional custom input; by default :func:`make_input` draws values of
    magnitude in [0.5, 1.5] with random signs (away from ReLU's kink at 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import litnet as ln
from litnet.experiments.conv_degradation import basic_block


@dataclass(frozen=True)
class Case:
    name: str
    factory: Callable
    shape: tuple
    out_shape: tuple | None = None
    features: bool = True
    feature_axis: int = 1
    torch: Callable | None = None
    make_input: Callable | None = None

    def __repr__(self):  # the test id
        return self.name


def make_input(case, rng, dtype=np.float64):
    """The input for ``case``: |x| in [0.5, 1.5], random signs, in ``dtype``."""
    if case.make_input is not None:
        return np.asarray(case.make_input(rng, dtype))
    size = rng.uniform(0.5, 1.5, case.shape)
    return (size * rng.choice([-1.0, 1.0], case.shape)).astype(dtype)


def _mlp(rng, dt):
    return ln.Sequential(ln.Linear(4, 6, rng=rng, dtype=dt), ln.Tanh(),
                         ln.Linear(6, 5, rng=rng, dtype=dt), ln.ReLU(),
                         ln.Linear(5, 4, rng=rng, dtype=dt), ln.PReLU(4, dtype=dt),
                         ln.Linear(4, 3, rng=rng, dtype=dt), ln.Sigmoid())


def _torch_mlp(t):
    return t.nn.Sequential(t.nn.Linear(4, 6), t.nn.Tanh(), t.nn.Linear(6, 5), t.nn.ReLU(),
                           t.nn.Linear(5, 4), t.nn.PReLU(4), t.nn.Linear(4, 3), t.nn.Sigmoid())


def _perturbed(module, rng):
    """Move parameters off their initial values (gamma = 1, beta = 0 would hide mistakes)
    and give BatchNorm non-trivial running statistics (used in evaluation mode)."""
    for p in module.parameters():
        p.data = (p.data + 0.5 * rng.standard_normal(p.shape)).astype(p.dtype)
    for m in module.modules():
        if isinstance(m, ln.BatchNorm1d) and m.track_running_stats:
            dt = m.running_mean.dtype
            m.running_mean = (0.3 * rng.standard_normal(m.num_features)).astype(dt)
            m.running_var = (0.5 + rng.random(m.num_features)).astype(dt)
    return module


def torch_residual(t, block, shortcut=None):
    """``block(x) + shortcut(x)`` in torch, with litnet's parameter names (block.*, shortcut.*)."""

    class Residual(t.nn.Module):
        def __init__(self):
            super().__init__()
            self.block, self.shortcut = block, shortcut

        def forward(self, x):
            return self.block(x) + (x if self.shortcut is None else self.shortcut(x))

    return Residual()


def _bn(rng, dt, *shape, **kw):
    return _perturbed(ln.BatchNorm1d(*shape, dtype=dt, **kw), rng)


def _residual_mlp(rng, dt):
    return _perturbed(ln.Residual(ln.Sequential(
        ln.Linear(4, 4, rng=rng, dtype=dt), ln.Tanh(), ln.Linear(4, 4, rng=rng, dtype=dt))), rng)


def _residual_projection(rng, dt):
    return _perturbed(ln.Residual(
        ln.Sequential(ln.Linear(4, 3, rng=rng, dtype=dt), ln.Sigmoid()),
        shortcut=ln.Linear(4, 3, bias=False, rng=rng, dtype=dt)), rng)


def _residual_bn(rng, dt):  # no bias before BatchNorm: its gradient is exactly 0 in training
    return _perturbed(ln.Residual(ln.Sequential(
        ln.Linear(3, 3, bias=False, rng=rng, dtype=dt), ln.BatchNorm1d(3, dtype=dt),
        ln.ReLU())), rng)


def torch_output_only(t, cls, *args, **kwargs):
    """``torch.nn.RNN``/``LSTM`` (batch first) returning only the output sequence, as litnet's
    layers do; a subclass, so the parameter names stay ``weight_ih_l0``, ...."""

    class OutputOnly(cls):
        def forward(self, x):
            return super().forward(x)[0]

    return OutputOnly(*args, batch_first=True, **kwargs)


def distinct_input(shape):
    """Values of magnitude in [0.5, 1.5], all at least 1e-3 apart, so that no two pixels of a
    max-pooling window are within the finite-difference step of each other."""
    def make(rng, dtype):
        size = rng.permutation(int(np.prod(shape))).reshape(shape)
        values = 0.5 + size / max(size.size - 1, 1)
        return (values * rng.choice([-1.0, 1.0], shape)).astype(dtype)
    return make


def _conv(rng, dt, *args, **kw):
    return _perturbed(ln.Conv2d(*args, rng=rng, dtype=dt, **kw), rng)


def _bn2d(rng, dt, c, **kw):
    return _perturbed(ln.BatchNorm2d(c, dtype=dt, **kw), rng)


def _conv_net(rng, dt):
    """A small CNN with every image layer: conv, BN, pooling, flatten, a Linear head."""
    return _perturbed(ln.Sequential(
        ln.Conv2d(2, 4, 3, padding=1, bias=False, rng=rng, dtype=dt), ln.BatchNorm2d(4, dtype=dt),
        ln.ReLU(), ln.MaxPool2d(2), ln.Conv2d(4, 4, (2, 3), stride=(1, 2), rng=rng, dtype=dt),
        ln.GroupNorm(2, 4, dtype=dt), ln.AdaptiveAvgPool2d(1), ln.Flatten(),
        ln.Linear(4, 3, rng=rng, dtype=dt)), rng)


def _torch_conv_net(t):
    nn = t.nn
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(4, 4, (2, 3), stride=(1, 2)),
                         nn.GroupNorm(2, 4), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 3))


def _basic_block(rng, dt, c_in, c_out, stride=1):
    """R17's basic block, conv-BN-ReLU-conv-BN + shortcut, then ReLU (identity or 1x1 conv)."""
    return _perturbed(basic_block(c_in, c_out, stride, residual=True, rng=rng, dtype=dt), rng)


def torch_basic_block(t, c_in, c_out, stride=1):
    nn = t.nn
    body = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(), nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(c_out))
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                 nn.BatchNorm2d(c_out))
    return nn.Sequential(torch_residual(t, body, shortcut), nn.ReLU())

CASES = [
    Case("Linear", lambda rng, dt: ln.Linear(4, 3, rng=rng, dtype=dt), (5, 4), (5, 3),
         torch=lambda t: t.nn.Linear(4, 3)),
    Case("Linear-nobias", lambda rng, dt: ln.Linear(4, 3, bias=False, rng=rng, dtype=dt),
         (5, 4), (5, 3), torch=lambda t: t.nn.Linear(4, 3, bias=False)),
    Case("Sigmoid", lambda rng, dt: ln.Sigmoid(), (4, 3), features=False,
         torch=lambda t: t.nn.Sigmoid()),
    Case("Tanh", lambda rng, dt: ln.Tanh(), (4, 3), features=False,
         torch=lambda t: t.nn.Tanh()),
    Case("ReLU", lambda rng, dt: ln.ReLU(), (4, 3), features=False,
         torch=lambda t: t.nn.ReLU()),
    Case("LeakyReLU", lambda rng, dt: ln.LeakyReLU(0.1), (4, 3), features=False,
         torch=lambda t: t.nn.LeakyReLU(0.1)),
    Case("PReLU-shared", lambda rng, dt: ln.PReLU(dtype=dt), (4, 3), features=False,
         torch=lambda t: t.nn.PReLU()),
    Case("PReLU-per-channel", lambda rng, dt: ln.PReLU(3, init=0.2, dtype=dt), (4, 3),
         torch=lambda t: t.nn.PReLU(3, init=0.2)),
    Case("PReLU-per-channel-3d", lambda rng, dt: ln.PReLU(3, dtype=dt), (2, 3, 4),
         torch=lambda t: t.nn.PReLU(3)),
    Case("Sequential-MLP", _mlp, (5, 4), (5, 3), torch=_torch_mlp),
    # normalisation, dropout, residual (tests/test_norm_layers.py adds evaluation mode)
    Case("BatchNorm1d", lambda rng, dt: _bn(rng, dt, 4), (6, 4),
         torch=lambda t: t.nn.BatchNorm1d(4)),
    Case("BatchNorm1d-3d", lambda rng, dt: _bn(rng, dt, 4), (3, 4, 5),
         torch=lambda t: t.nn.BatchNorm1d(4)),
    Case("BatchNorm1d-noaffine", lambda rng, dt: _bn(rng, dt, 4, affine=False), (6, 4),
         torch=lambda t: t.nn.BatchNorm1d(4, affine=False)),
    Case("BatchNorm1d-no-running-stats", lambda rng, dt: _bn(rng, dt, 4, track_running_stats=False),
         (6, 4), torch=lambda t: t.nn.BatchNorm1d(4, track_running_stats=False)),
    Case("BatchNorm1d-eval-batch-stats",
         lambda rng, dt: _bn(rng, dt, 4, eval_uses_batch_stats=True), (6, 4),
         torch=lambda t: t.nn.BatchNorm1d(4)),
    Case("BatchNorm1d-momentum-none", lambda rng, dt: _bn(rng, dt, 4, momentum=None), (6, 4),
         torch=lambda t: t.nn.BatchNorm1d(4, momentum=None)),
    Case("LayerNorm", lambda rng, dt: _perturbed(ln.LayerNorm(5, dtype=dt), rng), (4, 5),
         torch=lambda t: t.nn.LayerNorm(5)),
    Case("LayerNorm-3d-CL", lambda rng, dt: _perturbed(ln.LayerNorm((3, 4), dtype=dt), rng),
         (2, 3, 4), torch=lambda t: t.nn.LayerNorm((3, 4))),
    Case("LayerNorm-3d-L", lambda rng, dt: _perturbed(ln.LayerNorm(4, dtype=dt), rng),
         (2, 3, 4), feature_axis=2, torch=lambda t: t.nn.LayerNorm(4)),
    Case("LayerNorm-nobias", lambda rng, dt: _perturbed(ln.LayerNorm(5, bias=False, dtype=dt), rng),
         (4, 5), torch=lambda t: t.nn.LayerNorm(5, bias=False)),
    Case("LayerNorm-noaffine", lambda rng, dt: ln.LayerNorm(5, elementwise_affine=False), (4, 5),
         torch=lambda t: t.nn.LayerNorm(5, elementwise_affine=False)),
    Case("GroupNorm", lambda rng, dt: _perturbed(ln.GroupNorm(2, 6, dtype=dt), rng), (3, 6),
         torch=lambda t: t.nn.GroupNorm(2, 6)),
    Case("GroupNorm-3d", lambda rng, dt: _perturbed(ln.GroupNorm(2, 4, dtype=dt), rng), (2, 4, 3),
         torch=lambda t: t.nn.GroupNorm(2, 4)),
    Case("GroupNorm-noaffine-3d", lambda rng, dt: ln.GroupNorm(3, 6, affine=False), (2, 6, 2),
         torch=lambda t: t.nn.GroupNorm(3, 6, affine=False)),
    Case("Dropout-frozen", lambda rng, dt: ln.Dropout(0.3, rng=rng).freeze_mask(), (4, 5),
         features=False),
    Case("Residual-identity", _residual_mlp, (3, 4), torch=lambda t: torch_residual(
        t, t.nn.Sequential(t.nn.Linear(4, 4), t.nn.Tanh(), t.nn.Linear(4, 4)))),
    Case("Residual-projection", _residual_projection, (3, 4), (3, 3),
         torch=lambda t: torch_residual(t, t.nn.Sequential(t.nn.Linear(4, 3), t.nn.Sigmoid()),
                                         t.nn.Linear(4, 3, bias=False))),
    Case("Residual-batchnorm", _residual_bn, (4, 3), torch=lambda t: torch_residual(
        t, t.nn.Sequential(t.nn.Linear(3, 3, bias=False), t.nn.BatchNorm1d(3), t.nn.ReLU()))),
    Case("RNN-tanh", lambda rng, dt: ln.RNN(3, 4, rng=rng, dtype=dt), (2, 4, 3), (2, 4, 4),
         feature_axis=2, torch=lambda t: torch_output_only(t, t.nn.RNN, 3, 4)),
    Case("RNN-relu", lambda rng, dt: ln.RNN(3, 4, rng=rng, dtype=dt, nonlinearity="relu"),
         (2, 4, 3), (2, 4, 4), feature_axis=2,
         torch=lambda t: torch_output_only(t, t.nn.RNN, 3, 4, nonlinearity="relu")),
    Case("LSTM", lambda rng, dt: ln.LSTM(3, 4, rng=rng, dtype=dt), (2, 4, 3), (2, 4, 4),
         feature_axis=2, torch=lambda t: torch_output_only(t, t.nn.LSTM, 3, 4)),
    # images: (N, C, H, W); tests/test_conv.py adds evaluation mode and the error cases
    Case("Conv2d", lambda rng, dt: _conv(rng, dt, 2, 3, 3), (2, 2, 5, 4), (2, 3, 3, 2),
         torch=lambda t: t.nn.Conv2d(2, 3, 3)),
    Case("Conv2d-stride-padding-rect", lambda rng, dt: _conv(rng, dt, 3, 2, (2, 3), (2, 1), (1, 2)),
         (2, 3, 5, 4), (2, 2, 3, 6), torch=lambda t: t.nn.Conv2d(3, 2, (2, 3), (2, 1), (1, 2))),
    Case("Conv2d-nobias-1x1-stride2", lambda rng, dt: _conv(rng, dt, 3, 4, 1, 2, bias=False),
         (3, 3, 5, 5), (3, 4, 3, 3), torch=lambda t: t.nn.Conv2d(3, 4, 1, 2, bias=False)),
    Case("MaxPool2d", lambda rng, dt: ln.MaxPool2d(2), (2, 3, 4, 5), (2, 3, 2, 2),
         features=False, torch=lambda t: t.nn.MaxPool2d(2),
         make_input=distinct_input((2, 3, 4, 5))),
    Case("MaxPool2d-overlap-rect", lambda rng, dt: ln.MaxPool2d((3, 2), stride=(1, 2)),
         (2, 2, 5, 5), (2, 2, 3, 2), features=False,
         torch=lambda t: t.nn.MaxPool2d((3, 2), stride=(1, 2)),
         make_input=distinct_input((2, 2, 5, 5))),
    Case("AvgPool2d", lambda rng, dt: ln.AvgPool2d(2), (2, 3, 4, 5), (2, 3, 2, 2),
         features=False, torch=lambda t: t.nn.AvgPool2d(2)),
    Case("AvgPool2d-overlap-rect", lambda rng, dt: ln.AvgPool2d((2, 3), stride=1),
         (2, 2, 4, 5), (2, 2, 3, 3), features=False,
         torch=lambda t: t.nn.AvgPool2d((2, 3), stride=1)),
    Case("AdaptiveAvgPool2d-global", lambda rng, dt: ln.AdaptiveAvgPool2d(1), (2, 3, 4, 5),
         (2, 3, 1, 1), features=False, torch=lambda t: t.nn.AdaptiveAvgPool2d(1)),
    Case("AdaptiveAvgPool2d-2x3", lambda rng, dt: ln.AdaptiveAvgPool2d((2, 3)), (2, 2, 5, 7),
         (2, 2, 2, 3), features=False, torch=lambda t: t.nn.AdaptiveAvgPool2d((2, 3))),
    Case("Flatten", lambda rng, dt: ln.Flatten(), (2, 3, 2, 2), (2, 12), features=False,
         torch=lambda t: t.nn.Flatten()),
    Case("BatchNorm2d", lambda rng, dt: _bn2d(rng, dt, 3), (2, 3, 4, 3),
         torch=lambda t: t.nn.BatchNorm2d(3)),
    Case("BatchNorm2d-noaffine-momentum-none",
         lambda rng, dt: _bn2d(rng, dt, 3, affine=False, momentum=None), (3, 3, 2, 2),
         torch=lambda t: t.nn.BatchNorm2d(3, affine=False, momentum=None)),
    Case("GroupNorm-4d", lambda rng, dt: _perturbed(ln.GroupNorm(3, 6, dtype=dt), rng),
         (2, 6, 3, 2), torch=lambda t: t.nn.GroupNorm(3, 6)),
    Case("GroupNorm-4d-instance", lambda rng, dt: _perturbed(ln.GroupNorm(4, 4, dtype=dt), rng),
         (2, 4, 2, 3), torch=lambda t: t.nn.GroupNorm(4, 4)),
    Case("Sequential-CNN", _conv_net, (2, 2, 6, 6), (2, 3), torch=_torch_conv_net),
    Case("Residual-conv-identity", lambda rng, dt: _basic_block(rng, dt, 2, 2), (2, 2, 4, 4),
         torch=lambda t: torch_basic_block(t, 2, 2)),
    Case("Residual-conv-projection", lambda rng, dt: _basic_block(rng, dt, 2, 3, stride=2),
         (2, 2, 5, 5), (2, 3, 3, 3), torch=lambda t: torch_basic_block(t, 2, 3, stride=2)),
]
