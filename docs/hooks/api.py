"""MkDocs hook: list every experiment module on the API page of ``litnet.experiments``.

Experiments are added one module per reproduction; the marker ``<!-- api:experiments -->``
in docs/api/experiments.md becomes one ``::: litnet.experiments.<name>`` block per
module, so the reference never lags behind the package.
"""

from __future__ import annotations

import pkgutil

MARKER = "<!-- api:experiments -->"


def on_page_markdown(markdown, page, config, files):
    if MARKER not in markdown:
        return markdown
    import litnet.experiments as pkg

    names = sorted(
        m.name for m in pkgutil.iter_modules(pkg.__path__)
        if not m.name.startswith("_")
    )
    blocks = "\n\n".join(f"::: litnet.experiments.{name}" for name in names)
    return markdown.replace(MARKER, blocks)
