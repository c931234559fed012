"""Share an experiment's arrays between the processes of one build or test run.

A site build runs each chapter's lab in its own kernel process while the
reproductions page computes the same claims in the build process: without a
shared cache the costliest grid (R4: 64 training runs) would be trained twice.
:func:`shared` stores a function's array result as a ``.npy`` file in the folder
named by the environment variable ``LITNET_CACHE_DIR`` (nothing is stored when it
is unset). The file name hashes the function, its arguments, the NumPy version
and the source of every litnet module, so any change to the code gives new
files: a cached array is always what the current code computes. Files are read
with ``allow_pickle=False``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
from pathlib import Path

try:  # POSIX: a second process waits for the first one's result instead of recomputing
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, at worst computed twice
    fcntl = None

import numpy as np

_PACKAGE = Path(__file__).resolve().parents[1]


@functools.cache
def source_hash():
    """SHA-256 over the NumPy version and every ``litnet/**/*.py`` file."""
    digest = hashlib.sha256(np.__version__.encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(_PACKAGE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _path(fn, args):
    folder = os.environ.get("LITNET_CACHE_DIR")
    if not folder:
        return None
    key = f"{fn.__module__}.{fn.__qualname__}{args!r}{source_hash()}"
    return Path(folder) / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npy"


@contextlib.contextmanager
def _locked(path):
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared(fn):
    """Cache ``fn(*args) -> ndarray`` in memory and, when ``LITNET_CACHE_DIR`` is
    set, on disk for other processes. Arguments must have a stable ``repr``.

    Examples
    --------
    >>> calls = []
    >>> @shared
    ... def squares(n):
    ...     calls.append(n)
    ...     return np.arange(n) ** 2
    >>> squares(4).tolist(), squares(4).tolist(), calls
    ([0, 1, 4, 9], [0, 1, 4, 9], [4])
    """

    @functools.cache
    @functools.wraps(fn)
    def wrapper(*args):
        path = _path(fn, args)
        if path is None:
            result = np.asarray(fn(*args))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(path):
                if path.exists():
                    result = np.load(path, allow_pickle=False)
                else:
                    result = np.asarray(fn(*args))
                    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
                    with os.fdopen(fd, "wb") as f:
                        np.save(f, result, allow_pickle=False)
                    os.replace(tmp, path)  # atomic: a reader never sees half a file
        result.setflags(write=False)
        return result

    return wrapper
