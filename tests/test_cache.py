"""The cross-process experiment cache: stores, reloads, and is keyed by the code."""

import numpy as np

from litnet import cache


def test_second_process_reads_instead_of_recomputing(tmp_path, monkeypatch):
    monkeypatch.setenv("LITNET_CACHE_DIR", str(tmp_path))
    calls = []

    def grid(n):
        calls.append(n)
        return np.linspace(0, 1, n)

    first = cache.shared(grid)(5)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1 and calls == [5]
    again = cache.shared(grid)(5)  # a fresh wrapper stands for another process
    assert calls == [5]
    np.testing.assert_array_equal(first, again)
    assert not again.flags.writeable
    cache.shared(grid)(6)
    assert calls == [5, 6] and len(list(tmp_path.glob("*.npz"))) == 2


def test_without_the_variable_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv("LITNET_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cache.shared(lambda n: np.zeros(n))(3).tolist() == [0.0, 0.0, 0.0]
    assert not list(tmp_path.iterdir())


def test_key_depends_on_the_source(monkeypatch, tmp_path):
    monkeypatch.setenv("LITNET_CACHE_DIR", str(tmp_path))
    a = cache._path(test_key_depends_on_the_source, (1,))
    cache.source_hash.cache_clear()
    monkeypatch.setattr(cache.np, "__version__", "0.0-other")
    b = cache._path(test_key_depends_on_the_source, (1,))
    cache.source_hash.cache_clear()
    assert a != b


def test_nested_results_round_trip_bit_for_bit(tmp_path, monkeypatch):
    from litnet.experiments.bn_shift import Centres
    from litnet.experiments.deep_residual import Curves

    monkeypatch.setenv("LITNET_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    value = {
        ("sgd", 1): Curves(train_loss=(0.1, float("nan")), val_loss=(np.float32(0.25),),
                           val_acc=(1, True), batch_loss=()),
        "centres": Centres(*[rng.standard_normal(3) for _ in Centres._fields]),
        "list": [None, "text", np.float64(1 / 3), rng.standard_normal((2, 2)).astype(np.float32)],
    }
    first = cache.shared(lambda: value)()
    again = cache.shared(lambda: value)()          # read from the file
    assert len(list(tmp_path.glob("*.npz"))) == 1
    for got in (first, again):
        curves = got[("sgd", 1)]
        assert type(curves) is Curves and curves.train_loss[0] == 0.1
        assert np.isnan(curves.train_loss[1]) and curves.val_acc == (1, True)
        assert type(curves.val_loss[0]) is np.float32 and curves.val_loss[0] == np.float32(0.25)
        assert type(got["centres"]) is Centres
        for a, b in zip(got["centres"], value["centres"], strict=True):
            assert a.tobytes() == b.tobytes() and not a.flags.writeable
        assert got["list"][:2] == [None, "text"] and type(got["list"][2]) is np.float64
        assert got["list"][2] == value["list"][2]
        assert got["list"][3].dtype == np.float32
        np.testing.assert_array_equal(got["list"][3], value["list"][3])


def test_unstorable_results_and_foreign_classes_are_refused(tmp_path, monkeypatch):
    import json

    import pytest

    monkeypatch.setenv("LITNET_CACHE_DIR", str(tmp_path))
    with pytest.raises(TypeError, match="cannot store a set"):
        cache.shared(lambda: {1, 2})()
    with pytest.raises(ValueError, match="refusing to rebuild the class 'os:system'"):
        cache._decode(json.loads('{"namedtuple": "os:system", "items": []}'), {})
