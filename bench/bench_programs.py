"""The programs the benchmark times, and the registry the harness reads them from.

A program is a function ``make(w, threads)`` that builds everything workload
``w`` needs and returns ``step()``, one training step that returns its loss
(0.0 where there is none). Adding a program is one function (here or in a file
of its own) and one line in :data:`PROGRAMS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from bench_workloads import LR, N_CLASSES, batch_data, build_litnet
from best_numpy import best_numpy_step
from conv_step import litnet_conv, torch_conv


def litnet_step(w, threads=None):
    from litnet.optim import SGD
    from litnet.training import train_step

    model = build_litnet(w)
    x, y = batch_data(w)
    params = model.parameters()
    opt = SGD(params, lr=LR)

    def step():                         # as fit calls it: the model walked once, above
        return train_step(model, x, y, optimizer=opt, params=params)[0]

    return step


def torch_step(w, threads):
    import torch

    import litnet as ln

    torch.set_num_threads(threads)
    model = build_litnet(w)
    if w.kind == "lstm":
        class LastStep(torch.nn.Module):
            def forward(self, x):
                return x[:, -1]

        net = torch.nn.Sequential(ln.to_torch(model[0]), LastStep(), ln.to_torch(model[2]))
    else:
        net = ln.to_torch(model)
    net.train()
    x, y = batch_data(w)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    cross_entropy = torch.nn.functional.cross_entropy

    def step():
        opt.zero_grad()
        loss = cross_entropy(net(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def floor_products(w):
    """``[(a_shape, b_shape, transpose_a, transpose_b)]``: every matrix product of the step."""
    prods = []
    if w.kind == "lstm":
        T, D, H = w.seq
        N, G = w.batch, 4 * H
        prods.append(((N * T, D), (G, D), False, True))        # x W_ih^T, all steps at once
        prods += [((N, H), (G, H), False, True)] * T           # h_{t-1} W_hh^T, step by step
        prods.append(((N, H), (N_CLASSES, H), False, True))    # head forward
        prods.append(((N, N_CLASSES), (N, H), True, False))    # head dW
        prods.append(((N, N_CLASSES), (N_CLASSES, H), False, False))  # head dx
        prods += [((N, G), (G, H), False, False)] * T          # dz_t W_hh, step by step
        prods.append(((N * T, G), (N * T, D), True, False))    # dW_ih = dz^T x
        prods.append(((N * T, G), (N * T, H), True, False))    # dW_hh = dz^T h_prev
        return prods
    dims = w.dims if w.kind == "mlp" else (64,) * 41 + (N_CLASSES,)
    N = w.batch
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        prods.append(((N, d_in), (d_out, d_in), False, True))      # forward x W^T
        prods.append(((N, d_out), (N, d_in), True, False))         # dW = g^T x
        if i > 0:
            prods.append(((N, d_out), (d_out, d_in), False, False))  # dx = g W
    return prods


def floor_step(w, threads=None):
    rng = np.random.default_rng(0)
    operands, outputs = {}, {}   # one array per shape: W_hh is one matrix for all steps

    def array(store, shape):
        if shape not in store:
            store[shape] = (0.1 * rng.standard_normal(shape)).astype(w.dtype)
        return store[shape]

    work = []
    for a_shape, b_shape, ta, tb in floor_products(w):
        a, b = array(operands, a_shape), array(operands, b_shape)
        a, b = (a.T if ta else a), (b.T if tb else b)
        work.append((a, b, array(outputs, (a.shape[0], b.shape[1]))))

    def step():
        for a, b, out in work:
            np.matmul(a, b, out=out)
        return 0.0

    return step


@dataclass(frozen=True)
class Program:
    label: str                  # the column heading on the Performance page
    make: object                # make(w, threads) -> step
    kinds: tuple = ("mlp", "residual", "lstm")   # the workload kinds it can run


#: Every timed program, in the order of the page's columns. The first is litnet; ratios
#: are litnet's time over each of the others'.
PROGRAMS = {
    "litnet": Program("litnet", litnet_step),
    "numpy": Program("best NumPy", best_numpy_step, kinds=("mlp",)),
    "torch": Program("PyTorch", torch_step),
    "floor": Program("floor", floor_step),
}


#: Programs that build the step of one workload kind differently, ``{(program, kind):
#: make}``: e.g. a layer-only kind whose litnet and PyTorch steps live in a file of their
#: own registers both here (one entry each) and its workloads in bench_workloads.py.
BY_KIND = {("litnet", "conv"): litnet_conv, ("torch", "conv"): torch_conv}


def maker(name, w):
    """The function that builds program ``name``'s step for workload ``w``."""
    return BY_KIND.get((name, w.kind), PROGRAMS[name].make)


def runs(name, w):
    """Whether program ``name`` can run workload ``w``."""
    return w.kind in PROGRAMS[name].kinds or (name, w.kind) in BY_KIND
