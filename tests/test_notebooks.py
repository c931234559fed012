"""Every lab notebook runs as a plain script, in this process.

Running them with runpy (not in a kernel) counts their lines for coverage and shares
litnet's experiment caches with the other tests. The kernel path that mkdocs-jupyter
takes is exercised once by the site build in tests/test_site.py.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

LABS = sorted((Path(__file__).resolve().parents[1] / "docs" / "labs").glob("*.py"))


def test_there_is_a_lab_per_chapter():
    assert [p.name for p in LABS] == [f"ch{k}_lab.py" for k in range(1, 5)]


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_lab_is_a_percent_notebook_with_a_title(path):
    import jupytext

    nb = jupytext.read(path)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), (
        "the first cell is the lab's H1 title (it becomes the page title)")
    source = path.read_text(encoding="utf-8")
    assert "matplotlib.use(" not in source, (
        "setting a backend in a notebook drops its figures from the site")


@pytest.mark.filterwarnings("ignore:FigureCanvasAgg is non-interactive")
@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_lab_runs_as_a_script(path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    monkeypatch.chdir(path.parent)
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
