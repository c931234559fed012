"""Reliability at the edges (issue 13): one test per failure the adversarial pass found.

The aliasing contract (item 11), written once here and in the layers' docstrings:

    A litnet layer never lets an in-place change silently alter its gradients: an output
    it keeps for backward, or that shares memory with its input, is returned read-only
    (Sigmoid, Tanh, ReLU, LeakyReLU, PReLU, Dropout in both modes), and an input it keeps
    for backward (Linear, PReLU) is kept as it is only when nothing can write to it (a
    read-only array, such as those outputs), otherwise as a copy. Writing into such an
    output raises NumPy's "assignment destination is read-only"; changing an input after
    forward leaves the gradients of that forward unchanged. The caller's arrays are never
    modified, not even their writeable flag.

Items 1 (huge inputs to the normalisation layers) and 7 (``fit`` on divergence) are tested
with those layers and ``fit``.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import re
import tracemalloc
import zipfile

import numpy as np
import pytest

import litnet as ln
from litnet import optim
from litnet._checks import NonFiniteError
from litnet.data.mnist import read_idx, write_idx

OPTIMIZERS = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.1),
    "SGD-momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
    "Momentum": lambda ps: optim.Momentum(ps),
    "Nesterov": lambda ps: optim.Nesterov(ps),
    "AdaGrad": lambda ps: optim.AdaGrad(ps),
    "RMSProp": lambda ps: optim.RMSProp(ps),
    "Adam": lambda ps: optim.Adam(ps, weight_decay=0.01),
}


def peak_bytes(f, *args):
    """Run ``f(*args)``; return ``(result or exception, tracemalloc peak in bytes)``."""
    tracemalloc.start()
    try:
        try:
            out = f(*args)
        except Exception as e:           # noqa: BLE001 - the caller asserts on it
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- 2, 3: losses -------------------------------------------------------------------------

def test_2_cross_entropy_of_huge_finite_logits_is_exact():
    z = np.array([[3e38, -3e38]], np.float32)
    loss, grad = ln.softmax_cross_entropy(z, np.array([0]))
    assert loss == 0.0 and grad.dtype == np.float32 and grad.tolist() == [[0.0, 0.0]]
    loss, grad = ln.softmax_cross_entropy(z, np.array([1]), reduction="sum")
    assert loss == pytest.approx(6e38, rel=1e-6) and grad.tolist() == [[1.0, -1.0]]
    loss, _ = ln.softmax_cross_entropy(np.full((4, 2), [1.7e38, 0], np.float32),
                                       np.ones(4, int))   # the float32 mean overflows
    assert loss == pytest.approx(1.7e38, rel=1e-6)
    assert np.isfinite(ln.softmax(z)).all()


def test_2_other_losses_with_huge_finite_inputs():
    z, one = np.array([3e38, -3e38], np.float32), np.ones(2, np.float32)
    loss, grad = ln.binary_cross_entropy_with_logits(z, one, reduction="sum")
    assert loss == pytest.approx(3e38, rel=1e-6) and np.isfinite(grad).all()
    loss, grad = ln.mse_loss(np.array([1e20], np.float32), np.zeros(1, np.float32))
    assert loss == math.inf and grad.tolist() == [np.float32(2e20)]   # 1e40 > float32 max
    with pytest.raises(NonFiniteError, match="mse_loss: the gradient 2\\(y - t\\) overflows"):
        ln.mse_loss(z, -z)


@pytest.mark.parametrize("fn, args", [
    (ln.softmax_cross_entropy, (np.zeros((3, 0)), np.zeros(3, int))),
    (ln.softmax_cross_entropy, (np.zeros((3, 0)), np.zeros((3, 0)))),
    (ln.mse_loss, (np.zeros((3, 0)), np.zeros((3, 0)))),
    (ln.binary_cross_entropy_with_logits, (np.zeros((3, 0)), np.zeros((3, 0)))),
])
def test_3_losses_reject_zero_classes(fn, args):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: .*shape \(3, 0\) has no elements"):
        fn(*args)
    with pytest.raises(ValueError, match=r"softmax: .*\(3, 0\)"):
        ln.softmax(np.zeros((3, 0)))


# -- 4: PReLU -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "3", None])
def test_4_prelu_rejects_a_bad_num_parameters(bad):
    with pytest.raises(ValueError, match=r"PReLU: num_parameters must be a positive int"):
        ln.PReLU(bad)


@pytest.mark.parametrize("bad", [math.nan, math.inf, "0.25"])
def test_4_prelu_rejects_a_bad_init(bad):
    with pytest.raises(ValueError, match=r"PReLU: init must be a finite number"):
        ln.PReLU(init=bad)


# -- 5: a parameter without a gradient ----------------------------------------------------

@pytest.mark.parametrize("name", OPTIMIZERS)
def test_5_optimizers_skip_a_parameter_whose_grad_is_none(name):
    a, b = ln.Parameter(np.array([1.0, -2.0])), ln.Parameter(np.array([3.0]))
    ref = ln.Parameter(a.data.copy())
    opt, alone = OPTIMIZERS[name]([a, b]), OPTIMIZERS[name]([ref])
    for step in range(3):
        a.grad = ref.grad = np.array([0.5, -1.0 + step])
        b.grad = None
        opt.step()
        alone.step()
    assert b.data.tolist() == [3.0] and b.grad is None and opt.state[1] == {}
    assert a.data.tolist() == ref.data.tolist()          # the others as if b were absent


def test_5_clipping_skips_a_parameter_whose_grad_is_none():
    a, b = ln.Parameter(np.zeros(2)), ln.Parameter(np.zeros(1))
    a.grad, b.grad = np.array([3.0, 4.0]), None
    assert ln.clip_grad_norm_([a, b], 1.0) == 5.0
    assert a.grad.tolist() == pytest.approx([0.6, 0.8]) and b.grad is None
    ln.clip_grad_value_([a, b], 0.7)
    assert a.grad.tolist() == pytest.approx([0.6, 0.7]) and b.grad is None
    b.grad = None
    assert ln.clip_grad_norm_([b], 1.0) == 0.0


@pytest.mark.parametrize("fn, kw", [(ln.clip_grad_norm_, "max_norm"),
                                    (ln.clip_grad_value_, "clip_value")])
@pytest.mark.parametrize("bad, error", [("1", TypeError), (None, TypeError),
                                        (-1.0, ValueError), (math.nan, ValueError)])
def test_5_clipping_rejects_a_bad_bound(fn, kw, bad, error):
    with pytest.raises(error, match=rf"{fn.__name__}: {kw} must be"):
        fn([ln.Parameter(np.zeros(1))], bad)


# -- 6: hyper-parameters ------------------------------------------------------------------

@pytest.mark.parametrize("make, error, match", [
    (lambda p: optim.Adam(p, betas=(0.9,)), ValueError, r"Adam: betas must be a pair"),
    (lambda p: optim.Adam(p, betas=(0.9, 0.99, 0.9)), ValueError, r"Adam: betas must be a pair"),
    (lambda p: optim.Adam(p, betas=0.9), ValueError, r"Adam: betas must be a pair"),
    (lambda p: optim.Adam(p, betas="ab"), ValueError, r"Adam: betas must be a pair"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), ValueError, r"Adam: betas\[0\] must lie in"),
    (lambda p: optim.Adam(p, betas=(0.9, math.nan)), ValueError, r"Adam: betas\[1\]"),
    (lambda p: optim.Adam(p, betas=("a", 0.9)), TypeError, r"Adam: betas\[0\] must be a num"),
    (lambda p: optim.RMSProp(p, alpha=1.5), ValueError, r"RMSProp: alpha must lie in"),
    (lambda p: optim.SGD(p, lr="fast"), TypeError, r"SGD: lr must be a number"),
    (lambda p: optim.SGD(p, lr=math.inf), ValueError, r"SGD: lr must be >= 0.0 and finite"),
    (lambda p: optim.SGD(p, momentum=0.5, dampening=None), TypeError, r"SGD: dampening"),
    (lambda p: optim.AdaGrad(p, eps=math.nan), ValueError, r"AdaGrad: eps"),
])
def test_6_bad_hyperparameters_name_the_optimizer(make, error, match):
    with pytest.raises(error, match=match):
        make([ln.Parameter(np.zeros(1))])


# -- 8, 12: load and save -----------------------------------------------------------------

def npy_header(shape, dtype="<f4"):
    """The bytes of a .npy header (version 1.0) declaring ``shape``, with no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue()                    # the magic string included


def crafted_npz(path, members):
    """A zip of ``{name.npy: bytes}`` (stored, as np.savez writes)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("shape", [(2 ** 29,), (2 ** 41,), (3, 2 ** 62)])
def test_8_load_refuses_a_lying_header_before_allocating(tmp_path, shape):
    model = ln.Linear(2, 3, rng=np.random.default_rng(0))
    bad = crafted_npz(tmp_path / "bomb.npz", {"weight.npy": npy_header(shape),
                                              "bias.npy": npy_header((3,)) + bytes(12)})
    assert os.path.getsize(bad) < 600                         # the 542-byte file
    err, peak = peak_bytes(ln.load, model, bad)
    assert isinstance(err, ValueError), err
    assert re.search(rf"load: .*bomb\.npz does not match the model:\n  'weight': file has "
                     rf"shape {re.escape(str(shape))}, model expects \(3, 2\)", str(err))
    assert peak < 256 * 1024, peak


def test_8_load_reads_a_compressed_member_only_as_far_as_declared(tmp_path):
    model = ln.Linear(2, 3, rng=np.random.default_rng(0))
    body = {"weight.npy": npy_header((3, 2)) + bytes(24) + bytes(32 * 2 ** 20),
            "bias.npy": npy_header((3,)) + bytes(12)}
    bad = tmp_path / "zipbomb.npz"
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in body.items():
            zf.writestr(name, data)
    del body
    err, peak = peak_bytes(ln.load, model, bad)
    assert isinstance(err, ValueError) and "bytes after the array data" in str(err), err
    assert peak < 2 * 2 ** 20, peak


def test_12_save_interrupted_mid_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = ln.save(ln.Linear(3, 2, rng=np.random.default_rng(0)), tmp_path / "m.npz")
    before = (tmp_path / "m.npz").read_bytes()
    real_savez = np.savez

    def dies_halfway(f, **arrays):
        real_savez(f, **arrays)
        f.truncate(f.tell() // 2)           # half the archive is on disk, then the crash
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        ln.save(ln.Linear(3, 2, rng=np.random.default_rng(1)), path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.npz"] and (tmp_path / "m.npz").read_bytes() == before

    def no_rename(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="rename failed"):
        ln.save(ln.Linear(3, 2, rng=np.random.default_rng(1)), path)
    assert os.listdir(tmp_path) == ["m.npz"] and (tmp_path / "m.npz").read_bytes() == before


def test_12_save_fsyncs_before_the_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"),
                                                     real_replace(a, b))[1])
    ln.save(ln.Linear(3, 2, rng=np.random.default_rng(0)), tmp_path / "m.npz")
    assert calls == ["fsync", "replace"]


# -- 9, 10: the IDX reader ----------------------------------------------------------------

def test_9_idx_element_count_overflowing_int64_is_a_clear_error(tmp_path):
    bad = tmp_path / "x-idx4-ubyte"
    bad.write_bytes(bytes([0, 0, 0x0E, 4]) + b"\xff\xff\xff\xff" * 4 + bytes(64))
    err, peak = peak_bytes(read_idx, bad)
    assert isinstance(err, ValueError), err
    assert re.search(r"x-idx4-ubyte: IDX file truncated or its header corrupt: header says "
                     r"shape \(4294967295, 4294967295, 4294967295, 4294967295\) of float64 "
                     rf"\({20 + 8 * (2 ** 32 - 1) ** 4} bytes with the header\), the file "
                     r"holds at most 84$", str(err)), err
    assert peak < 64 * 1024, peak


def test_10_gzip_bomb_is_never_decompressed_past_the_header(tmp_path):
    bomb = tmp_path / "labels-idx1-ubyte.gz"
    with gzip.GzipFile(bomb, "wb") as f:
        f.write(bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + bytes([7, 2, 1]))
        for _ in range(32):                                   # 32 MiB of zeros after it
            f.write(bytes(2 ** 20))
    assert os.path.getsize(bomb) < 200 * 1024
    err, peak = peak_bytes(read_idx, bomb)
    assert isinstance(err, ValueError) and "trailing bytes" in str(err), err
    assert peak < 2 * 2 ** 20, peak
    short = tmp_path / "short-idx1-ubyte.gz"                   # fewer bytes than declared
    short.write_bytes(gzip.compress(bytes([0, 0, 0x08, 1]) + (10 ** 6).to_bytes(4, "big")))
    with pytest.raises(ValueError, match=r"short-idx1-ubyte\.gz: IDX file truncated"):
        read_idx(short)


def test_10_a_gzipped_file_still_round_trips(tmp_path):
    a = np.arange(24, dtype=">i4").reshape(2, 3, 4)
    write_idx(tmp_path / "a-idx3-ubyte.gz", a)
    out = read_idx(tmp_path / "a-idx3-ubyte.gz")
    assert out.tolist() == a.tolist() and out.dtype == np.int32 and out.flags.writeable


# -- 11: aliasing -------------------------------------------------------------------------

@pytest.mark.parametrize("layer", [ln.Sigmoid(), ln.Tanh(), ln.ReLU(), ln.LeakyReLU(0.1),
                                   ln.PReLU(), ln.Dropout(0.5, rng=np.random.default_rng(0)),
                                   ln.Dropout(0.5, rng=np.random.default_rng(0)).eval()],
                         ids=repr)
def test_11_outputs_are_read_only_and_the_input_untouched(layer):
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    keep = x.copy()
    y = layer(x)
    g = layer.backward(np.ones_like(y))
    with pytest.raises(ValueError, match="read-only"):
        y[...] = 0
    with pytest.raises(ValueError, match="read-only"):
        y += 1
    assert np.array_equal(layer.backward(np.ones_like(y)), g)   # the kept state is unchanged
    assert x.flags.writeable and np.array_equal(x, keep)


@pytest.mark.parametrize("make", [lambda: ln.Linear(3, 2, rng=np.random.default_rng(0)),
                                  lambda: ln.PReLU(3, init=0.3)], ids=["Linear", "PReLU"])
def test_11_an_input_changed_after_forward_does_not_change_the_gradients(make):
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    g = np.random.default_rng(2).standard_normal((4, 2 if make().__class__ is ln.Linear
                                                  else 3)).astype(np.float32)
    clean, dirty = make(), make()
    clean(x.copy())
    dx_clean = clean.backward(g)
    dirty(x)
    x *= -5                                  # the caller reuses its buffer before backward
    dx_dirty = dirty.backward(g)
    assert x.flags.writeable
    for p, q in zip(clean.parameters(), dirty.parameters(), strict=True):
        assert np.array_equal(p.grad, q.grad)
    assert dx_clean is None and dx_dirty is None or np.array_equal(dx_clean, dx_dirty)


def test_11_a_read_only_input_is_kept_without_a_copy():
    rng = np.random.default_rng(0)
    h = ln.Sigmoid()(rng.standard_normal((4, 3)).astype(np.float32))
    layer = ln.Linear(3, 2, rng=rng)
    layer(h)
    assert layer._x is h                     # read-only output of a layer: no copy
    view = ln.Dropout(0.5, rng=rng).eval()(np.ones((4, 3), np.float32))
    layer(view)                              # a read-only view of a writable array: copied
    assert layer._x is not view and not np.shares_memory(layer._x, view)

