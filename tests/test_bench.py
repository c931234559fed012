"""bench/bench_step.py still runs: its quick path, on one workload, one short run.

The script is a benchmark, not a test: nothing here looks at a time. What is
checked is that the three programs run in their own processes, measure the
same network, and that the table is produced.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_step.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_step", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module        # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_quick_run_measures_the_same_network_three_ways(bench, torch, tmp_path, capsys):
    raw = tmp_path / "raw.json"
    assert bench.main(["--quick", "--only", "mlp-b100-f32", "--json", str(raw)]) == 0
    page = capsys.readouterr().out
    label = bench.BY_KEY["mlp-b100-f32"].label
    assert f"| {label} |" in page
    assert "| `litnet` |" in page                       # the import-time table
    res = json.loads(raw.read_text())["results"]["mlp-b100-f32"]
    for impl in ("litnet", "torch", "floor"):
        assert res[impl]["median_ms"] > 0 and res[impl]["runs"] == 1
    # litnet's and PyTorch's first steps start from the same weights and batch
    assert res["litnet"]["loss"] == pytest.approx(res["torch"]["loss"], rel=1e-5)
    assert res["litnet"]["traced_peak_mib"] > 0


def test_floor_counts_every_product_of_the_step(bench):
    # 6 Linear layers: 6 forward products, 6 weight gradients, 5 input gradients
    # (the network input needs none)
    assert len(bench.floor_products(bench.BY_KEY["mlp-b100-f32"])) == 17
    T = bench.BY_KEY["lstm-t50-b64-f32"].seq[0]
    assert len(bench.floor_products(bench.BY_KEY["lstm-t50-b64-f32"])) == 2 * T + 6


def test_verdict_compares_ratios_with_the_targets(bench):
    w = bench.BY_KEY["mlp-b100-f32"]
    res = {"litnet": {"median_ms": 1.0}, "torch": {"median_ms": 2.0},
           "floor": {"median_ms": 0.4}}
    assert bench.verdict(w, res) == "≤ 0.7× PyTorch ✓, ≤ 2× floor ✗"
