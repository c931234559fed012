"""The cross-process experiment cache: stores, reloads, and is keyed by the code."""

import numpy as np

from litnet.experiments import diskcache


def test_second_process_reads_instead_of_recomputing(tmp_path, monkeypatch):
    monkeypatch.setenv("LITNET_CACHE_DIR", str(tmp_path))
    calls = []

    def grid(n):
        calls.append(n)
        return np.linspace(0, 1, n)

    first = diskcache.shared(grid)(5)
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 1 and calls == [5]
    again = diskcache.shared(grid)(5)  # a fresh wrapper stands for another process
    assert calls == [5]
    np.testing.assert_array_equal(first, again)
    assert not again.flags.writeable
    diskcache.shared(grid)(6)
    assert calls == [5, 6] and len(list(tmp_path.glob("*.npy"))) == 2


def test_without_the_variable_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv("LITNET_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert diskcache.shared(lambda n: np.zeros(n))(3).tolist() == [0.0, 0.0, 0.0]
    assert not list(tmp_path.iterdir())


def test_key_depends_on_the_source(monkeypatch, tmp_path):
    monkeypatch.setenv("LITNET_CACHE_DIR", str(tmp_path))
    a = diskcache._path(test_key_depends_on_the_source, (1,))
    diskcache.source_hash.cache_clear()
    monkeypatch.setattr(diskcache.np, "__version__", "0.0-other")
    b = diskcache._path(test_key_depends_on_the_source, (1,))
    diskcache.source_hash.cache_clear()
    assert a != b
