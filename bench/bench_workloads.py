"""The benchmark's workloads: the networks and mini-batches every program steps on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

N_CLASSES = 10
LR = 0.01


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    kind: str                   # "mlp", "residual", "lstm" or "conv" (one Conv2d layer)
    batch: int
    dtype: str = "float32"
    dims: tuple = ()            # mlp: layer widths, input first
    data: str = "random"        # "random" or "digits"
    seq: tuple = ()             # lstm: (T, D, H)
    targets: dict = field(default_factory=dict)   # {program: max litnet/program ratio}


MLP = (784, 100, 100, 100, 100, 100, 10)
DIGITS_MLP = (64, 100, 100, 100, 100, 100, 10)
WORKLOADS = [
    Workload("mlp-b100-f32", "784-100×5-10, BN + sigmoid, batch 100, float32", "mlp", 100,
             dims=MLP, targets={"torch": 0.8, "numpy": 1.4}),
    Workload("mlp-b100-f64", "784-100×5-10, BN + sigmoid, batch 100, float64", "mlp", 100,
             "float64", dims=MLP),
    Workload("mlp-b1000-f32", "784-100×5-10, BN + sigmoid, batch 1000, float32", "mlp", 1000,
             dims=MLP, targets={"numpy": 1.25}),
    Workload("mlp-b1000-f64", "784-100×5-10, BN + sigmoid, batch 1000, float64", "mlp", 1000,
             "float64", dims=MLP),
    Workload("digits-b100-f32", "64-100×5-10 on the digits, BN + sigmoid, batch 100, float32",
             "mlp", 100, dims=DIGITS_MLP, data="digits"),
    Workload("residual40-b100-f32", "40 residual sigmoid layers (width 64) on the digits, "
             "batch 100, float32", "residual", 100, data="digits"),
    Workload("lstm-t50-b64-f32", "LSTM, T=50, D=32, H=128, last state → Linear(128, 10), "
             "batch 64, float32", "lstm", 64, seq=(50, 32, 128)),
    Workload("conv-b100-c16", "one Conv2d(16, 16, 3, padding=1), forward + backward, "
             "N=100, 8×8, float32", "conv", 100, targets={"torch": 2.0}),
    # The same layers with almost no arithmetic: what a step costs in calls alone.
    Workload("fixed-cost", "the (a) network with every width 2, batch 4, float32 "
             "(the fixed cost of a step)", "mlp", 4, dims=(2, 2, 2, 2, 2, 2, 10)),
]
QUICK = ("mlp-b100-f32", "lstm-t50-b64-f32")
BY_KEY = {w.key: w for w in WORKLOADS}


def batch_data(w):
    """The mini-batch ``(x, y)`` of workload ``w``, the same in every process."""
    rng = np.random.default_rng(0)
    if w.data == "digits":
        from litnet.data import load_digits

        split = load_digits(rng=np.random.default_rng(0), dtype=w.dtype)
        return split.x_train[:w.batch].copy(), split.y_train[:w.batch].copy()
    if w.kind == "lstm":
        T, D, _ = w.seq
        x = rng.standard_normal((w.batch, T, D)).astype(w.dtype)
    else:
        x = rng.standard_normal((w.batch, w.dims[0])).astype(w.dtype)
    return x, rng.integers(0, N_CLASSES, w.batch)


def build_litnet(w):
    """The litnet network of workload ``w`` (seeded)."""
    import litnet as ln

    rng = np.random.default_rng(1)
    if w.kind == "mlp":
        layers = []
        for d_in, d_out in zip(w.dims[:-2], w.dims[1:-1], strict=True):
            layers += [ln.Linear(d_in, d_out, rng=rng, dtype=w.dtype),
                       ln.BatchNorm1d(d_out, dtype=w.dtype), ln.Sigmoid()]
        layers.append(ln.Linear(w.dims[-2], w.dims[-1], rng=rng, dtype=w.dtype))
        return ln.Sequential(*layers)
    if w.kind == "residual":
        from litnet.experiments.deep_residual import build

        return build(40, residual=True, seed=1, dtype=w.dtype)
    _, D, H = w.seq
    return ln.Sequential(ln.LSTM(D, H, rng=rng, dtype=w.dtype), _last_step_layer(),
                         ln.Linear(H, N_CLASSES, rng=rng, dtype=w.dtype))


def _last_step_layer():
    """A litnet layer (N, T, H) -> (N, H) that keeps the last time step."""
    import litnet as ln

    class LastStep(ln.Module):
        def forward(self, x):
            self._shape = x.shape
            return x[:, -1]

        def backward(self, grad_out):
            dx = np.zeros(self._shape, dtype=grad_out.dtype)
            dx[:, -1] = grad_out
            return dx

    return LastStep()


