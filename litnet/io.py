r"""Save and load a model's state (parameters and buffers) as a plain ``.npz`` file.

The file holds one array per dotted name, exactly the names of
:meth:`~litnet.Module.named_parameters` and :meth:`~litnet.Module.named_buffers`
(``"0.weight"``, ``"1.running_mean"``, ...), the same keys as a PyTorch
``state_dict``. It contains no pickled objects: ``np.load(path,
allow_pickle=False)`` reads it anywhere. Values, shapes and dtypes round-trip
bit for bit.
"""

from __future__ import annotations

import os
import secrets
import zipfile
import zlib

import numpy as np

from .module import Module


def state_arrays(model):
    """Every parameter and buffer of ``model`` as ``{dotted_name: ndarray}`` (no copies).

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> model = ln.Sequential(ln.Linear(2, 3, rng=np.random.default_rng(0)), ln.ReLU())
    >>> {k: v.shape for k, v in state_arrays(model).items()}
    {'0.weight': (3, 2), '0.bias': (3,)}
    """
    if not isinstance(model, Module):
        raise TypeError(f"expected a litnet Module, got {type(model).__name__}")
    arrays = {name: p.data for name, p in model.named_parameters()}
    for name, buf in model.named_buffers():
        arrays[name] = np.asarray(buf)
    return arrays


def save(model, path):
    """Write every parameter and buffer of ``model`` to the ``.npz`` file ``path``.

    The file is written under a temporary name in the same folder, flushed to
    disk (``fsync``) and then renamed over ``path`` (``os.replace``, atomic), so
    an interrupted or failed save leaves the previous file at ``path`` intact
    and no temporary file behind. No suffix is added to ``path``.

    Examples
    --------
    >>> import numpy as np, litnet as ln, tempfile, os
    >>> model = ln.Sequential(ln.Linear(2, 3, rng=np.random.default_rng(0)), ln.ReLU())
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = ln.save(model, os.path.join(d, "model.npz"))
    ...     sorted(np.load(path, allow_pickle=False).files)
    ['0.bias', '0.weight']
    """
    arrays = state_arrays(model)
    for name, a in arrays.items():
        if a.dtype.hasobject:
            raise TypeError(f"save: {name} has dtype object, which cannot be stored without "
                            "pickling")
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"   # same folder: atomic rename
    try:
        with open(tmp, "xb") as f:          # an open file: np.savez adds no ".npz" suffix
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())            # the bytes are on disk before the rename
        os.replace(tmp, path)               # path is the old file or the new one, never half
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


_READ_ERRORS = (ValueError, OSError, EOFError, RuntimeError, zipfile.BadZipFile, zlib.error)
# what zipfile and numpy's .npy reader raise on bad bytes (RuntimeError: unsupported zip
# features); FileNotFoundError passes through unchanged


def _unreadable(source, e):
    return ValueError(f"load: {source} is not a readable .npz file (corrupted, truncated, "
                      f"or not written by litnet.save): {e}")


def _npy_header(f):
    """``(shape, dtype)`` from the .npy header at the start of ``f``; reads no data."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if dtype.hasobject:
        raise ValueError("a member holds Python objects, which would need unpickling")
    return shape, dtype


def _members(zf):
    """``{name: ZipInfo}`` of the archive, each member a ``name.npy``, no name twice."""
    members = {}
    for info in zf.infolist():
        name = info.filename.removesuffix(".npy")
        if name == info.filename or name in members:
            raise ValueError(f"unexpected member {info.filename!r} (not name.npy, or twice)")
        members[name] = info
    return members


def _read_checked(model, source):
    """``(state, None)``, or ``(None, error)`` when the members' headers, all read before any
    data, do not match the model: so no array larger than the model's is ever allocated."""
    with open(source, "rb") as f:
        if f.read(6) == b"\x93NUMPY":
            raise ValueError("it holds a single .npy array, not an .npz archive")
    with zipfile.ZipFile(source) as zf:
        members = _members(zf)
        headers = {}
        for name, info in members.items():
            with zf.open(info) as f:
                headers[name] = _npy_header(f)
        error = _mismatch(model, headers, source, "file")
        if error is not None:
            return None, error
        return {name: _read_member(zf, info) for name, info in members.items()}, None


def _read_member(zf, info):
    """The array of one member, after its header has been checked against the model."""
    with zf.open(info) as f:
        array = np.lib.format.read_array(f, allow_pickle=False)
        if f.read(1):
            raise ValueError(f"{info.filename}: bytes after the array data")
    return array


def load(model, path):
    """Load the parameters and buffers saved by :func:`save` into ``model``; return it.

    Everything is checked before anything is assigned, so a failed load leaves
    ``model`` untouched. Every member's ``.npy`` header (shape, dtype) is checked
    against the model before any array data is read or decompressed, so the
    memory a load takes is bounded by the model's size, whatever a file declares.

    Raises
    ------
    ValueError
        ``path`` is not a readable ``.npz`` file, or the file and the model
        disagree: a name missing from the file, a name the model does not
        have, or a different shape. The message lists every such name.
    TypeError
        A dtype differs (convert the model with ``model.to(dtype)`` first).

    Examples
    --------
    >>> import numpy as np, litnet as ln, tempfile, os
    >>> a = ln.Linear(2, 3, rng=np.random.default_rng(0))
    >>> b = ln.Linear(2, 3, rng=np.random.default_rng(1))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = ln.load(b, ln.save(a, os.path.join(d, "a.npz")))
    >>> bool(np.array_equal(a.weight.data, b.weight.data))
    True
    """
    source = os.fspath(path)
    try:
        state, error = _read_checked(model, source)
    except FileNotFoundError:
        raise
    except _READ_ERRORS as e:
        raise _unreadable(source, e) from e
    if error is not None:
        raise error
    return load_state(model, state, source=source, noun="file")


def _mismatch(model, described, source, noun):
    """The ValueError or TypeError to raise unless ``described`` (``{name: (shape, dtype)}``)
    has exactly the names, shapes and dtypes of the model's state; else None."""
    expected = state_arrays(model)
    problems = [f"missing from the {noun}: {n!r}" for n in expected if n not in described]
    problems += [f"not in the model: {n!r}" for n in described if n not in expected]
    problems += [f"{n!r}: {noun} has shape {described[n][0]}, model expects {a.shape}"
                 for n, a in expected.items() if n in described and described[n][0] != a.shape]
    if problems:
        return ValueError(f"load: {source} does not match the model:\n  "
                          + "\n  ".join(problems))
    wrong = [f"{n!r}: {noun} has {described[n][1]}, model has {a.dtype}"
             for n, a in expected.items() if described[n][1] != a.dtype]
    if wrong:
        return TypeError(f"load: {source} has other dtypes than the model (convert the model "
                         "with model.to(dtype) first):\n  " + "\n  ".join(wrong))
    return None


def load_state(model, state, *, source="the state", noun="state"):
    """Copy the arrays of ``state`` (``{dotted_name: array}``, as :func:`state_arrays`
    gives) into the parameters and buffers of ``model``; return ``model``.

    The checks and messages of :func:`load`, which calls it (``source`` names where
    the arrays came from, ``noun`` what a message calls them); nothing is assigned
    unless everything matches, and the model never aliases the given arrays.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> a = ln.Linear(2, 3, rng=np.random.default_rng(0))
    >>> b = load_state(ln.Linear(2, 3, rng=np.random.default_rng(1)), state_arrays(a))
    >>> bool(np.array_equal(a.weight.data, b.weight.data)), b.weight.data is a.weight.data
    (True, False)
    """
    stored = {name: np.asarray(a) for name, a in state.items()}
    error = _mismatch(model, {n: (a.shape, a.dtype) for n, a in stored.items()}, source, noun)
    if error is not None:
        raise error
    params = dict(model.named_parameters())
    for name, stored_array in stored.items():
        array = np.array(stored_array)      # a private copy: nothing is aliased
        if name in params:
            params[name].data = array
        else:                              # a buffer: set it on the module that owns it
            model.set_buffer(name, array)
    return model
