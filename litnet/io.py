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


# --8<-- [start:save]
def save(model, path):
    """Write every parameter and buffer of ``model`` to the ``.npz`` file ``path``.

    The file is written under a temporary name and then renamed, so an
    interrupted save never leaves a half-written file at ``path``. No suffix
    is added to ``path``.

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
    tmp = f"{path}.{os.getpid()}.tmp"       # same folder, so the rename is atomic
    try:
        with open(tmp, "wb") as f:          # an open file: np.savez adds no ".npz" suffix
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
# --8<-- [end:save]


def _read_npz(path):
    """All arrays of the ``.npz`` at ``path``; any unreadable file is a ValueError naming it."""
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single .npy array, not an .npz archive")
        with npz:
            return {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, RuntimeError, zipfile.BadZipFile, zlib.error) as e:
        # what zipfile and np.load raise on bad bytes (RuntimeError: unsupported zip features)
        raise ValueError(f"load: {path} is not a readable .npz file (corrupted, truncated, "
                         f"or not written by litnet.save): {e}") from e


# --8<-- [start:load]
def load(model, path):
    """Load the parameters and buffers saved by :func:`save` into ``model``; return it.

    Everything is checked before anything is assigned, so a failed load leaves
    ``model`` untouched.

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
    return load_state(model, _read_npz(path), source=os.fspath(path), noun="file")
# --8<-- [end:load]


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
    expected = state_arrays(model)
    stored = {name: np.asarray(a) for name, a in state.items()}
    problems = [f"missing from the {noun}: {n!r}" for n in expected if n not in stored]
    problems += [f"not in the model: {n!r}" for n in stored if n not in expected]
    problems += [f"{n!r}: {noun} has shape {stored[n].shape}, model expects {a.shape}"
                 for n, a in expected.items() if n in stored and stored[n].shape != a.shape]
    if problems:
        raise ValueError(f"load: {source} does not match the model:\n  " + "\n  ".join(problems))
    wrong = [f"{n!r}: {noun} has {stored[n].dtype}, model has {a.dtype}"
             for n, a in expected.items() if stored[n].dtype != a.dtype]
    if wrong:
        raise TypeError(f"load: {source} has other dtypes than the model (convert the model "
                        "with model.to(dtype) first):\n  " + "\n  ".join(wrong))
    params = dict(model.named_parameters())
    for name, stored_array in stored.items():
        array = np.array(stored_array)      # a private copy: nothing is aliased
        if name in params:
            params[name].data = array
        else:                              # a buffer: set it on the module that owns it
            model.set_buffer(name, array)
    return model
