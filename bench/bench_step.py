"""Time one training step of litnet against the best NumPy step, PyTorch and the floor.

Usage (from the repository root)::

    python bench/bench_step.py                          # full run, prints the tables
    python bench/bench_step.py --write-docs --rounds 5  # the same, and updates the
                                                        # generated block of docs/performance.md
    python bench/bench_step.py --quick                  # smoke run: two workloads, short runs

What is timed and why is written on the Performance page (docs/performance.md);
this script only fills the page's generated block. The pieces:
``bench_workloads.py`` (the networks and batches), ``bench_programs.py`` (the
programs and their registry; ``best_numpy.py`` is one of them),
``bench_harness.py`` (one fresh process per program and workload, timing,
memory, profiles) and ``bench_report.py`` (the Markdown).

This is a benchmark, not a test: nothing here asserts a time.
tests/test_bench.py runs the quick code path so that the script cannot rot.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bench_harness import build_times, import_time, run, run_worker
from bench_report import format_row, generated, machine_info, splice
from bench_workloads import BY_KEY, QUICK, WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
DOCS_PAGE = ROOT / "docs" / "performance.md"
PROFILED = ("mlp-b100-f32", "mlp-b1000-f32")


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: two workloads, one process, one short run each")
    ap.add_argument("--write-docs", action="store_true",
                    help=f"update the generated block of {DOCS_PAGE.relative_to(ROOT)} (also "
                    "times the test suite and the site build, and profiles litnet's step)")
    ap.add_argument("--no-builds", action="store_true",
                    help="with --write-docs: do not time the test suite and the site build")
    ap.add_argument("--only", nargs="+", choices=sorted(BY_KEY), help="these workloads only")
    ap.add_argument("--rounds", type=int, default=3, help="processes per program (default 3)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per process (default 5)")
    ap.add_argument("--target", type=float, default=0.2,
                    help="seconds per timed run (default 0.2)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="threads for every program (default: all CPUs)")
    ap.add_argument("--json", type=Path, help="also write the raw results to this file")
    ap.add_argument("--from-json", type=Path, metavar="JSON",
                    help="measure nothing: render the block from a file written by --json")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.repeats, args.target = 1, 1, 0.02
    return args


def measure(args):
    """Everything the page shows, as one JSON-able dict."""
    settings = {k: getattr(args, k) for k in ("rounds", "repeats", "target", "threads")}
    meta = machine_info(args.threads)          # the load average before this run adds to it
    keys = args.only or (list(QUICK) if args.quick else [w.key for w in WORKLOADS])
    results = run(keys, rounds=args.rounds, repeats=args.repeats, target_s=args.target,
                  threads=args.threads, log=lambda key, res: print(format_row(key, res)))
    runs, modules = (1, ("litnet",)) if args.quick else (7, ("numpy", "litnet"))
    imports = {m: {"cached": import_time(m, runs, True),
                   "uncached": import_time(m, runs, False)} for m in modules}
    profiles = builds = None
    if args.write_docs:
        profiles = {key: run_worker("litnet", key, repeats=1, target_s=2.0,
                                    threads=args.threads, profile=True)
                    for key in PROFILED if key in results}
        if not args.no_builds:
            builds = build_times()
    return {"meta": meta, "settings": settings, "results": results, "imports": imports,
            "builds": builds, "profiles": profiles}


def main(argv=None):
    args = parse(argv)
    raw = json.loads(args.from_json.read_text()) if args.from_json else measure(args)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))
    block = generated(raw["results"], raw["meta"], raw["imports"], raw["builds"],
                      raw["profiles"], raw["settings"])
    print("\n".join(block))
    if args.write_docs:
        DOCS_PAGE.write_text(splice(DOCS_PAGE.read_text(encoding="utf-8"), block),
                             encoding="utf-8")
        print(f"wrote {DOCS_PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
