"""The harness: every program in a fresh process of its own, timed, its memory measured.

An idle OpenBLAS thread pool spinning in the same process slows PyTorch
several-fold, so :func:`run_worker` starts a new interpreter running this file
for each (program, workload) pair; :func:`run` rotates the programs' order
from round to round so that none always goes first.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_programs import PROGRAMS, maker, runs
from bench_workloads import BY_KEY

ROOT = Path(__file__).resolve().parent.parent

def _rss_kib():
    """(current, peak) resident set size in KiB from /proc, or (None, None)."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None, None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _reset_peak_rss():
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False where that is impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def worker(impl, key, repeats, target_s, threads, profile=False):
    """Time ``impl`` on workload ``key`` in this process; return a JSON-able dict."""
    step = maker(impl, BY_KEY[key])(BY_KEY[key], threads)
    if profile:
        return _profile(step, target_s)
    # Peak memory of the first steps, as growth of the resident set (every program).
    can_reset = _reset_peak_rss()
    rss_before, _ = _rss_kib()
    loss = step()
    for _ in range(2):
        step()
    rss_now, rss_peak = _rss_kib()
    rss_growth = (rss_peak - rss_before) / 1024 if can_reset and rss_before else None
    # Calibrate: enough steps per run for about target_s seconds.
    t0 = time.perf_counter()
    step()
    one = max(time.perf_counter() - t0, 1e-6)
    number = max(1, int(target_s / one))
    times = []
    gc_was_enabled = gc.isenabled()
    gc.disable()                      # as timeit does
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(number):
                step()
            times.append((time.perf_counter() - t0) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    # Peak of the step's NumPy allocations (tracemalloc sees NumPy's buffers, not torch's).
    traced = None
    if impl != "torch":
        import tracemalloc

        tracemalloc.start()
        step()
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return {"impl": impl, "key": key, "times": times, "number": number,
            "rss_growth_mib": rss_growth, "traced_peak_mib": traced, "loss": float(loss)}


def _profile(step, target_s):
    """cProfile over about ``target_s`` seconds of steps: top functions by own time."""
    import cProfile
    import pstats

    for _ in range(3):
        step()
    prof = cProfile.Profile()
    steps, t0 = 0, time.perf_counter()
    prof.enable()
    while time.perf_counter() - t0 < target_s or steps < 5:
        step()
        steps += 1
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = sum(v[2] for v in stats.values())
    rows = []
    for (filename, line, func), (_, ncalls, tottime, _cum, _) in stats.items():
        where = Path(filename).name if filename != "~" else ""
        name = f"{where}:{line}({func})" if where else func
        rows.append({"function": name, "calls": ncalls / steps,
                     "us_per_step": 1e6 * tottime / steps, "share": tottime / total})
    rows.sort(key=lambda r: -r["us_per_step"])
    return {"steps": steps, "total_us_per_step": 1e6 * total / steps, "rows": rows[:12]}


def _env(impl, threads):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    if impl == "torch":
        # torch computes with its own MKL/OpenMP threads (torch.set_num_threads); the NumPy
        # that torch imports must not keep a second pool of BLAS threads around.
        env["OPENBLAS_NUM_THREADS"] = "1"
    # LITNET_BENCH_PATH: time another copy of litnet (e.g. an older one, for before/after)
    first = os.environ.get("LITNET_BENCH_PATH", str(ROOT))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [first, str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_worker(impl, key, *, repeats, target_s, threads, profile=False):
    """Run :func:`worker` in a fresh interpreter and return its dict."""
    cmd = [sys.executable, str(Path(__file__).resolve()), impl, key,
           "--repeats", str(repeats), "--target", str(target_s), "--threads", str(threads)]
    if profile:
        cmd.append("--profile")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(impl, threads),
                          cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {impl} {key} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


_IMPORT_CODE = """
import json, sys, time
t0 = time.perf_counter()
import {module}
dt = time.perf_counter() - t0
print(json.dumps({{"s": dt, "matplotlib": "matplotlib" in sys.modules,
                  "torch": "torch" in sys.modules}}))
"""


def import_time(module="litnet", runs=7, bytecode_cache=True):
    """Median time of ``import module`` in fresh interpreters.

    With ``bytecode_cache`` every module's compiled code is cached in a
    temporary ``PYTHONPYCACHEPREFIX``, as after a normal install (one untimed
    import fills it). Without, the interpreter runs as this machine is set up:
    ``PYTHONDONTWRITEBYTECODE`` is set, so installed packages (NumPy) use the
    .pyc files they came with, and litnet, installed in editable mode from its
    source tree, is compiled at every import.
    """
    env = dict(os.environ)
    env.pop("PYTHONPYCACHEPREFIX", None)
    with tempfile.TemporaryDirectory() as cache:
        if bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        code = _IMPORT_CODE.format(module=module)
        results = []
        for i in range(runs + 1):
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 env=env, cwd=tempfile.gettempdir(), check=True)
            if i:                                       # the first run fills the cache
                results.append(json.loads(out.stdout))
    return {"median_ms": 1e3 * statistics.median(r["s"] for r in results),
            "matplotlib": any(r["matplotlib"] for r in results),
            "torch": any(r["torch"] for r in results)}


def run(keys, *, rounds, repeats, target_s, threads, impls=tuple(PROGRAMS), log=None):
    """Time every workload in ``keys``: ``rounds`` processes per program, ``repeats`` runs
    each; returns ``{key: {impl: {"median_ms", "runs", ...}}}`` (programs that cannot run
    a workload are left out). ``log(key, results)`` is called after each workload."""
    results = {}
    for key in keys:
        todo = [impl for impl in impls if runs(impl, BY_KEY[key])]
        per_impl = {impl: [] for impl in todo}
        for r in range(rounds):
            k = r % len(todo)
            for impl in todo[k:] + todo[:k]:       # rotate, so no program always goes first
                per_impl[impl].append(run_worker(impl, key, repeats=repeats, target_s=target_s,
                                                 threads=threads))
        results[key] = {impl: summary(outs) for impl, outs in per_impl.items()}
        if log:
            log(key, results[key])
    return results


def summary(outs):
    """One program's record for one workload from the records of its processes."""
    times = [t for o in outs for t in o["times"]]
    growth = [o["rss_growth_mib"] for o in outs if o["rss_growth_mib"] is not None]
    traced = [o["traced_peak_mib"] for o in outs if o["traced_peak_mib"] is not None]
    return {"median_ms": 1e3 * statistics.median(times), "runs": len(times),
            "min_ms": 1e3 * min(times), "max_ms": 1e3 * max(times),
            "steps_per_run": outs[0]["number"], "loss": outs[0]["loss"],
            "rss_growth_mib": max(growth) if growth else None,
            "traced_peak_mib": max(traced) if traced else None}


BUILDS = {
    "test suite: `python -m pytest` (tests, doctests, labs; coverage on)":
        ["-m", "pytest", "-q", "-p", "no:randomly"],
    "site build: `mkdocs build --strict` (labs executed)":
        ["-m", "mkdocs", "build", "--strict", "--site-dir", "{site}"],
}


def build_times():
    """Wall time of one full test-suite run and one site build, and how each ended."""
    out = {}
    with tempfile.TemporaryDirectory() as site:
        for name, cmd in BUILDS.items():
            cmd = [sys.executable] + [arg.format(site=site) for arg in cmd]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - t0
            lines = (proc.stdout.strip() or proc.stderr.strip()).splitlines()
            summary_line = lines[-1].strip("= ") if lines else ""
            if proc.returncode == 0 and not name.startswith("test suite"):
                summary_line = "passed"
            out[name] = {"seconds": seconds, "ok": proc.returncode == 0,
                         "summary": summary_line}
            print(f"{name}: {seconds:.1f} s, {summary_line}")
    return out


def main(argv=None):
    """The worker's entry point: time one program on one workload, print a JSON line."""
    ap = argparse.ArgumentParser(description="one benchmark worker (started by run_worker)")
    ap.add_argument("impl", choices=sorted(PROGRAMS))
    ap.add_argument("key", choices=sorted(BY_KEY))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--target", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    print(json.dumps(worker(args.impl, args.key, args.repeats, args.target, args.threads,
                            args.profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
