"""The ``litnet`` command: ``litnet reproduce [R1 R6 ...] [--json]``.

``reproduce`` re-runs the experiments behind the study notes' claims
(``litnet.experiments.REGISTRY``; all of them without arguments) and prints
one line per claim: its id, the note's value, litnet's value and whether the
claim holds. The reproductions run in ``--jobs`` processes (one per core by
default), which share their trained networks through a cache folder.
``--json`` prints a list of objects instead, each with ``id``
(``"R6.bn_accuracy"``), ``reproduction`` (``"R6"``), ``statement``, ``note``,
``measured``, ``value``, ``bound`` and ``passed``. While it runs, a line per
finished reproduction goes to stderr, only when stderr is a terminal.

Exit status: 0 when every claim holds, 1 when one fails, 2 for an unknown
reproduction (or a malformed command line). ``python -m litnet`` is the same
command. Results are cached like the site's (``LITNET_CACHE_DIR``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from .experiments import REGISTRY, claims_for
from .table import Table


def _ordered(keys):
    return sorted(keys, key=lambda k: int(k[1:]))


def claim_record(claim):
    """One :class:`~litnet.experiments.claim.Claim` as a plain dict (what ``--json`` prints)."""
    return {
        "id": claim.id,
        "reproduction": claim.reproduction,
        "statement": claim.statement,
        "note": claim.note,
        "measured": claim.measured,
        # the number compared with the bound; litnet's value as text if the claim has none
        "value": claim.measured if claim.value is None else _finite_or_none(claim.value),
        "bound": None if claim.bound is None else _finite_or_none(claim.bound),
        "passed": bool(claim.passed),
    }


def _finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None     # JSON has no NaN or inf


def _records(key):
    """The records of reproduction ``key`` (what one worker process computes)."""
    return [claim_record(c) for c in claims_for(key)]


@contextlib.contextmanager
def _shared_results():
    """A cache folder for the worker processes, so that they share trained networks
    (R8 and R9 reuse R6's, for one); a temporary one unless ``LITNET_CACHE_DIR`` is set."""
    if os.environ.get("LITNET_CACHE_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="litnet-reproduce-") as folder:
        os.environ["LITNET_CACHE_DIR"] = folder
        try:
            yield
        finally:
            del os.environ["LITNET_CACHE_DIR"]


def reproduce(keys=None, *, progress=None, jobs=1):
    """Run the reproductions ``keys`` (all by default) and return their claims' records.

    ``jobs`` worker processes run them side by side (1: here, one after another);
    the records come back in the order of ``keys`` either way. ``progress`` is a
    stream for one line per reproduction as it finishes (None: silent).
    """
    keys = _ordered(REGISTRY) if not keys else keys
    start, done = time.perf_counter(), {}
    if jobs == 1:
        for key in keys:
            done[key] = _records(key)
            _report(progress, key, done, len(keys), start)
        return [r for key in keys for r in done[key]]
    with _shared_results(), ProcessPoolExecutor(min(jobs, len(keys))) as pool:
        running = {pool.submit(_records, key): key for key in keys}
        for future in as_completed(running):
            done[running[future]] = future.result()
            _report(progress, running[future], done, len(keys), start)
    return [r for key in keys for r in done[key]]


def _report(progress, key, done, total, start):
    if progress is None:
        return
    failed = sum(not r["passed"] for r in done[key])
    progress.write(f"[{len(done)}/{total}] {key} ({REGISTRY[key].rsplit('.', 1)[-1]}): "
                   f"{len(done[key])} claims, {failed} failed, "
                   f"{time.perf_counter() - start:.1f} s\n")
    progress.flush()


def table(records):
    """The records as a :class:`~litnet.table.Table`: claim, note, litnet, holds."""
    return Table([{"claim": r["id"], "note": r["note"], "litnet": r["measured"],
                   "holds": "yes" if r["passed"] else "NO"} for r in records])


def _parser():
    parser = argparse.ArgumentParser(prog="litnet", description="litnet's command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("reproduce", help="re-run the reproductions of the notes' claims",
                              description="Re-run the experiments behind the claims and "
                              "check each one. Exit status 1 if a claim fails.")
    run.add_argument("keys", nargs="*", metavar="R",
                     help=f"reproductions to run ({', '.join(_ordered(REGISTRY))}); "
                     "default: all")
    run.add_argument("--json", action="store_true", help="print a JSON list of the claims")
    run.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                     help="worker processes (default: one per core)")
    return parser


def _one_blas_thread(argv):
    """Restart once with one BLAS thread unless the caller chose a number.

    The experiments multiply small matrices; on a busy two-core machine BLAS
    threads make them many times slower (the site build and the tests run
    with one thread too). NumPy is already loaded here, so the setting needs
    a fresh process.
    """
    if "OPENBLAS_NUM_THREADS" in os.environ:
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    os.execv(sys.executable, [sys.executable, "-m", "litnet", *argv])


def main(argv=None):
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    keys = [k.upper() for k in args.keys]
    unknown = [k for k in keys if k not in REGISTRY]
    if unknown:
        print(f"litnet reproduce: unknown reproduction {', '.join(map(repr, unknown))}; "
              f"known: {' '.join(_ordered(REGISTRY))}", file=sys.stderr)
        return 2
    _one_blas_thread(argv)
    progress = sys.stderr if sys.stderr.isatty() else None
    records = reproduce(list(dict.fromkeys(keys)), progress=progress,
                        jobs=max(1, args.jobs))
    if args.json:
        print(json.dumps(records, indent=2, allow_nan=False))
    else:
        print(table(records).to_text(left=("claim", "note", "litnet")))
        failed = [r["id"] for r in records if not r["passed"]]
        print(f"\n{len(records) - len(failed)} of {len(records)} claims hold"
              + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if any(not r["passed"] for r in records) else 0
