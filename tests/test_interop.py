"""to_torch: the PyTorch model built from a litnet model computes the same thing."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from cases import CASES, make_input

import litnet as ln
from litnet.io import state_arrays

TOL = 1e-10


def _every_layer(rng, dtype=np.float64, **bn):
    """One model using every layer to_torch supports (input (N, 4))."""
    w = 6
    block = ln.Sequential(ln.Linear(w, w, rng=rng, dtype=dtype), ln.BatchNorm1d(w, dtype=dtype),
                          ln.Tanh())
    return ln.Sequential(
        ln.Linear(4, w, rng=rng, dtype=dtype),
        ln.BatchNorm1d(w, dtype=dtype, **bn),
        ln.PReLU(w, init=0.3, dtype=dtype),
        ln.Residual(block),
        ln.Residual(ln.Sequential(ln.Linear(w, 8, rng=rng, dtype=dtype), ln.Sigmoid()),
                    shortcut=ln.Linear(w, 8, bias=False, rng=rng, dtype=dtype)),
        ln.LayerNorm(8, dtype=dtype),
        ln.LeakyReLU(0.2),
        ln.GroupNorm(4, 8, dtype=dtype),
        ln.Dropout(0.3, rng=rng),
        ln.ReLU(),
        ln.BatchNorm1d(8, momentum=None, affine=False, dtype=dtype),
        ln.Linear(8, 3, rng=rng, dtype=dtype),
    )


def _as_numpy(t):
    return t.detach().cpu().numpy()


def _train_litnet(model, rng, steps=4, lr=0.05):
    """A few SGD steps so weights and running statistics are far from their init."""
    for _ in range(steps):
        x = rng.standard_normal((10, 4))
        out = model(x)
        model.backward(out - 1.0)
        for p in model.parameters():
            p.data = p.data - lr * p.grad
        model.zero_grad()


def _state_equal(torch_model, model, tol=0.0):
    ours = state_arrays(model)
    theirs = torch_model.state_dict()
    assert set(theirs) == set(ours)          # the same names, nothing renamed
    worst = 0.0
    for name, value in ours.items():
        diff = np.abs(_as_numpy(theirs[name]).astype(np.float64) - np.asarray(value)).max()
        worst = max(worst, float(diff))
        assert diff <= tol, name
    return worst


def test_every_layer_eval_mode(torch):
    rng = np.random.default_rng(0)
    model = _every_layer(rng)
    _train_litnet(model, rng)
    model.eval()
    net = ln.to_torch(model)
    assert _state_equal(net, model) == 0.0                 # copied exactly
    assert not any(m.training for m in net.modules())
    x = rng.standard_normal((7, 4))
    diff = np.abs(_as_numpy(net(torch.from_numpy(x))) - model(x)).max()
    assert diff < TOL
    assert isinstance(net[3], ln.interop.TorchResidual)


def test_every_layer_training_mode_updates_running_stats_alike(torch):
    rng = np.random.default_rng(1)
    model = _every_layer(rng)
    model[8].p = 0.0          # dropout masks are random on both sides: make it the identity
    net = ln.to_torch(model)
    assert all(m.training for m in net.modules())
    for step in range(5):
        x = rng.standard_normal((9, 4))
        diff = np.abs(_as_numpy(net(torch.from_numpy(x))) - model(x)).max()
        assert diff < TOL, step
    assert int(model[1].num_batches_tracked) == 5
    assert _state_equal(net, model, tol=TOL) < TOL       # running_mean/var, num_batches_tracked


def test_gradients_match(torch):
    rng = np.random.default_rng(2)
    model = _every_layer(rng)
    model[8].p = 0.0
    net = ln.to_torch(model)
    x = rng.standard_normal((6, 4))
    g = rng.standard_normal((6, 3))
    xt = torch.from_numpy(x).requires_grad_(True)
    net(xt).backward(torch.from_numpy(g))
    model(x)
    dx = model.backward(g)
    assert np.abs(_as_numpy(xt.grad) - dx).max() < TOL
    torch_grads = dict(net.named_parameters())
    for name, p in model.named_parameters():
        assert np.abs(_as_numpy(torch_grads[name].grad) - p.grad).max() < TOL, name


def test_eval_with_batch_statistics(torch):
    rng = np.random.default_rng(3)
    model = _every_layer(rng, eval_uses_batch_stats=True)
    _train_litnet(model, rng)
    model.eval()
    net = ln.to_torch(model)
    x = 5 + 3 * rng.standard_normal((8, 4))        # far from the running statistics
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert np.abs(_as_numpy(net(torch.from_numpy(x))) - model(x)).max() < TOL
    for k, v in net.state_dict().items():         # evaluation updates nothing
        assert torch.equal(v, before[k]), k
    model[1].eval_uses_batch_stats = False         # the running statistics differ a lot
    assert np.abs(_as_numpy(net(torch.from_numpy(x))) - model(x)).max() > 1e-3


def test_mixed_modes_are_copied_per_module(torch):
    rng = np.random.default_rng(4)
    model = _every_layer(rng)
    _train_litnet(model, rng)
    model.eval()
    model[1].train()
    net = ln.to_torch(model)
    assert [m.training for m in net] == [m.training for m in model]
    x = rng.standard_normal((5, 4))
    assert np.abs(_as_numpy(net(torch.from_numpy(x))) - model(x)).max() < TOL


@pytest.mark.parametrize("name", ["RNN", "RNN-relu", "LSTM"])
def test_recurrent_layers(torch, name):
    rng = np.random.default_rng(5)
    if name == "LSTM":
        layer = ln.LSTM(3, 5, rng=rng, dtype=np.float64)
    else:
        layer = ln.RNN(3, 5, rng=rng, dtype=np.float64,
                       nonlinearity="relu" if name.endswith("relu") else "tanh")
    net = ln.to_torch(layer)
    assert _state_equal(net, layer) == 0.0
    x = rng.standard_normal((4, 11, 3))
    out = net(torch.from_numpy(x))
    assert out.shape == (4, 11, 5)
    assert np.abs(_as_numpy(out) - layer(x)).max() < TOL


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_registered_layers(torch, case):
    """Every layer of the shared registry converts and agrees (float64)."""
    rng = np.random.default_rng(6)
    layer = case.factory(rng, np.float64)
    if any(isinstance(m, ln.Dropout) and m.training for m in layer.modules()):
        layer.eval()                                 # random masks cannot agree
    net = ln.to_torch(layer)
    x = make_input(case, rng, np.float64)
    assert np.abs(_as_numpy(net(torch.from_numpy(x))) - layer(x)).max() < TOL


def test_dtypes(torch):
    rng = np.random.default_rng(7)
    model32 = _every_layer(rng, dtype=np.float32)
    assert ln.to_torch(model32)[0].weight.dtype == torch.float32
    net64 = ln.to_torch(model32, dtype=np.float64)
    assert net64[0].weight.dtype == torch.float64
    assert net64[1].num_batches_tracked.dtype == torch.int64
    assert _state_equal(net64, model32) == 0.0       # float32 values are exact in float64
    assert ln.to_torch(model32, dtype=torch.float64)[0].weight.dtype == torch.float64
    assert ln.to_torch(ln.ReLU())                     # no parameters: fine
    with pytest.raises(TypeError, match="float16, float32 or float64"):
        ln.to_torch(model32, dtype=np.int32)


def test_copies_are_independent(torch):
    layer = ln.Linear(3, 2, rng=np.random.default_rng(8), dtype=np.float64)
    net = ln.to_torch(layer)
    with torch.no_grad():
        net.weight.add_(1.0)
    assert np.abs(layer.weight.data - _as_numpy(net.weight)).max() == 1.0
    assert net.weight.requires_grad


def test_unknown_layer_is_named(torch):
    class Square(ln.Module):
        def forward(self, x):
            return x * x

    rng = np.random.default_rng(9)
    model = ln.Sequential(ln.Linear(2, 2, rng=rng), ln.Residual(ln.Sequential(Square())))
    with pytest.raises(TypeError, match=r"no PyTorch equivalent for the litnet layer Square "
                                        r"at model\.1\.block\.0"):
        ln.to_torch(model)


def test_converted_model_pickles(torch):
    rng = np.random.default_rng(10)
    model = _every_layer(rng, eval_uses_batch_stats=True)
    _train_litnet(model, rng)
    net = ln.to_torch(model.eval())
    copy = pickle.loads(pickle.dumps(net))
    assert type(copy[1]).__name__ == "BatchNorm1dEvalBatchStats"
    x = torch.from_numpy(rng.standard_normal((3, 4)))
    assert torch.equal(copy(x), net(x))


def test_import_litnet_does_not_import_torch():
    code = ("import sys, litnet, litnet.interop, litnet.io, litnet.data; "
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]


def test_state_torch_lacks_is_an_error(torch):
    layer = ln.LayerNorm(3, dtype=np.float64)
    layer.register_buffer("scale_history", np.zeros(3))
    with pytest.raises(TypeError, match=r"LayerNorm has state .*scale_history"):
        ln.to_torch(layer)
