"""The "best NumPy" step: the fastest correct NumPy-only step of the MLP workloads.

Not part of litnet: a reference for how close litnet comes to what NumPy itself
can do. The same network and arithmetic as litnet's layers (Linear,
BatchNorm1d with batch statistics and running averages, the precise sigmoid
``1/(1 + exp(-x))``, softmax cross-entropy, plain SGD), from the same
weights, but written as one program: every array preallocated and written
with ``out=``, BatchNorm's backward in closed form with per-column vectors,
column sums as BLAS products (``ones @ a``), no checks, no modules, no hooks.
:func:`check_against_torch` shows it computes what PyTorch computes.
"""

from __future__ import annotations

import numpy as np
from bench_workloads import LR, batch_data, build_litnet

EPS, MOMENTUM = 1e-5, 0.1


class _Hidden:
    """One Linear -> BatchNorm1d -> Sigmoid block: its parameters and its buffers."""

    def __init__(self, linear, norm, n):
        self.W, self.b = linear.weight.data, linear.bias.data
        self.gamma, self.beta = norm.weight.data, norm.bias.data
        self.run_mean, self.run_var = norm.running_mean, norm.running_var
        shape = (n, self.W.shape[0])
        self.xhat, self.s, self.t = (np.empty(shape, self.W.dtype) for _ in range(3))
        self.dW = np.empty_like(self.W)

    def forward(self, h, ones):
        n = h.shape[0]
        xhat, s = self.xhat, self.s
        np.matmul(h, self.W.T, out=s)
        s += self.b
        mean = (ones @ s) / n                            # column sums by BLAS
        np.subtract(s, mean, out=xhat)                   # centred
        np.multiply(xhat, xhat, out=self.t)
        var = (ones @ self.t) / n
        inv_std = 1.0 / np.sqrt(var + EPS)
        xhat *= inv_std
        self.run_mean *= 1 - MOMENTUM
        self.run_mean += MOMENTUM * mean
        self.run_var *= 1 - MOMENTUM
        self.run_var += (MOMENTUM * n / (n - 1)) * var
        np.multiply(xhat, self.gamma, out=s)             # y = gamma xhat + beta
        s += self.beta
        np.negative(s, out=s)                            # s = 1 / (1 + exp(-y))
        np.exp(s, out=s)
        s += 1
        np.reciprocal(s, out=s)
        self.a = self.gamma * inv_std                    # per column, for the backward
        return s

    def backward(self, g, h_in, ones, dx):
        """``g``: dL/d(sigmoid output); writes the weight gradient and, if ``dx`` is an
        array, dL/d(h_in) into it."""
        n, xhat, s, t = g.shape[0], self.xhat, self.s, self.t
        np.subtract(1.0, s, out=t)                       # sigmoid: g s (1 - s)
        t *= s
        t *= g                                           # t = dL/dy of the BatchNorm
        self.dbeta = ones @ t
        np.multiply(t, xhat, out=s)                      # s is free now
        self.dgamma = ones @ s
        np.multiply(xhat, self.dgamma / n, out=s)        # dz = a (t - xhat k - c)
        np.subtract(t, s, out=s)
        s -= self.dbeta / n
        s *= self.a
        np.matmul(s.T, h_in, out=self.dW)
        self.db = ones @ s
        if dx is not None:
            np.matmul(s, self.W, out=dx)

    def update(self):
        for value, grad in ((self.W, self.dW), (self.b, self.db),
                            (self.gamma, self.dgamma), (self.beta, self.dbeta)):
            grad *= LR
            value -= grad


def best_numpy_step(w, threads=None):
    """The step of MLP workload ``w`` as one preallocated NumPy program."""
    if w.kind != "mlp":
        raise ValueError(f"best_numpy_step: only the MLP workloads, not {w.kind!r}")
    return program(build_litnet(w), *batch_data(w))


class _Head:
    """The last Linear, softmax cross-entropy and its backward, in preallocated arrays."""

    def __init__(self, linear, n):
        self.W, self.b = linear.weight.data, linear.bias.data
        self.p = np.empty((n, self.W.shape[0]), self.W.dtype)
        self.dW, self.gh = np.empty_like(self.W), np.empty((n, self.W.shape[1]), self.W.dtype)
        self.rows, self.classes = np.arange(n), np.ones(self.W.shape[0], self.W.dtype)

    def loss_and_backward(self, h, y, ones):
        """The mean loss; leaves dL/dh in ``self.gh``."""
        n, p, rows = h.shape[0], self.p, self.rows
        np.matmul(h, self.W.T, out=p)
        p += self.b
        p -= p.max(axis=1, keepdims=True)
        np.exp(p, out=p)
        p /= (p @ self.classes)[:, None]                 # softmax, row sums by BLAS
        loss = -np.log(p[rows, y]).mean()
        p[rows, y] -= 1                                  # dL/dlogits = (p - onehot) / n
        p /= n
        np.matmul(p.T, h, out=self.dW)
        self.db = ones @ p
        np.matmul(p, self.W, out=self.gh)
        return loss

    def update(self):
        self.dW *= LR
        self.W -= self.dW
        self.b -= LR * self.db


def program(model, x, y):
    """A step function that trains the litnet ``model`` (Linear-BatchNorm1d-Sigmoid blocks,
    then a Linear head) on ``(x, y)``, updating its arrays in place; returns the loss."""
    layers, n = model.layers, x.shape[0]
    hidden = [_Hidden(layers[i], layers[i + 1], n) for i in range(0, len(layers) - 1, 3)]
    head, ones = _Head(layers[-1], n), np.ones(n, dtype=x.dtype)

    def step():
        h = x
        with np.errstate(over="ignore"):                 # exp(-y) = inf gives s = 0
            for block in hidden:
                h = block.forward(h, ones)
        loss = head.loss_and_backward(h, y, ones)
        for i in reversed(range(len(hidden))):
            h_in = hidden[i - 1].s if i else x
            hidden[i].backward(head.gh, h_in, ones, head.gh if i else None)
        for block in hidden + [head]:
            block.update()
        return float(loss)

    return step


def check_against_torch(w, steps=3):
    """Largest difference between this program's parameters and running statistics and
    PyTorch's after ``steps`` SGD steps of workload ``w`` from the same weights (use a
    float64 workload), relative to ``max(1, |value|)``: the biases of the Linear layers
    before a BatchNorm get a zero gradient in exact arithmetic and stay near 0."""
    import torch

    import litnet as ln

    model = build_litnet(w)
    net = ln.to_torch(model).train()
    x, y = batch_data(w)
    step = program(model, x, y)
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(steps):
        step()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    ours = [p.data for p in model.parameters()] + [b for _, b in model.named_buffers()
                                                   if b.dtype.kind == "f"]
    theirs = list(net.parameters()) + [b for b in net.buffers() if b.is_floating_point()]
    return max(float(np.abs(a - t.detach().numpy()).max() / max(1.0, np.abs(a).max()))
               for a, t in zip(ours, theirs, strict=True))
