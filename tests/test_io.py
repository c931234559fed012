"""save/load: bit-exact round trips, clear errors, nothing half-applied, no pickles."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

import litnet as ln
from litnet.io import state_arrays
from litnet.lstm import LSTM


def _model(seed, dtype=np.float32, width=6):
    """A model with every kind of state: parameters, BN buffers (nested), an LSTM."""
    rng = np.random.default_rng(seed)
    block = ln.Sequential(ln.Linear(width, width, rng=rng, dtype=dtype),
                          ln.BatchNorm1d(width, dtype=dtype), ln.Tanh())
    return ln.Sequential(
        ln.Linear(4, width, rng=rng, dtype=dtype),
        ln.BatchNorm1d(width, momentum=None, dtype=dtype),
        ln.PReLU(width, dtype=dtype),
        ln.Residual(block, shortcut=ln.Linear(width, width, bias=False, rng=rng, dtype=dtype)),
        ln.LayerNorm(width, dtype=dtype),
        ln.GroupNorm(2, width, dtype=dtype),
        ln.Dropout(0.2, rng=rng),
        ln.Linear(width, 3, rng=rng, dtype=dtype),
    )


def _trained(seed, dtype=np.float32, steps=3):
    """A model whose parameters and running statistics have moved away from their init."""
    model = _model(seed, dtype)
    rng = np.random.default_rng(seed + 100)
    for _ in range(steps):
        x = rng.standard_normal((8, 4)).astype(dtype)
        out = model(x)
        model.backward(np.ones_like(out))
        for p in model.parameters():
            p.data = p.data - np.asarray(0.1, dtype) * p.grad
        model.zero_grad()
    return model


def _same_state(a, b):
    sa, sb = state_arrays(a), state_arrays(b)
    assert list(sa) == list(sb)
    for name in sa:
        x, y = np.asarray(sa[name]), np.asarray(sb[name])
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name   # bit for bit, NaN payloads included
    return True


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_bit_exact(tmp_path, dtype):
    source = _trained(0, dtype)
    assert int(source[1].num_batches_tracked) == 3
    target = _model(1, dtype)
    assert not np.array_equal(source[0].weight.data, target[0].weight.data)
    path = ln.save(source, tmp_path / "model.npz")
    assert ln.load(target, path) is target
    assert _same_state(source, target)
    x = np.random.default_rng(5).standard_normal((5, 4)).astype(dtype)
    source.eval()
    target.eval()
    assert source(x).tobytes() == target(x).tobytes()
    # the loaded running statistics keep working: a training step updates them as before
    source.train()
    target.train()
    source(x)
    target(x)
    assert _same_state(source, target)
    assert int(target[3].block[1].num_batches_tracked) == 4


def test_file_is_a_plain_npz_without_pickles(tmp_path):
    model = _trained(0)
    path = tmp_path / "weights.bin"          # any name: no suffix is added
    ln.save(model, path)
    assert sorted(os.listdir(tmp_path)) == ["weights.bin"]   # no temporary file left
    with np.load(path, allow_pickle=False) as npz:
        stored = {k: npz[k] for k in npz.files}
    expected = state_arrays(model)
    assert set(stored) == set(expected)
    assert "3.block.1.running_mean" in stored and "1.num_batches_tracked" in stored
    assert stored["1.num_batches_tracked"].dtype == np.int64
    with zipfile.ZipFile(path) as z:                     # every member is a .npy array
        assert all(name.endswith(".npy") for name in z.namelist())


def test_save_overwrites_and_keeps_special_values(tmp_path):
    model = ln.Linear(3, 2, rng=np.random.default_rng(0), dtype=np.float64)
    model.weight.data[0, :] = [np.nan, np.inf, -0.0]
    path = tmp_path / "m.npz"
    ln.save(ln.Linear(3, 2, rng=np.random.default_rng(1), dtype=np.float64), path)
    ln.save(model, path)
    other = ln.load(ln.Linear(3, 2, rng=np.random.default_rng(2), dtype=np.float64), path)
    assert other.weight.data.tobytes() == model.weight.data.tobytes()
    assert np.signbit(other.weight.data[0, 2])


def test_save_rejects_object_buffers(tmp_path):
    model = ln.Linear(2, 2, rng=np.random.default_rng(0))
    model.register_buffer("notes", np.array([{"a": 1}], dtype=object))
    with pytest.raises(TypeError, match="notes.*pickling"):
        ln.save(model, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def _assert_untouched(model, before):
    after = state_arrays(model)
    for name, value in before.items():
        assert np.asarray(after[name]).tobytes() == value.tobytes(), name


def _snapshot(model):
    return {k: np.array(v) for k, v in state_arrays(model).items()}


def test_missing_entry(tmp_path):
    rng = np.random.default_rng(0)
    small = ln.Sequential(ln.Linear(4, 3, rng=rng), ln.ReLU())
    big = ln.Sequential(ln.Linear(4, 3, rng=rng), ln.BatchNorm1d(3))
    path = ln.save(small, tmp_path / "small.npz")
    before = _snapshot(big)
    with pytest.raises(ValueError, match=r"missing from the file: '1\.weight'") as err:
        ln.load(big, path)
    assert "small.npz" in str(err.value) and "'1.running_var'" in str(err.value)
    _assert_untouched(big, before)     # 0.weight matched but was not applied


def test_extra_entry(tmp_path):
    rng = np.random.default_rng(0)
    big = ln.Sequential(ln.Linear(4, 3, rng=rng), ln.BatchNorm1d(3))
    small = ln.Sequential(ln.Linear(4, 3, rng=rng), ln.ReLU())
    before = _snapshot(small)
    with pytest.raises(ValueError, match=r"not in the model: '1\.running_mean'"):
        ln.load(small, ln.save(big, tmp_path / "big.npz"))
    _assert_untouched(small, before)


def test_wrong_shape(tmp_path):
    rng = np.random.default_rng(0)
    a = ln.Sequential(ln.Linear(4, 3, rng=rng), ln.Linear(3, 2, rng=rng))
    b = ln.Sequential(ln.Linear(4, 3, rng=rng), ln.Linear(3, 5, rng=rng))
    before = _snapshot(b)
    with pytest.raises(ValueError, match=r"'1\.weight': file has shape \(2, 3\), "
                                         r"model expects \(5, 3\)"):
        ln.load(b, ln.save(a, tmp_path / "a.npz"))
    _assert_untouched(b, before)


def test_wrong_dtype(tmp_path):
    a = _model(0, np.float64)
    b = _model(1, np.float32)
    before = _snapshot(b)
    with pytest.raises(TypeError, match=r"'0\.weight': file has float64, model has float32"):
        ln.load(b, ln.save(a, tmp_path / "a.npz"))
    _assert_untouched(b, before)
    ln.load(b.to(np.float64), tmp_path / "a.npz")   # the fix the message suggests
    assert _same_state(a, b)


def _corruptions(good, weight=b"\x00" * 8):
    yield "truncated", good[: len(good) // 2]
    yield "cut-central-directory", good[:-10]
    header = bytearray(good)
    header[len(good) // 3] ^= 0xFF             # lands in a member's local header
    yield "flipped-header-byte", bytes(header)
    payload = bytearray(good)
    at = good.find(weight) + len(weight) // 2   # inside the stored bytes of a weight
    payload[at] ^= 0x01
    yield "flipped-data-bit", bytes(payload)    # caught by the zip member's CRC-32
    yield "empty", b""
    yield "text", b"weights: 1 2 3\n"


@pytest.mark.parametrize("kind", [k for k, _ in _corruptions(b"0123456789" * 10)])
def test_corrupted_file(tmp_path, kind):
    model = _trained(0)
    good = (tmp_path / "good.npz")
    ln.save(model, good)
    weight = model[0].weight.data.tobytes()
    assert good.read_bytes().count(weight) == 1       # stored uncompressed, once
    data = dict(_corruptions(good.read_bytes(), weight))[kind]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(data)
    target = _model(1)
    before = _snapshot(target)
    with pytest.raises(ValueError, match=r"bad\.npz") as err:
        ln.load(target, bad)
    assert "load:" in str(err.value)
    _assert_untouched(target, before)


def test_npy_and_pickled_files_are_rejected(tmp_path):
    model = ln.Linear(2, 2, rng=np.random.default_rng(0))
    np.save(tmp_path / "single.npy", model.weight.data)
    with pytest.raises(ValueError, match=r"single\.npy.*not an \.npz archive"):
        ln.load(model, tmp_path / "single.npy")
    np.savez(tmp_path / "objects.npz", weight=np.array([None], dtype=object))
    with pytest.raises(ValueError, match=r"objects\.npz"):
        ln.load(model, tmp_path / "objects.npz")
    with pytest.raises(FileNotFoundError):
        ln.load(model, tmp_path / "nowhere.npz")


def test_lstm_and_shared_names_match_torch_layout(tmp_path):
    lstm = LSTM(3, 4, rng=np.random.default_rng(0), dtype=np.float64)
    ln.save(lstm, tmp_path / "lstm.npz")
    with np.load(tmp_path / "lstm.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0", "weight_ih_l0"]
    other = ln.load(LSTM(3, 4, rng=np.random.default_rng(1), dtype=np.float64),
                    tmp_path / "lstm.npz")
    assert _same_state(lstm, other)


def test_save_and_load_need_a_module(tmp_path):
    with pytest.raises(TypeError, match="litnet Module"):
        ln.save({"weight": np.ones(2)}, tmp_path / "x.npz")


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    model = ln.Linear(2, 2, rng=np.random.default_rng(0))
    ln.save(model, tmp_path / "m.npz")
    before = (tmp_path / "m.npz").read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        ln.save(ln.Linear(2, 2, rng=np.random.default_rng(1)), tmp_path / "m.npz")
    assert os.listdir(tmp_path) == ["m.npz"]                  # no temporary file left
    assert (tmp_path / "m.npz").read_bytes() == before          # the old file is intact


def test_saved_file_has_ordinary_permissions(tmp_path):
    path = ln.save(ln.ReLU(), tmp_path / "empty.npz")    # no state at all is fine too
    (tmp_path / "plain").write_bytes(b"")
    assert os.stat(path).st_mode == os.stat(tmp_path / "plain").st_mode
    assert ln.load(ln.ReLU(), path).training


def test_load_state_checks_like_load_and_copies():
    rng = np.random.default_rng(0)
    a = ln.Sequential(ln.Linear(3, 2, rng=rng, dtype=np.float64),
                      ln.BatchNorm1d(2, dtype=np.float64))
    a(rng.standard_normal((4, 3)))                     # running statistics move
    state = ln.io.state_arrays(a)
    b = ln.load_state(ln.Sequential(ln.Linear(3, 2, rng=rng, dtype=np.float64),
                                    ln.BatchNorm1d(2, dtype=np.float64)), state)
    for name, value in ln.io.state_arrays(b).items():
        assert value.tobytes() == state[name].tobytes() and value is not state[name], name
    with pytest.raises(ValueError, match=r"load: the state does not match the model:\n  "
                                         r"missing from the state: '0\.bias'"):
        ln.load_state(b, {k: v for k, v in state.items() if k != "0.bias"})
