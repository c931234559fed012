"""Shared fixtures.

``torch``: the torch module, with float64 as its default dtype for the duration
of the test (restored afterwards). Parity tests take it as an argument instead
of ``pytest.importorskip("torch")``: without torch they are skipped locally,
but when the environment variable ``CI`` is ``true`` a missing torch fails the
test, so CI can never pass by skipping them.
"""

from __future__ import annotations

import os

# The networks in the tests are small: OpenBLAS threads only add overhead, and on two
# busy cores they slow matrix products by an order of magnitude. Set before NumPy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Experiments computed by this test process are shared with the notebook kernels of the
# site build that tests/test_site.py runs (see litnet/cache.py).
if not os.environ.get("LITNET_CACHE_DIR"):
    import atexit
    import shutil
    import tempfile

    os.environ["LITNET_CACHE_DIR"] = tempfile.mkdtemp(prefix="litnet-test-cache-")
    atexit.register(shutil.rmtree, os.environ["LITNET_CACHE_DIR"], ignore_errors=True)

import pytest  # noqa: E402


@pytest.fixture
def torch():
    try:
        import torch as torch_module
    except ImportError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"torch is required when CI=true (pip install -e '.[torch]'): {exc}")
        pytest.skip(f"torch is not installed ({exc}); pip install -e '.[torch]'")
    # float64 for 1e-10 parity; one thread, because on 2 cores torch's pool makes each
    # tiny op take ~80 ms instead of ~0.1 ms.
    previous = torch_module.get_default_dtype()
    threads = torch_module.get_num_threads()
    torch_module.set_default_dtype(torch_module.float64)
    torch_module.set_num_threads(1)
    try:
        yield torch_module
    finally:
        torch_module.set_default_dtype(previous)
        torch_module.set_num_threads(threads)


# The slowest files first. With pytest-xdist (-n auto --dist loadfile: a file runs in one
# worker, so the site is built once) the site build starts at once and the training-heavy
# files fill the other workers, instead of one of them starting last and running alone.
_FIRST = ("tests/test_site.py", "tests/test_ch2.py", "tests/test_notebooks.py",
          "tests/test_ch3.py", "tests/test_ch4.py", "tests/test_bench.py")


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return _FIRST.index(path) if path in _FIRST else len(_FIRST)

    items.sort(key=rank)   # stable: the order within a file is kept
