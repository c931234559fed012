"""BatchNorm1d, LayerNorm, GroupNorm and Residual against PyTorch, in float64 to 1e-10.

BatchNorm1d is followed over several training steps (outputs, input and parameter
gradients, running statistics, the batch counter) and then in evaluation mode.
"""

import numpy as np
import pytest
from cases import torch_residual

import litnet as ln

TOL = 1e-10


def assert_close(ours, theirs, what=""):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, what
    diff = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
    assert diff <= TOL, f"{what}: max |litnet - torch| = {diff:.3g}"
    return diff


def copy_params(module, torch_module, torch):
    """Copy litnet's parameters and buffers into the torch module, by name."""
    state = dict(torch_module.named_parameters()) | dict(torch_module.named_buffers())
    ours = dict(module.named_parameters())
    assert set(ours) == {n for n, _ in torch_module.named_parameters()}
    with torch.no_grad():
        for name, p in ours.items():
            state[name].copy_(torch.from_numpy(p.data))
        for name, b in module.named_buffers():
            state[name].copy_(torch.from_numpy(np.asarray(b)))


def compare_step(module, torch_module, x, g, torch, what):
    """One forward and backward on both sides; compare output, dL/dx and every .grad."""
    y = module(x)
    dx = module.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_module(xt)
    yt.backward(torch.tensor(g))
    assert_close(y, yt, f"{what} output")
    assert_close(dx, xt.grad, f"{what} dL/dx")
    theirs = dict(torch_module.named_parameters())
    for name, p in module.named_parameters():
        assert_close(p.grad, theirs[name].grad, f"{what} dL/d{name}")


def _randomise(module, rng):
    for p in module.parameters():
        p.data = p.data + 0.5 * rng.standard_normal(p.shape)
    return module


# -- BatchNorm1d ----------------------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
@pytest.mark.parametrize("shape", [(8, 4), (5, 4, 3), (2, 4)])
def test_batchnorm_training_steps_then_eval(torch, shape, momentum):
    rng = np.random.default_rng(0)
    bn = _randomise(ln.BatchNorm1d(4, momentum=momentum, dtype=np.float64), rng)
    tbn = torch.nn.BatchNorm1d(4, momentum=momentum)
    copy_params(bn, tbn, torch)
    scale = 1 + 3 * rng.random((1, 4) + (1,) * (len(shape) - 2))
    for step in range(5):
        x = rng.standard_normal(shape) * scale + step           # a drifting distribution
        compare_step(bn, tbn, x, rng.standard_normal(shape), torch, f"train step {step}")
        assert_close(bn.running_mean, tbn.running_mean, "running_mean")
        assert_close(bn.running_var, tbn.running_var, "running_var")
        assert int(bn.num_batches_tracked) == int(tbn.num_batches_tracked) == step + 1
    bn.eval()
    tbn.eval()
    for n in (shape[0], 1):
        x = rng.standard_normal((n,) + shape[1:]) * scale + 2
        compare_step(bn, tbn, x, rng.standard_normal(x.shape), torch, f"eval batch {n}")
    assert_close(bn.running_var, tbn.running_var, "running_var unchanged by eval")


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_without_running_stats(torch, affine):
    rng = np.random.default_rng(1)
    bn = _randomise(ln.BatchNorm1d(3, affine=affine, track_running_stats=False,
                                   dtype=np.float64), rng)
    tbn = torch.nn.BatchNorm1d(3, affine=affine, track_running_stats=False)
    copy_params(bn, tbn, torch)
    for mode in ("train", "eval"):
        bn.train(mode == "train")
        tbn.train(mode == "train")
        x = rng.standard_normal((6, 3)) * 2 - 1
        compare_step(bn, tbn, x, rng.standard_normal(x.shape), torch, mode)


def test_batchnorm_eval_with_batch_stats_is_torch_functional_batch_norm(torch):
    rng = np.random.default_rng(2)
    bn = _randomise(ln.BatchNorm1d(3, eval_uses_batch_stats=True, dtype=np.float64), rng)
    bn(rng.standard_normal((6, 3)))             # some running statistics, which eval ignores
    bn.eval()
    x, g = rng.standard_normal((5, 3)) + 4, rng.standard_normal((5, 3))
    y, dx = bn(x), bn.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    w, b = torch.tensor(bn.weight.data), torch.tensor(bn.bias.data)
    yt = torch.nn.functional.batch_norm(xt, None, None, w, b, training=True, eps=bn.eps)
    yt.backward(torch.tensor(g))
    assert_close(y, yt, "output")
    assert_close(dx, xt.grad, "dL/dx")


# -- LayerNorm and GroupNorm ---------------------------------------------------------------
@pytest.mark.parametrize("normalized_shape, shape, kwargs", [
    (5, (4, 5), {}),
    ((3, 4), (2, 3, 4), {}),
    (4, (2, 3, 4), {}),
    (5, (4, 5), {"bias": False}),
    (5, (4, 5), {"elementwise_affine": False}),
    (6, (3, 6), {"eps": 1e-3}),
])
def test_layernorm(torch, normalized_shape, shape, kwargs):
    rng = np.random.default_rng(3)
    layer = _randomise(ln.LayerNorm(normalized_shape, dtype=np.float64, **kwargs), rng)
    tlayer = torch.nn.LayerNorm(normalized_shape, **kwargs)
    copy_params(layer, tlayer, torch)
    for step in range(2):                       # the second step checks accumulation too
        x = rng.standard_normal(shape) * 3 + 1
        compare_step(layer, tlayer, x, rng.standard_normal(shape), torch, f"step {step}")


@pytest.mark.parametrize("groups, channels, shape, affine", [
    (2, 6, (3, 6), True),
    (2, 4, (2, 4, 3), True),
    (1, 4, (3, 4, 2), True),
    (4, 4, (2, 4, 3), True),
    (3, 6, (2, 6, 2), False),
])
def test_groupnorm(torch, groups, channels, shape, affine):
    rng = np.random.default_rng(4)
    layer = _randomise(ln.GroupNorm(groups, channels, affine=affine, dtype=np.float64), rng)
    tlayer = torch.nn.GroupNorm(groups, channels, affine=affine)
    copy_params(layer, tlayer, torch)
    for step in range(2):
        x = rng.standard_normal(shape) * 2 - 1
        compare_step(layer, tlayer, x, rng.standard_normal(shape), torch, f"step {step}")


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(4, 3, 5, 2), (1, 3, 2, 2)])
def test_batchnorm2d_training_steps_then_eval(torch, shape, momentum):
    """Per-channel statistics over (N, H, W), running statistics as BatchNorm1d's."""
    rng = np.random.default_rng(7)
    bn = _randomise(ln.BatchNorm2d(3, momentum=momentum, dtype=np.float64), rng)
    tbn = torch.nn.BatchNorm2d(3, momentum=momentum)
    copy_params(bn, tbn, torch)
    scale = 1 + 3 * rng.random((1, 3, 1, 1))
    for step in range(4):
        x = rng.standard_normal(shape) * scale + step
        compare_step(bn, tbn, x, rng.standard_normal(shape), torch, f"train step {step}")
        assert_close(bn.running_mean, tbn.running_mean, "running_mean")
        assert_close(bn.running_var, tbn.running_var, "running_var")
        assert int(bn.num_batches_tracked) == int(tbn.num_batches_tracked) == step + 1
    bn.eval()
    tbn.eval()
    x = rng.standard_normal((2,) + shape[1:]) * scale + 1
    compare_step(bn, tbn, x, rng.standard_normal(x.shape), torch, "eval")


@pytest.mark.parametrize("groups, channels, shape", [(2, 6, (3, 6, 4, 3)), (1, 4, (2, 4, 3, 3)),
                                                     (4, 4, (2, 4, 2, 5)), (3, 6, (2, 6, 2, 2, 2))])
def test_groupnorm_on_images(torch, groups, channels, shape):
    rng = np.random.default_rng(8)
    layer = _randomise(ln.GroupNorm(groups, channels, dtype=np.float64), rng)
    tlayer = torch.nn.GroupNorm(groups, channels)
    copy_params(layer, tlayer, torch)
    for step in range(2):
        x = rng.standard_normal(shape) * 3 - 1
        compare_step(layer, tlayer, x, rng.standard_normal(shape), torch, f"step {step}")


# -- Residual ------------------------------------------------------------------------------
def _residual_pair(torch, kind, rng):
    if kind == "identity":
        block = ln.Sequential(ln.Linear(4, 5, rng=rng, dtype=np.float64), ln.Sigmoid(),
                              ln.Linear(5, 4, rng=rng, dtype=np.float64))
        res = ln.Residual(block)
        tres = torch_residual(torch, torch.nn.Sequential(
            torch.nn.Linear(4, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 4)))
    else:
        block = ln.Sequential(ln.Linear(4, 3, rng=rng, dtype=np.float64), ln.Tanh())
        res = ln.Residual(block, shortcut=ln.Linear(4, 3, rng=rng, dtype=np.float64))
        tres = torch_residual(torch, torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh()),
                              torch.nn.Linear(4, 3))
    _randomise(res, rng)
    copy_params(res, tres, torch)
    return res, tres


@pytest.mark.parametrize("kind", ["identity", "projection"])
def test_residual_and_its_two_paths(torch, kind):
    rng = np.random.default_rng(5)
    res, tres = _residual_pair(torch, kind, rng)
    x = rng.standard_normal((6, 4))
    y = res(x)
    g = rng.standard_normal(y.shape)
    compare_step(res, tres, x, g, torch, kind)
    # each path's share of dL/dx, from torch's autograd on the two branches separately
    xt = torch.tensor(x, requires_grad=True)
    (through_block,) = torch.autograd.grad(tres.block(xt), xt, torch.tensor(g))
    assert_close(res.grad_through_block, through_block, "grad_through_block")
    if tres.shortcut is None:
        assert_close(res.grad_through_shortcut, g, "grad_through_shortcut")
    else:
        (through_skip,) = torch.autograd.grad(tres.shortcut(xt), xt, torch.tensor(g))
        assert_close(res.grad_through_shortcut, through_skip, "grad_through_shortcut")


def test_residual_worked_example_network(torch):
    """The scalar network of the skip-connection chapter, x -> w1 -> sigma -> h1 ->
    Residual(w2 -> sigma -> w3, shortcut w_r) -> sigma -> y, against torch autograd."""
    rng = np.random.default_rng(6)

    def scalar(w):
        layer = ln.Linear(1, 1, bias=False, rng=rng, dtype=np.float64)
        layer.weight.data = np.array([[w]])
        return layer

    w = dict(w1=0.2, w2=0.1, w3=0.1, wr=0.1)
    first = scalar(w["w1"])
    res = ln.Residual(ln.Sequential(scalar(w["w2"]), ln.Sigmoid(), scalar(w["w3"])),
                      shortcut=scalar(w["wr"]))
    net = ln.Sequential(first, ln.Sigmoid(), res, ln.Sigmoid())
    x, t = np.array([[0.5]]), np.array([[1.0]])
    loss, dy = ln.mse_loss(net(x), t, reduction="sum")
    net.backward(dy)
    # dL/dw1 = (dL/dh1 through the block + dL/dh1 through the skip) * dh1/dw1
    h1 = 1 / (1 + np.exp(-w["w1"] * 0.5))
    dh1_dw1 = h1 * (1 - h1) * 0.5
    main = res.grad_through_block.item() * dh1_dw1
    skip = res.grad_through_shortcut.item() * dh1_dw1

    wt = {k: torch.tensor(v, requires_grad=True) for k, v in w.items()}
    h1t = torch.sigmoid(wt["w1"] * 0.5)
    h1_main = h1t.detach().requires_grad_()        # two copies of h1 to split the paths
    h1_skip = h1t.detach().requires_grad_()
    yt = torch.sigmoid(wt["w3"] * torch.sigmoid(wt["w2"] * h1_main) + wt["wr"] * h1_skip)
    lt = (yt - 1.0) ** 2
    lt.backward()
    dh1t_dw1 = float(h1t.detach() * (1 - h1t.detach()) * 0.5)
    assert abs(loss - lt.item()) <= TOL
    assert_close(main, float(h1_main.grad) * dh1t_dw1, "dL/dw1 through the block")
    assert_close(skip, float(h1_skip.grad) * dh1t_dw1, "dL/dw1 through the skip")
    assert_close(first.weight.grad.item(), main + skip, "dL/dw1 is the sum of both")
