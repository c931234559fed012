"""MkDocs hook for the lab notebooks rendered by mkdocs-jupyter.

* Removes the MathJax-2 loader that nbconvert writes into every notebook page. The
  site loads its own MathJax 3 (docs/assets/js/mathjax.js); the MathJax-2 script would
  request an empty URL and, when instant navigation re-runs it, call the absent
  ``MathJax.Hub``.
* Adds download buttons to each notebook page (``.ipynb`` and the jupytext ``.py``) and
  writes the ``.ipynb`` next to the page (mkdocs-jupyter's ``include_source`` copies
  only the ``.py``). The ``.ipynb`` carries no outputs: running it reproduces them.
* Gives every figure of a lab its alt text: a code cell says what its figures show in
  comment lines ``# alt: …``, one per figure, in order. A figure without one fails the
  build (nbconvert would write "No description has been provided for this image").
* Moves the labs to the front of the build order. MkDocs renders pages in file order
  (api/ and chapters/ first); each lab runs in its own kernel process, so starting them
  first lets them run while this process computes the reproductions
  (docs/hooks/reproductions.py) instead of after it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import jupytext
from bs4 import BeautifulSoup
from mkdocs.structure.files import Files

_MATHJAX2 = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)

# Material's "download" and "code" icons (material design icons, Apache-2.0).
_ICON_DOWNLOAD = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
    '<path d="M5 20h14v-2H5m14-9h-4V3H9v6H5l7 7 7-7Z"/></svg>'
)
_ICON_CODE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
    '<path d="M14.6 16.6 19.2 12l-4.6-4.6L16 6l6 6-6 6-1.4-1.4m-5.2 0L4.8 12l4.6-4.6L8 6l-6 '
    '6 6 6 1.4-1.4Z"/></svg>'
)


def _is_lab(file) -> bool:
    return file.src_uri.startswith("labs/") and file.src_uri.endswith(".py")


def _is_notebook(page) -> bool:
    return _is_lab(page.file)


_ALT = re.compile(r"^#\s*alt:\s*(.+)$", re.M)


def alt_texts(source_path):
    """For each code cell of a jupytext notebook, the ``# alt:`` texts it declares."""
    nb = jupytext.read(source_path)
    return [_ALT.findall(cell.source) for cell in nb.cells if cell.cell_type == "code"]


def add_alt_text(html, alts, where):
    """Set each figure's alt text from its cell's ``# alt:`` lines (one per figure)."""
    soup = BeautifulSoup(html, "html.parser")
    cells = soup.select("div.jp-Cell.jp-CodeCell[id]")   # the template wraps each cell twice
    if len(cells) != len(alts):
        raise ValueError(f"{where}: {len(cells)} code cells on the page, {len(alts)} in the source")
    for number, (cell, texts) in enumerate(zip(cells, alts, strict=True), start=1):
        images = cell.select(".jp-OutputArea img")
        if len(images) != len(texts):
            raise ValueError(f"{where}: code cell {number} draws {len(images)} figure(s) "
                             f"but declares {len(texts)} '# alt:' line(s)")
        for img, text in zip(images, texts, strict=True):
            img["alt"] = text.strip()
    return str(soup)


def on_files(files, config):
    return Files(sorted(files, key=lambda f: not _is_lab(f)))   # stable: labs first


def on_page_content(html, page, config, files):
    if not _is_notebook(page):
        return html
    html, found = _MATHJAX2.subn("", html)
    if found != 1:
        raise ValueError(
            f"{page.file.src_uri}: expected nbconvert's MathJax block once, found {found}; "
            "update docs/hooks/notebooks.py for the new nbconvert template"
        )
    html = add_alt_text(html, alt_texts(page.file.abs_src_path), page.file.src_uri)
    stem = posixpath.splitext(posixpath.basename(page.file.src_uri))[0]
    buttons = (
        f'<a href="{stem}.ipynb" download class="md-content__button md-icon" '
        f'title="Download the notebook ({stem}.ipynb)">{_ICON_DOWNLOAD}</a>'
        f'<a href="{stem}.py" download class="md-content__button md-icon" '
        f'title="Download the jupytext source ({stem}.py)">{_ICON_CODE}</a>'
    )
    return buttons + html


def on_post_page(output, page, config):
    if _is_notebook(page):
        nb = jupytext.read(page.file.abs_src_path)
        nb.metadata["kernelspec"] = {
            "display_name": "Python 3",
            "language": "python",
            "name": "python3",
        }
        # The page URL is .../labs/chN_lab/, so the download sits in that folder.
        target = Path(page.file.abs_dest_path).parent / (Path(page.file.src_uri).stem + ".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(nb, str(target), fmt="ipynb")
    return output
