r"""Read MNIST from the IDX files a user already has (plain or gzipped); no download.

An IDX file is a tiny header followed by raw big-endian numbers:

====================  =================================================
bytes                 meaning
====================  =================================================
0, 1                  zero
2                     element type: 0x08 uint8, 0x09 int8, 0x0B int16,
                      0x0C int32, 0x0D float32, 0x0E float64
3                     number of dimensions :math:`d`
4 .. 4+4d             each dimension as a big-endian uint32
then                  the elements, row-major
====================  =================================================

So the first four bytes read as one big-endian integer are 2051
(``0x00000803``) for MNIST images (uint8, 3-D) and 2049 (``0x00000801``) for
labels (uint8, 1-D): the "magic number".
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IMAGES_MAGIC = 0x00000803  # 2051: uint8, 3 dimensions (N, rows, cols)
LABELS_MAGIC = 0x00000801  # 2049: uint8, 1 dimension (N,)


_GZIP_MAX_RATIO = 1100     # deflate expands at most ~1032-fold: a bound on what .gz can hold


def _open(path):
    """``(file, size bound)``: the file opened for reading (gunzipped when it starts with
    the gzip signature) and the most bytes it can hold, exact for a plain file."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rb"), size * _GZIP_MAX_RATIO
    return open(path, "rb"), size


def _read(path, f, n, what):
    """Exactly ``n`` bytes of ``what`` from ``f`` (a clear error for fewer)."""
    data = f.read(n)
    if len(data) != n:
        raise ValueError(f"{path}: truncated {what}: {n} bytes expected, "
                         f"the file has only {len(data)} more")
    return data


def _header(path, f, bound):
    """``(dtype, shape, data bytes)`` from the IDX header; the size in Python ints, checked
    against what the file can hold before anything is allocated."""
    magic = f.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
        if len(magic) < 4:
            raise ValueError(f"{path}: truncated IDX file: {len(magic)} bytes, expected at "
                             "least a 4-byte magic number")
        m = int.from_bytes(magic, "big")
        raise ValueError(f"{path}: not an IDX file: bad magic number {m} (0x{m:08X}); "
                         "expected 0x0000TTDD with type TT in 08,09,0B,0C,0D,0E and DD "
                         "dimensions (MNIST: 2051 for images, 2049 for labels)")
    dtype, ndim = np.dtype(_IDX_TYPES[magic[2]]), magic[3]
    dims = _read(path, f, 4 * ndim, f"IDX header ({ndim} dimensions)")
    shape = tuple(int.from_bytes(dims[4 * i: 4 + 4 * i], "big") for i in range(ndim))
    nbytes = math.prod(shape) * dtype.itemsize            # Python ints: never wraps
    if 4 + 4 * ndim + nbytes > bound:
        raise ValueError(f"{path}: IDX file truncated or its header corrupt: header says "
                         f"shape {shape} of {dtype.name} ({4 + 4 * ndim + nbytes} bytes with "
                         f"the header), the file holds at most {bound}")
    return dtype, shape, nbytes


def read_idx(path):
    r"""Read one IDX file (optionally gzipped) into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        An IDX file such as ``train-images-idx3-ubyte`` or its ``.gz``;
        gzip is recognised by the content, not the name.

    Returns
    -------
    numpy.ndarray
        Shape given by the header, native byte order, dtype from the type
        byte (uint8 for MNIST).

    Raises
    ------
    ValueError
        Bad magic number, unknown type byte, header or data shorter than the
        header announces, trailing bytes, or a header declaring more data than
        the file can hold. The message names the file.

    Notes
    -----
    The header is read first and the data size computed from it in Python
    integers (no overflow); it must fit the file (exactly, for a plain file;
    within deflate's largest ratio, for gzip) before anything is allocated,
    and no more than the header declares is ever decompressed (a gzip bomb
    stops one byte past it).

    Examples
    --------
    >>> import tempfile, os
    >>> header = bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = os.path.join(d, "labels-idx1-ubyte")
    ...     _ = open(f, "wb").write(header + bytes([7, 2, 1]))
    ...     read_idx(f).tolist()
    [7, 2, 1]
    """
    f, bound = _open(path)
    with f:
        try:
            dtype, shape, nbytes = _header(path, f, bound)
            data = _read(path, f, nbytes, f"IDX file: data of shape {shape} {dtype.name}")
            trailing = f.read(1)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: corrupt or truncated gzip file ({e})") from e
    if trailing:
        raise ValueError(f"{path}: IDX file has trailing bytes: header says shape {shape} of "
                         f"{dtype.name} ({4 + 4 * len(shape) + nbytes} bytes with the header)")
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def _find(directory, kind, what, idx):
    """The images or labels file of ``kind`` in ``directory``, plain or gzipped."""
    stems = [f"{kind}-{what}-{idx}-ubyte", f"{kind}-{what}.{idx}-ubyte"]
    candidates = [os.path.join(directory, s + ext) for s in stems for ext in ("", ".gz")]
    for c in candidates:
        if os.path.isfile(c):
            return c
    raise FileNotFoundError(f"load_mnist: no {what} file for kind={kind!r} in {directory}; "
                            f"looked for {', '.join(os.path.basename(c) for c in candidates)}")


def load_mnist(path, kind="train", *, dtype=np.float32, scale=True, flatten=True):
    r"""Load MNIST (or Fashion-MNIST) images and labels from standard IDX files.

    Parameters
    ----------
    path : str or os.PathLike
        Directory holding ``{kind}-images-idx3-ubyte`` and
        ``{kind}-labels-idx1-ubyte``, each optionally gzipped (``.gz``); the
        variant spelling ``{kind}-images.idx3-ubyte`` is accepted too.
    kind : {"train", "t10k", "test"}
        ``"train"`` (60,000 images) or ``"t10k"`` (10,000); ``"test"`` is an
        alias for ``"t10k"``.
    dtype : floating dtype
        Dtype of the images (float32 by default).
    scale : bool
        Divide the pixel values 0..255 by 255, so images lie in [0, 1].
    flatten : bool
        Return images as (N, rows*cols) for an MLP (default) or (N, rows, cols).

    Returns
    -------
    images : numpy.ndarray, (N, 784) or (N, 28, 28)
    labels : numpy.ndarray of int64, (N,)

    Raises
    ------
    FileNotFoundError
        A file is missing (the message lists the names tried).
    ValueError
        A bad magic number, a truncated file, or different image and label
        counts; the message names the file and what was expected.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from litnet.data.mnist import write_idx
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_idx(os.path.join(d, "t10k-images-idx3-ubyte"), np.zeros((2, 28, 28), np.uint8))
    ...     write_idx(os.path.join(d, "t10k-labels-idx1-ubyte"), np.array([3, 9], np.uint8))
    ...     x, y = load_mnist(d, kind="test")
    >>> x.shape, x.dtype, y.tolist()
    ((2, 784), dtype('float32'), [3, 9])
    """
    kind = {"test": "t10k"}.get(kind, kind)
    if kind not in ("train", "t10k"):
        raise ValueError(f"load_mnist: kind must be 'train', 't10k' or 'test', got {kind!r}")
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"load_mnist: expected a floating dtype, got {dtype}")
    images_file = _find(path, kind, "images", "idx3")
    labels_file = _find(path, kind, "labels", "idx1")
    images, labels = read_idx(images_file), read_idx(labels_file)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"{images_file}: expected MNIST images (magic number {IMAGES_MAGIC}: "
                         f"uint8, 3-D), got {images.dtype.name} of shape {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{labels_file}: expected MNIST labels (magic number {LABELS_MAGIC}: "
                         f"uint8, 1-D), got {labels.dtype.name} of shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"load_mnist: {images_file} holds {images.shape[0]} images but "
                         f"{labels_file} holds {labels.shape[0]} labels; expected equal counts")
    x = images.astype(dtype)
    if scale:
        x /= 255
    if flatten:
        x = x.reshape(len(x), -1)
    return x, labels.astype(np.int64)


def write_idx(path, array):
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in ``.gz``).

    The inverse of :func:`read_idx`; tests and examples use it to make small
    MNIST-like files.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = os.path.join(d, "x-idx2-ubyte.gz")
    ...     write_idx(f, np.arange(6, dtype=np.uint8).reshape(2, 3))
    ...     read_idx(f).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder(">"): k for k, v in _IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder(">"))
    if code is None:
        raise TypeError(f"write_idx: IDX has no type for dtype {array.dtype}; use uint8, int8, "
                        "int16, int32, float32 or float64")
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    body = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if os.fspath(path).endswith(".gz"):
        body = gzip.compress(body, mtime=0)
    Path(path).write_bytes(body)
