"""PyTorch parity in float64, to 1e-10: layers, losses, optimisers, clipping.

Uses the ``torch`` fixture of conftest.py (skipped without torch, a failure
when CI=true). Layers come from the registry in tests/cases.py: every case with
a ``torch`` factory is compared here.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from cases import CASES, make_input

import litnet as ln
from litnet import optim

TOL = 1e-10


def close(ours, theirs, what=""):
    if hasattr(theirs, "detach"):
        theirs = theirs.detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL, err_msg=what)


def copy_into(torch, ours, theirs):
    """Copy litnet's parameters and buffers into the torch module, by (PyTorch) name."""
    their_params = dict(theirs.named_parameters())
    assert sorted(n for n, _ in ours.named_parameters()) == sorted(their_params)
    their_buffers = dict(theirs.named_buffers())
    with torch.no_grad():
        for name, p in ours.named_parameters():
            assert tuple(their_params[name].shape) == p.shape, name
            their_params[name].copy_(torch.from_numpy(p.data))
        for name, b in ours.named_buffers():
            their_buffers[name].copy_(torch.from_numpy(np.asarray(b)))


TORCH_CASES = [c for c in CASES if c.torch is not None]


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c.name for c in TORCH_CASES])
def test_layer_matches_torch(torch, case):
    """Training mode (both libraries' default); evaluation mode of the normalisation
    layers is compared in tests/test_norm_layers.py."""
    rng = np.random.default_rng(0)
    ours = case.factory(rng, np.float64)
    x = make_input(case, rng)
    theirs = case.torch(torch)
    copy_into(torch, ours, theirs)

    y = ours(x)
    g = rng.standard_normal(y.shape)
    dx = ours.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.tensor(g))

    close(y, yt, "forward")
    close(dx, xt.grad, "dL/dx")
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, their_params[name].grad, name)
    their_buffers = dict(theirs.named_buffers())
    for name, b in ours.named_buffers():
        close(b, their_buffers[name], name)


@pytest.mark.parametrize("layer, their", [
    (ln.Sigmoid, lambda t: t.nn.Sigmoid()),
    (ln.Tanh, lambda t: t.nn.Tanh()),
    (ln.ReLU, lambda t: t.nn.ReLU()),
    (ln.LeakyReLU, lambda t: t.nn.LeakyReLU()),
])
def test_activations_at_extreme_inputs(torch, layer, their):
    x = np.array([[-1e4, -800.0, -30.0, -1e-3], [1e-3, 30.0, 800.0, 1e4]])
    ours = layer()
    xt = torch.tensor(x, requires_grad=True)
    yt = their(torch)(xt)
    yt.backward(torch.ones_like(yt))
    close(ours(x), yt)
    close(ours.backward(np.ones_like(x)), xt.grad)


# -- losses --------------------------------------------------------------------------------
def loss_pair(torch, ours_fn, their_fn, z, target, target_t, reduction):
    loss, d = ours_fn(z, target, reduction=reduction)
    zt = torch.tensor(z, requires_grad=True)
    lt = their_fn(zt, target_t, reduction=reduction)
    lt.backward()
    close(loss, lt, "loss")
    close(d, zt.grad, "dloss/dinput")


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_cross_entropy_matches_torch(torch, reduction, scale):
    rng = np.random.default_rng(1)
    z = scale * rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    probs = rng.dirichlet(np.ones(4), 6)
    F = torch.nn.functional
    loss_pair(torch, ln.softmax_cross_entropy, F.cross_entropy, z, labels,
              torch.tensor(labels), reduction)
    loss_pair(torch, ln.softmax_cross_entropy, F.cross_entropy, z, probs,
              torch.tensor(probs), reduction)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_and_bce_match_torch(torch, reduction):
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, 3)) * np.array([1.0, 10.0, 1e4])
    t = rng.standard_normal((5, 3))
    p = rng.uniform(0, 1, (5, 3))
    F = torch.nn.functional
    loss_pair(torch, ln.mse_loss, F.mse_loss, z, t, torch.tensor(t), reduction)
    loss_pair(torch, ln.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits,
              z, p, torch.tensor(p), reduction)


# -- optimisers ----------------------------------------------------------------------------
def optimiser_pairs():
    """(id, litnet factory(params, wd), torch factory(torch, params, wd))."""
    pairs = [
        ("SGD", lambda p, wd: optim.SGD(p, lr=0.1, weight_decay=wd),
         lambda t, p, wd: t.optim.SGD(p, lr=0.1, weight_decay=wd)),
        ("SGD-momentum-dampening", lambda p, wd: optim.SGD(p, lr=0.1, momentum=0.9,
                                                           dampening=0.3, weight_decay=wd),
         lambda t, p, wd: t.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3,
                                      weight_decay=wd)),
        ("Momentum", lambda p, wd: optim.Momentum(p, weight_decay=wd),
         lambda t, p, wd: t.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=wd)),
        ("Nesterov", lambda p, wd: optim.Nesterov(p, lr=0.05, momentum=0.8, weight_decay=wd),
         lambda t, p, wd: t.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True,
                                      weight_decay=wd)),
        ("AdaGrad", lambda p, wd: optim.AdaGrad(p, lr=0.3, weight_decay=wd),
         lambda t, p, wd: t.optim.Adagrad(p, lr=0.3, weight_decay=wd)),
        ("AdaGrad-decay-init", lambda p, wd: optim.AdaGrad(p, lr=0.3, lr_decay=0.1,
                                                           initial_accumulator_value=0.5,
                                                           eps=1e-6, weight_decay=wd),
         lambda t, p, wd: t.optim.Adagrad(p, lr=0.3, lr_decay=0.1,
                                          initial_accumulator_value=0.5, eps=1e-6,
                                          weight_decay=wd)),
        ("RMSProp", lambda p, wd: optim.RMSProp(p, lr=0.02, weight_decay=wd),
         lambda t, p, wd: t.optim.RMSprop(p, lr=0.02, weight_decay=wd)),
        ("RMSProp-alpha-eps", lambda p, wd: optim.RMSProp(p, lr=0.02, alpha=0.8, eps=1e-3,
                                                          weight_decay=wd),
         lambda t, p, wd: t.optim.RMSprop(p, lr=0.02, alpha=0.8, eps=1e-3, weight_decay=wd)),
        ("Adam", lambda p, wd: optim.Adam(p, lr=0.05, weight_decay=wd),
         lambda t, p, wd: t.optim.Adam(p, lr=0.05, weight_decay=wd)),
        ("Adam-betas-eps", lambda p, wd: optim.Adam(p, lr=0.05, betas=(0.5, 0.9), eps=1e-3,
                                                    weight_decay=wd),
         lambda t, p, wd: t.optim.Adam(p, lr=0.05, betas=(0.5, 0.9), eps=1e-3,
                                       weight_decay=wd)),
    ]
    return [pytest.param(ours, theirs, wd, id=f"{name}-wd{wd}")
            for name, ours, theirs in pairs for wd in (0.0, 0.05)]


@pytest.mark.parametrize("ours_opt, their_opt, wd", optimiser_pairs())
def test_optimiser_steps_match_torch(torch, ours_opt, their_opt, wd):
    rng = np.random.default_rng(3)
    start = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    ours = [ln.Parameter(a) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    opt, topt = ours_opt(ours, wd), their_opt(torch, theirs, wd)
    for step in range(8):
        for p, pt in zip(ours, theirs, strict=True):
            g = rng.standard_normal(p.shape) + p.data     # depends on where we are
            p.grad = g
            pt.grad = torch.tensor(g)
        opt.step()
        topt.step()
        for i, (p, pt) in enumerate(zip(ours, theirs, strict=True)):
            close(p.data, pt, f"parameter {i} after step {step + 1}")


@pytest.mark.parametrize("ours, theirs, names", [
    (optim.SGD, "SGD", ["lr", "momentum", "dampening", "weight_decay", "nesterov"]),
    (optim.AdaGrad, "Adagrad", ["lr", "lr_decay", "weight_decay",
                                "initial_accumulator_value", "eps"]),
    (optim.RMSProp, "RMSprop", ["lr", "alpha", "eps", "weight_decay"]),
    (optim.Adam, "Adam", ["lr", "betas", "eps", "weight_decay"]),
])
def test_default_hyperparameters_are_pytorch_defaults(torch, ours, theirs, names):
    mine = inspect.signature(ours).parameters
    torch_defaults = inspect.signature(getattr(torch.optim, theirs)).parameters
    assert list(mine)[1:] == names                     # same names, same order
    for name in names:
        assert mine[name].default == torch_defaults[name].default, name


# -- clipping ------------------------------------------------------------------------------
@pytest.mark.parametrize("max_norm, norm_type", [(0.5, 2.0), (100.0, 2.0), (0.5, float("inf")),
                                                 (1.0, 1.0)])
def test_clip_grad_norm_matches_torch(torch, max_norm, norm_type):
    rng = np.random.default_rng(4)
    grads = [rng.standard_normal((3, 2)), rng.standard_normal(5)]
    ours = [ln.Parameter(np.zeros_like(g)) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, pt, g in zip(ours, theirs, grads, strict=True):
        p.grad, pt.grad = g.copy(), torch.tensor(g)
    total = ln.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    their_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    close(total, their_total, "total norm")
    for p, pt in zip(ours, theirs, strict=True):
        close(p.grad, pt.grad)


def test_clip_grad_value_matches_torch(torch):
    g = np.random.default_rng(5).standard_normal((4, 3)) * 2
    p, pt = ln.Parameter(np.zeros((4, 3))), torch.zeros((4, 3), requires_grad=True)
    p.grad, pt.grad = g.copy(), torch.tensor(g)
    ln.clip_grad_value_([p], 0.7)
    torch.nn.utils.clip_grad_value_([pt], 0.7)
    close(p.grad, pt.grad)
