"""The bundled digits, the MNIST IDX reader and the synthetic sets."""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import numpy as np
import pytest

from litnet.data import (
    Split,
    elongated_bowl,
    load_digits,
    load_mnist,
    make_blobs,
    make_spiral,
    read_idx,
    write_idx,
)

DIGITS_SHA256 = "089d33176bf6819a5c6ebd6746c5293713f4e81c2c8fc52b672e6e15faa78f41"
DIGITS_LABEL_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


# -- the bundled file ---------------------------------------------------------------------

def _digits_file():
    return resources.files("litnet.data").joinpath("digits.npz")


def test_digits_file_is_the_documented_one():
    raw = _digits_file().read_bytes()
    assert hashlib.sha256(raw).hexdigest() == DIGITS_SHA256
    readme = resources.files("litnet.data").joinpath("README.txt").read_text()
    assert DIGITS_SHA256 in readme and "CC BY 4.0" in readme and f"{len(raw):,} bytes" in readme
    with _digits_file().open("rb") as f, np.load(f, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["labels", "pixels"]
        pixels, labels = npz["pixels"], npz["labels"]
    assert pixels.shape == (1797, 64) and pixels.dtype == np.uint8
    assert labels.shape == (1797,) and labels.dtype == np.uint8
    assert pixels.min() == 0 and pixels.max() == 16
    assert np.bincount(labels).tolist() == DIGITS_LABEL_COUNTS


def test_load_digits_origin_and_licence_are_stated():
    doc = load_digits.__doc__
    assert "UCI" in doc and "CC BY 4.0" in doc and "Alpaydin" in doc


# -- load_digits ----------------------------------------------------------------------------

def test_load_digits_default_split():
    split = load_digits(rng=np.random.default_rng(0))
    assert isinstance(split, Split)
    x_train, y_train, x_test, y_test = split
    assert x_train.shape == (1500, 64) and x_test.shape == (297, 64)
    assert y_train.shape == (1500,) and y_test.shape == (297,)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() == 1.0
    # every pixel is a count 0..16 divided by 16
    assert np.array_equal(x_train * 16, np.round(x_train * 16))


def test_load_digits_split_is_a_permutation_of_the_whole_set():
    x_train, y_train, x_test, y_test = load_digits(rng=np.random.default_rng(3), scale=False)
    full_x, full_y, _, _ = load_digits(test_size=0, scale=False)
    x = np.concatenate([x_train, x_test])
    y = np.concatenate([y_train, y_test])
    rows = np.concatenate([x, y[:, None]], axis=1)
    full_rows = np.concatenate([full_x, full_y[:, None]], axis=1)
    assert np.array_equal(np.unique(rows, axis=0), np.unique(full_rows, axis=0))
    assert np.bincount(y).tolist() == DIGITS_LABEL_COUNTS


def test_load_digits_seeded_and_file_order():
    a = load_digits(rng=np.random.default_rng(7))
    b = load_digits(rng=np.random.default_rng(7))
    c = load_digits(rng=np.random.default_rng(8))
    for u, v in zip(a, b, strict=True):
        assert np.array_equal(u, v)
    assert not np.array_equal(a.y_train, c.y_train)
    plain = load_digits()                       # rng=None: the file's order, no randomness
    with _digits_file().open("rb") as f, np.load(f, allow_pickle=False) as npz:
        labels = npz["labels"]
    assert np.array_equal(plain.y_train, labels[:1500])
    assert np.array_equal(plain.y_test, labels[1500:])


def test_load_digits_options():
    x_train, _, x_test, y_test = load_digits(test_size=0, dtype=np.float64, scale=False)
    assert x_train.shape == (1797, 64) and x_test.shape == (0, 64) and y_test.shape == (0,)
    assert x_train.dtype == np.float64 and x_train.max() == 16.0
    small = load_digits(test_size=1000)
    assert len(small.x_train) == 797 and len(small.x_test) == 1000


def test_load_digits_returns_fresh_writable_arrays():
    first = load_digits()
    first.x_train[:] = -1.0
    first.y_train[:] = -1
    again = load_digits()
    assert again.x_train.min() == 0.0 and again.y_train.min() == 0


@pytest.mark.parametrize("kwargs, error, match", [
    ({"test_size": 1797}, ValueError, "test_size"),
    ({"test_size": -1}, ValueError, "test_size"),
    ({"test_size": 0.2}, ValueError, "test_size"),
    ({"dtype": np.int32}, TypeError, "floating dtype"),
    ({"rng": 0}, TypeError, "Generator"),
])
def test_load_digits_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_digits(**kwargs)


# -- MNIST IDX files ------------------------------------------------------------------------

def _write_mnist(directory, kind="train", n=5, gz=False, rng=None):
    rng = rng or np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    ext = ".gz" if gz else ""
    write_idx(directory / f"{kind}-images-idx3-ubyte{ext}", images)
    write_idx(directory / f"{kind}-labels-idx1-ubyte{ext}", labels)
    return images, labels


def _idx_bytes(array):
    """An IDX file written by hand, independently of write_idx."""
    header = bytes([0, 0, 0x08, array.ndim])
    for n in array.shape:
        header += int(n).to_bytes(4, "big")
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_raw_and_gzipped(tmp_path, gz):
    images, labels = _write_mnist(tmp_path, "train", n=6, gz=gz)
    x, y = load_mnist(tmp_path)
    assert x.shape == (6, 784) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(x, (images.reshape(6, -1) / np.float32(255)).astype(np.float32))
    assert np.array_equal(y, labels)
    raw, _ = load_mnist(tmp_path, "train", scale=False, flatten=False, dtype=np.float64)
    assert raw.shape == (6, 28, 28) and raw.dtype == np.float64
    assert np.array_equal(raw, images)


def test_load_mnist_kinds_and_hand_written_files(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.int64).reshape(2, 28, 28) % 256
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(images))
    (tmp_path / "t10k-labels.idx1-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(np.array([4, 2]))))  # the variant spelling, gzipped
    for kind in ("t10k", "test"):
        x, y = load_mnist(tmp_path, kind, scale=False, flatten=False)
        assert np.array_equal(x, images) and y.tolist() == [4, 2]
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path, "train")
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, "validation")


def test_idx_bad_magic_number(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[0] = 0x1F  # not zero: not an IDX file
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*bad magic number"):
        load_mnist(tmp_path)


def test_labels_file_where_images_are_expected(tmp_path):
    _, labels = _write_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(labels))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: expected MNIST images "
                                         r"\(magic number 2051"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_truncated_file(tmp_path, gz):
    _write_mnist(tmp_path, n=4, gz=gz)
    path = tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    data = path.read_bytes()
    if gz:  # a cut gzip stream, and a whole stream holding a cut IDX file
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: corrupt or truncated"):
            load_mnist(tmp_path)
        data = gzip.decompress(data)
        path.write_bytes(gzip.compress(data[:-100]))
    else:
        path.write_bytes(data[:-100])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*truncated.*\(4, 28, 28\)"):
        load_mnist(tmp_path)
    path.write_bytes(data[:10])       # the header itself is cut
    with pytest.raises(ValueError, match="truncated IDX header"):
        load_mnist(tmp_path)
    path.write_bytes(data[:2])
    with pytest.raises(ValueError, match="truncated IDX file"):
        load_mnist(tmp_path)


def test_idx_trailing_bytes(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte: IDX file has trailing bytes"):
        load_mnist(tmp_path)


def test_mnist_mismatched_counts(tmp_path):
    _write_mnist(tmp_path, n=5)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"holds 5 images but .*holds 4 labels"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip_every_type(tmp_path, dtype, name):
    array = (np.arange(24) - 5).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype).newbyteorder("=") and np.array_equal(back, array)
    back[0, 0, 0] = 1  # writable


def test_idx_big_endian_on_disk(tmp_path):
    write_idx(tmp_path / "x", np.array([1, 256], dtype=np.int16))
    assert (tmp_path / "x").read_bytes() == bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0, 1, 1, 0])
    with pytest.raises(TypeError, match="IDX has no type"):
        write_idx(tmp_path / "y", np.array([1], dtype=np.uint16))


# -- synthetic sets ---------------------------------------------------------------------------

def test_make_spiral():
    x, y = make_spiral(50, 4, rng=np.random.default_rng(0), noise=0.0, dtype=np.float64)
    assert x.shape == (200, 2) and y.shape == (200,) and np.bincount(y).tolist() == [50] * 4
    t = np.tile(np.linspace(0, 1, 50), 4)
    assert np.allclose(np.hypot(x[:, 0], x[:, 1]), t)      # radius grows along the arm
    a, _ = make_spiral(50, 4, rng=np.random.default_rng(1), noise=0.2)
    b, _ = make_spiral(50, 4, rng=np.random.default_rng(1), noise=0.2)
    assert a.dtype == np.float32 and np.array_equal(a, b)
    assert 0.15 < np.std(a - x.astype(np.float32)) < 0.25
    with pytest.raises(TypeError, match="make_spiral: pass rng"):
        make_spiral(10, 3, rng=None)
    with pytest.raises(ValueError, match="n_classes"):
        make_spiral(10, 0, rng=np.random.default_rng(0))


def test_make_blobs():
    centers = np.array([[0.0, 0.0, 0.0], [5.0, -5.0, 2.0]])
    x, y = make_blobs(2000, centers, rng=np.random.default_rng(0), std=0.5)
    assert x.shape == (4000, 3) and x.dtype == np.float32
    for k in range(2):
        assert np.allclose(x[y == k].mean(axis=0), centers[k], atol=0.05)
        assert np.allclose(x[y == k].std(axis=0), 0.5, atol=0.03)
    x1, y1 = make_blobs(10, 5, rng=np.random.default_rng(2), n_features=4)
    x2, _ = make_blobs(10, 5, rng=np.random.default_rng(2), n_features=4)
    assert x1.shape == (50, 4) and set(y1.tolist()) == set(range(5)) and np.array_equal(x1, x2)
    with pytest.raises(ValueError, match="centers"):
        make_blobs(10, np.zeros(3), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="std"):
        make_blobs(10, 2, rng=np.random.default_rng(0), std=-1)


def test_elongated_bowl_value_and_gradient():
    rng = np.random.default_rng(0)
    points = rng.uniform(-8, 8, size=(20, 2))
    value, grad = elongated_bowl(points)
    assert value.shape == (20,) and grad.shape == (20, 2)
    assert np.allclose(value, points[:, 0] ** 2 / 20 + points[:, 1] ** 2)
    h = 1e-6  # central differences
    for axis in range(2):
        step = np.zeros(2)
        step[axis] = h
        numeric = (elongated_bowl(points + step)[0] - elongated_bowl(points - step)[0]) / (2 * h)
        assert np.allclose(grad[:, axis], numeric, rtol=1e-7, atol=1e-7)
    value0, grad0 = elongated_bowl([0, 0])             # integers are fine; minimum at 0
    assert float(value0) == 0.0 and grad0.tolist() == [0.0, 0.0]
    X, Y = np.meshgrid(np.linspace(-1, 1, 7), np.linspace(-2, 2, 5))
    grid_value, grid_grad = elongated_bowl(np.stack([X, Y], axis=-1))
    assert grid_value.shape == (5, 7) and grid_grad.shape == (5, 7, 2)
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        elongated_bowl(np.zeros((4, 3)))


def test_load_mnist_rejects_wrong_label_files_and_dtypes(tmp_path):
    _write_mnist(tmp_path, n=3)
    with pytest.raises(TypeError, match="floating dtype"):
        load_mnist(tmp_path, dtype=np.uint8)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((3, 2), np.uint8))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte: expected MNIST labels "
                                         r"\(magic number 2049"):
        load_mnist(tmp_path)
