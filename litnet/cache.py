"""Share an experiment's results between the processes of one build or test run.

A site build runs each chapter's lab in its own kernel process while the
reproductions page computes the same claims in the build process, and a test run
(with pytest-xdist) spreads the tests over several processes: without a shared
cache each process would train the same networks again. :func:`shared` stores a
function's result as an ``.npz`` file in the folder named by the environment
variable ``LITNET_CACHE_DIR`` (nothing is stored when it is unset). The file name
hashes the function, its arguments, the NumPy version and the source of every
litnet module, so any change to the code gives new files: a cached result is
always what the current code computes.

A result may be an array, a NumPy scalar, a Python number, string or None, or a
tuple, list, dict, ``NamedTuple`` or dataclass of those, nested. Its arrays go
into the ``.npz``; its structure is described in JSON next to them (classes by
name, only from litnet's own modules). Nothing is pickled: files are read with
``allow_pickle=False``, and values come back bit for bit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib
import inspect
import json
import os
import tempfile
from pathlib import Path

try:  # POSIX: a second process waits for the first one's result instead of recomputing
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, at worst computed twice
    fcntl = None

import numpy as np

_PACKAGE = Path(__file__).resolve().parent


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
    return Path(folder) / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npz"


# -- results as arrays plus a JSON tree ----------------------------------------------------

def _class_name(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


def _class(name):
    module, _, qualname = name.partition(":")
    if module.split(".")[0] != "litnet":     # never import anything a file names
        raise ValueError(f"shared: refusing to rebuild the class {name!r} (not litnet's)")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _encode(obj, arrays):
    """A JSON-able description of ``obj``; its arrays are added to ``arrays``."""
    if isinstance(obj, (np.ndarray, np.generic)):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(obj)
        return {"array": key, "scalar": isinstance(obj, np.generic)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}                # JSON keeps floats exactly (repr), NaN included
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"dataclass": _class_name(type(obj)),
                "fields": {f.name: _encode(getattr(obj, f.name), arrays)
                           for f in dataclasses.fields(obj)}}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):       # a NamedTuple
        return {"namedtuple": _class_name(type(obj)), "items": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, (tuple, list)):
        return {type(obj).__name__: [_encode(v, arrays) for v in obj]}
    if isinstance(obj, dict):
        return {"dict": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    raise TypeError(f"shared: cannot store a {type(obj).__name__} (arrays, numbers, strings, "
                    "None and tuples, lists, dicts, NamedTuples or dataclasses of them)")


def _decode(node, arrays):
    if "array" in node:
        a = arrays[node["array"]]
        a.setflags(write=False)
        return a[()] if node["scalar"] else a
    if "value" in node:
        return node["value"]
    if "dataclass" in node:
        return _class(node["dataclass"])(**{k: _decode(v, arrays)
                                           for k, v in node["fields"].items()})
    if "namedtuple" in node:
        return _class(node["namedtuple"])(*(_decode(v, arrays) for v in node["items"]))
    if "tuple" in node:
        return tuple(_decode(v, arrays) for v in node["tuple"])
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    return {_decode(k, arrays): _decode(v, arrays) for k, v in node["dict"]}


def _write(path, tree, arrays):
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        np.savez(f, __tree__=np.array(json.dumps(tree)), **arrays)
    os.replace(tmp, path)  # atomic: a reader never sees half a file


def _read(path):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return json.loads(str(arrays.pop("__tree__"))), arrays


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


def _frozen(arg):
    """A list argument as a tuple (hashable, and one cache entry for both)."""
    return tuple(arg) if isinstance(arg, list) else arg


def shared(fn):
    """Cache ``fn(...)`` in memory and, when ``LITNET_CACHE_DIR`` is set, on disk for
    other processes. The key is the full set of arguments, defaults filled in, so
    ``f(1)`` and ``f(x=1)`` share one entry; arguments need a stable ``repr``. A list
    argument is passed on as a tuple, so ``f([1, 2])`` and ``f((1, 2))`` share one
    entry too. Every array in the result is read-only, whether it was computed here or
    read from a file.

    Examples
    --------
    >>> calls = []
    >>> @shared
    ... def squares(n, offset=0):
    ...     calls.append(n)
    ...     return {"n": n, "squares": np.arange(n) ** 2 + offset}
    >>> squares(4)["squares"].tolist(), squares(n=4, offset=0)["n"], calls
    ([0, 1, 4, 9], 4, [4])
    >>> @shared
    ... def total(sizes):
    ...     return sum(sizes)
    >>> total([1, 2]), total((1, 2))
    (3, 3)
    """
    signature = inspect.signature(fn)

    @functools.cache
    def compute(args, kwargs):
        path = _path(fn, (args, kwargs) if kwargs else args)
        if path is None:
            arrays = {}
            return _decode(_encode(fn(*args, **dict(kwargs)), arrays), arrays)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            if path.exists():
                tree, arrays = _read(path)
            else:
                arrays = {}
                tree = _encode(fn(*args, **dict(kwargs)), arrays)
                _write(path, tree, arrays)
        return _decode(tree, arrays)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return compute(tuple(map(_frozen, bound.args)),
                       tuple(sorted((k, _frozen(v)) for k, v in bound.kwargs.items())))

    return wrapper
