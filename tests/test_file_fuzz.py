"""File fuzzing for :func:`litnet.load` and the IDX reader: truncations, bit flips and lying
headers, drawn by hypothesis (deterministic profile), with the memory each read takes bounded.

Every damaged file must either be refused with a clear error naming the file (and, for
``load``, leave the model untouched) or, when the damage cannot matter (a zip field nobody
reads), load exactly the saved values. The tracemalloc peak of every read stays below
``MEMORY_BOUND``, whatever size a header declares.
"""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import litnet as ln
from litnet.data.mnist import read_idx, write_idx

PROFILE = settings(deadline=None, derandomize=True, database=None, max_examples=60,
                   suppress_health_check=[HealthCheck.too_slow,
                                          HealthCheck.function_scoped_fixture])
MEMORY_BOUND = 1 << 20          # 1 MiB: the files and models here are a few kB
PEAK = {"load": 0, "read_idx": 0}


def traced(kind, f, *args):
    """``f(*args)`` or the exception it raised; records the tracemalloc peak in ``PEAK``."""
    tracemalloc.start()
    try:
        try:
            out = f(*args)
        except Exception as e:           # noqa: BLE001 - the caller asserts on it
            out = e
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    PEAK[kind] = max(PEAK[kind], peak)
    assert peak < MEMORY_BOUND, (kind, peak)
    return out


def model(seed):
    rng = np.random.default_rng(seed)
    return ln.Sequential(ln.Linear(3, 4, rng=rng), ln.BatchNorm1d(4), ln.ReLU(),
                         ln.Linear(4, 2, rng=rng))


def state(m):
    return {k: v.copy() for k, v in ln.io.state_arrays(m).items()}


def damage(data, good):
    """Truncate, flip bits, or overwrite a run of bytes with a huge little-endian number."""
    kind = data.draw(st.sampled_from(["truncate", "flip", "flip", "huge"]), label="damage")
    buf = bytearray(good)
    if kind == "truncate":
        return bytes(buf[:data.draw(st.integers(0, len(buf) - 1), label="keep")])
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 3), label="flips")):
            at = data.draw(st.integers(0, len(buf) - 1), label="at")
            buf[at] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        return bytes(buf)
    at = data.draw(st.integers(0, len(buf) - 8), label="at")
    buf[at:at + 8] = (2 ** 62 + data.draw(st.integers(0, 999))).to_bytes(8, "little")
    return bytes(buf)


@PROFILE
@given(data=st.data())
def test_load_of_a_damaged_file(tmp_path, data):
    source = model(0)
    good = tmp_path / "good.npz"
    ln.save(source, good)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(damage(data, good.read_bytes()))
    target = model(1)
    before = state(target)
    out = traced("load", ln.load, target, bad)
    if isinstance(out, Exception):
        assert isinstance(out, (ValueError, TypeError)), repr(out)
        assert str(out).startswith("load: ") and "bad.npz" in str(out), out
        after = state(target)
        assert all(np.array_equal(before[k], after[k]) for k in before)
    else:                                       # harmless damage: exactly the saved values
        saved, got = state(source), state(target)
        assert all(saved[k].tobytes() == got[k].tobytes() for k in saved)


def npy_member(shape, descr="<f4"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


@PROFILE
@given(data=st.data())
def test_load_of_a_lying_header(tmp_path, data):
    dims = data.draw(st.lists(st.integers(0, 2 ** 40), min_size=0, max_size=4), label="shape")
    descr = data.draw(st.sampled_from(["<f4", "<f8", "|u1", "<c16", "|V8"]), label="descr")
    bad = tmp_path / "lying.npz"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("weight.npy", npy_member(tuple(dims), descr) + bytes(24))
        zf.writestr("bias.npy", npy_member((3,)) + bytes(12))
    target = ln.Linear(2, 3, rng=np.random.default_rng(0))
    before = state(target)
    out = traced("load", ln.load, target, bad)
    if tuple(dims) == (3, 2) and descr == "<f4":
        assert not isinstance(out, Exception), out       # the one honest header
        return
    assert isinstance(out, (ValueError, TypeError)) and "lying.npz" in str(out), repr(out)
    assert all(np.array_equal(before[k], v) for k, v in state(target).items())


def idx_file(path, gz):
    labels = np.arange(40, dtype=np.uint8).reshape(2, 4, 5)
    write_idx(path, labels)
    raw = path.read_bytes()
    return gzip.decompress(raw) if gz else raw, labels


@PROFILE
@given(data=st.data())
def test_idx_reader_on_a_damaged_file(tmp_path, data):
    gz = data.draw(st.booleans(), label="gzip")
    path = tmp_path / ("x-idx3-ubyte.gz" if gz else "x-idx3-ubyte")
    raw, labels = idx_file(path, gz)
    kind = data.draw(st.sampled_from(["damage", "lying dims"]), label="how")
    if kind == "damage":
        bad = damage(data, raw)
    else:                                        # rewrite the header's dimensions
        dims = data.draw(st.lists(st.integers(0, 2 ** 32 - 1), min_size=3, max_size=3))
        bad = raw[:4] + b"".join(d.to_bytes(4, "big") for d in dims) + raw[16:]
    path.write_bytes(gzip.compress(bad, mtime=0) if gz else bad)
    out = traced("read_idx", read_idx, path)
    if isinstance(out, Exception):
        assert isinstance(out, ValueError) and str(out).startswith(str(path)), repr(out)
    else:                                        # a well-formed IDX file of the same size
        assert out.nbytes + 4 + 4 * out.ndim == len(bad) and out.flags.writeable
        if bad == raw:
            assert np.array_equal(out, labels)


@pytest.mark.parametrize("how", ["crc", "cut"])
def test_idx_reader_on_a_damaged_gzip_stream(tmp_path, how):
    path = tmp_path / "y-idx3-ubyte.gz"
    write_idx(path, np.zeros((50, 28, 28), np.uint8))
    raw = bytearray(path.read_bytes())
    if how == "crc":
        raw[-6] ^= 0x01                          # the CRC-32 of the data, checked at the end
    else:
        raw = raw[:-6]                           # the CRC and size trailer cut
    path.write_bytes(bytes(raw))
    out = traced("read_idx", read_idx, path)
    assert isinstance(out, ValueError) and "y-idx3-ubyte.gz" in str(out), repr(out)
