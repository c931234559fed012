"""Time litnet's Conv2d forward + backward against PyTorch's on the CPU.

Usage (from the repository root)::

    python bench/conv_step.py            # both thread settings, prints a table
    python bench/conv_step.py --quick    # smoke run: few repetitions
    python bench/conv_step.py --json out.json

The workload is the one of issue 12: a batch of N=100 images with 16 channels
of 8×8 pixels, a 3×3 convolution to 16 channels with padding 1, float32. One
*step* is a forward and a backward (input and parameter gradients) with a
fixed upstream gradient. Each library is timed in a fresh process of its own
(an idle OpenBLAS thread pool in the same process slows PyTorch down), first
with one thread (``OPENBLAS_NUM_THREADS=1`` for NumPy,
``torch.set_num_threads(1)``) and then with each library's default number of
threads. The number reported is the median over repetitions of the mean time
of a block of steps.

This is a benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPE = dict(batch=100, channels=16, size=8, out_channels=16, kernel=3, padding=1)
IMPLS = ("litnet", "torch")


def _inputs(np):
    rng = np.random.default_rng(0)
    s = SHAPE
    x = rng.standard_normal((s["batch"], s["channels"], s["size"], s["size"])).astype(np.float32)
    g = rng.standard_normal((s["batch"], s["out_channels"], s["size"], s["size"]))
    return rng, x, g.astype(np.float32)


def _litnet_step():
    import numpy as np

    import litnet as ln

    rng, x, g = _inputs(np)
    s = SHAPE
    conv = ln.Conv2d(s["channels"], s["out_channels"], s["kernel"], padding=s["padding"], rng=rng)

    def step():
        conv(x)
        conv.backward(g)
        conv.zero_grad()

    return step


def _torch_step(threads):
    import numpy as np
    import torch

    if threads:
        torch.set_num_threads(threads)
    _, x, g = _inputs(np)
    s = SHAPE
    conv = torch.nn.Conv2d(s["channels"], s["out_channels"], s["kernel"], padding=s["padding"])
    xt = torch.from_numpy(x).requires_grad_(True)
    gt = torch.from_numpy(g)

    def step():
        conv(xt).backward(gt)
        conv.zero_grad(set_to_none=False)
        xt.grad = None

    return step


def litnet_conv(w, threads=None):
    """The benchmark's program for the "conv" workload: litnet's step (bench_programs)."""
    step = _litnet_step()
    return lambda: step() or 0.0


def torch_conv(w, threads):
    """The benchmark's program for the "conv" workload: PyTorch's step (bench_programs)."""
    step = _torch_step(threads)
    return lambda: step() or 0.0


def measure(impl, threads, repeats, block):
    """Run in the child process: the median over ``repeats`` of the mean step time (ms)."""
    step = _litnet_step() if impl == "litnet" else _torch_step(threads)
    for _ in range(max(3, block // 2)):           # warm-up: caches, allocator, BLAS buffers
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(block):
            step()
        times.append((time.perf_counter() - start) / block * 1e3)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": repeats}


def run_child(impl, threads, repeats, block):
    """Measure ``impl`` in a fresh Python process; ``threads`` 0 means the default."""
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(var, None)
    if threads and impl == "litnet":
        env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import conv_step; print(json.dumps(conv_step.measure({impl!r}, {threads}, "
            f"{repeats}, {block})))")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def table(results):
    lines = ["| threads | litnet (ms) | PyTorch (ms) | litnet / PyTorch |",
             "|---|---:|---:|---:|"]
    for label, res in results.items():
        ours, theirs = res["litnet"]["median_ms"], res["torch"]["median_ms"]
        lines.append(f"| {label} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f}× |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke run)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    repeats, block = (1, 2) if args.quick else (15, 20)
    results = {}
    for label, threads in (("1", 1), ("default", 0)):
        results[label] = {impl: run_child(impl, threads, repeats, block) for impl in IMPLS}
    s = SHAPE
    print(f"Conv2d forward + backward, N={s['batch']}, C={s['channels']}→{s['out_channels']}, "
          f"{s['size']}×{s['size']}, {s['kernel']}×{s['kernel']}, padding {s['padding']}, "
          "float32\n")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"shape": SHAPE, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
