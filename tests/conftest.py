"""Shared fixtures.

``torch``: the torch module, with float64 as its default dtype for the duration
of the test (restored afterwards). Parity tests take it as an argument instead
of ``pytest.importorskip("torch")``: without torch they are skipped locally,
but when the environment variable ``CI`` is ``true`` a missing torch fails the
test, so CI can never pass by skipping them.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def torch():
    try:
        import torch as torch_module
    except ImportError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"torch is required when CI=true (pip install -e '.[torch]'): {exc}")
        pytest.skip(f"torch is not installed ({exc}); pip install -e '.[torch]'")
    previous = torch_module.get_default_dtype()
    torch_module.set_default_dtype(torch_module.float64)
    try:
        yield torch_module
    finally:
        torch_module.set_default_dtype(previous)
