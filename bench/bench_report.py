"""The report: the generated part of docs/performance.md, from the harness's results."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

from bench_programs import PROGRAMS
from bench_workloads import BY_KEY


def machine_info(threads):
    import numpy

    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    import litnet

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = "?"
    try:
        cfg = numpy.show_config(mode="dicts")
        info = cfg["Build Dependencies"]["blas"]
        blas = f"{info['name']} {info['version']}"
    except Exception:   # noqa: BLE001 - informative only
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "cpu_count": os.cpu_count(), "threads": threads,
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg")
        else "?",
        "python": platform.python_version(), "numpy": numpy.__version__, "blas": blas,
        "torch": torch_version, "litnet": litnet.__version__,
        "os": f"{platform.system()} {platform.release()}",
    }


def ratios(res):
    """litnet's median time over each other program's: ``{name: ratio}``."""
    lit = res["litnet"]["median_ms"]
    return {name: lit / rec["median_ms"] for name, rec in res.items() if name != "litnet"}


def verdict(w, res):
    """"✓" / "✗" per target of the workload, e.g. "≤ 0.8× PyTorch ✓, ≤ 1.4× best NumPy ✗"."""
    r = ratios(res)
    return ", ".join(f"≤ {limit:g}× {PROGRAMS[name].label} {'✓' if r[name] <= limit else '✗'}"
                     for name, limit in w.targets.items() if name in r)


def format_row(key, res):
    """One line of the console log for workload ``key``."""
    times = "  ".join(f"{name} {rec['median_ms']:8.3f} ms" for name, rec in res.items())
    rel = "  ".join(f"litnet/{name} {v:5.2f}" for name, v in ratios(res).items())
    return f"{key:22s} {times}  {rel}  {verdict(BY_KEY[key], res)}"


def _cell(res, name, fmt="{:.3f}"):
    return fmt.format(res[name]["median_ms"]) if name in res else "–"


def _mib(v):
    return "–" if v is None else f"{v:.1f}"


def step_table(results):
    """The step times, and litnet's time over each other program's."""
    others = [name for name in PROGRAMS if name != "litnet"]
    head = ["workload"] + [f"{p.label} (ms)" for p in PROGRAMS.values()] \
        + [f"litnet / {PROGRAMS[name].label}" for name in others] + ["target"]
    lines = ["| " + " | ".join(head) + " |",
             "|---|" + "---:|" * (len(PROGRAMS) + len(others)) + "---|"]
    for key, res in results.items():
        r = ratios(res)
        cells = [_cell(res, name) for name in PROGRAMS]
        cells += [f"{r[name]:.2f}" if name in r else "–" for name in others]
        lines.append(f"| {BY_KEY[key].label} | " + " | ".join(cells)
                     + f" | {verdict(BY_KEY[key], res) or '–'} |")
    return lines


def memory_table(results):
    lines = ["| workload | litnet traced peak (MiB) | best NumPy traced peak (MiB) "
             "| litnet RSS growth (MiB) | PyTorch RSS growth (MiB) |",
             "|---|---:|---:|---:|---:|"]
    for key, res in results.items():
        get = {name: res.get(name, {}) for name in PROGRAMS}
        lines.append(f"| {BY_KEY[key].label} | {_mib(get['litnet'].get('traced_peak_mib'))} | "
                     f"{_mib(get['numpy'].get('traced_peak_mib'))} | "
                     f"{_mib(get['litnet'].get('rss_growth_mib'))} | "
                     f"{_mib(get['torch'].get('rss_growth_mib'))} |")
    return lines


def import_table(imports):
    lines = ["| module | with bytecode cache (ms) | as set up here (ms) | imports matplotlib "
             "| imports torch |", "|---|---:|---:|---|---|"]
    for module, rec in imports.items():
        lines.append(f"| `{module}` | {rec['cached']['median_ms']:.0f} | "
                     f"{rec['uncached']['median_ms']:.0f} | "
                     f"{'yes' if rec['cached']['matplotlib'] else 'no'} | "
                     f"{'yes' if rec['cached']['torch'] else 'no'} |")
    return lines


def build_table(builds):
    lines = ["| command | seconds | result |", "|---|---:|---|"]
    for name, rec in builds.items():
        lines.append(f"| {name} | {rec['seconds']:.1f} | {rec['summary']} |")
    return lines


def profile_tables(profiles):
    lines = []
    for key, prof in profiles.items():
        lines += [f"**{BY_KEY[key].label}**: {prof['total_us_per_step']:.0f} µs per step "
                  "under the profiler.", "",
                  "| function | calls per step | µs per step | share |",
                  "|---|---:|---:|---:|"]
        lines += [f"| `{row['function']}` | {row['calls']:.0f} | {row['us_per_step']:.0f} | "
                  f"{100 * row['share']:.0f}% |" for row in prof["rows"]]
        lines.append("")
    return lines


def generated(results, meta, imports, builds=None, profiles=None, settings=None):
    """The generated block of the Performance page (Markdown lines)."""
    s = settings or {}
    lines = [f"Measured on {meta['date']} on {meta['cpu']} ({meta['cpu_count']} CPUs, "
             f"{meta['threads']} threads for every program; load average at the start "
             f"{meta['load']}), {meta['os']}, Python {meta['python']}, NumPy {meta['numpy']} "
             f"({meta['blas']}), PyTorch {meta['torch']}, litnet {meta['litnet']}; "
             f"{s.get('rounds', '?')} processes per program, {s.get('repeats', '?')} timed "
             f"runs per process of about {s.get('target', '?')} s each.", "",
             "### Step time", ""] + step_table(results)
    lines += ["", "### Memory of one step", ""] + memory_table(results)
    lines += ["", "### Import time", ""] + import_table(imports)
    if builds:
        lines += ["", "### Test suite and site build", ""] + build_table(builds)
    if profiles:
        lines += ["", "### Profile of litnet's step", ""] + profile_tables(profiles)
    return [line for line in lines]


BEGIN = "<!-- BEGIN generated by `python bench/bench_step.py --write-docs`; do not edit -->"
END = "<!-- END generated -->"


def splice(page, block):
    """``page`` with the text between :data:`BEGIN` and :data:`END` replaced by ``block``."""
    if BEGIN not in page or END not in page:
        raise ValueError(f"the page has no generated block ({BEGIN!r} ... {END!r})")
    before, rest = page.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    return before + BEGIN + "\n\n" + "\n".join(block).rstrip() + "\n\n" + END + after
