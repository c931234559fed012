r"""Griffe extension: the reStructuredText bits of litnet's docstrings as Markdown.

litnet's NumPy-style docstrings use a few Sphinx constructs; mkdocstrings renders
docstrings as Markdown, so before rendering this extension rewrites

* ``:math:`x``` to ``$x$`` and ``.. math:: ...`` blocks to ``$$ ... $$`` (then
  pymdownx.arithmatex and MathJax render them on the API pages);
* ``:class:`~litnet.Parameter``` (and ``:func:``, ``:meth:``, ``:mod:``, ``:attr:``) to a
  cross-reference when the target is a full ``litnet.`` path that imports (linked to where
  it is defined), else to code;
* simple tables (rows between ``===  ===`` rules) to Markdown tables.

Loaded by mkdocstrings (``extensions:`` in mkdocs.yml); not part of the package.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap

import griffe

_ROLE = re.compile(r":(?:py:)?(class|func|meth|mod|attr|data|obj|exc):`(~?)([^`<]+?)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_RULE = re.compile(r"^( *)(=+)( +=+)+ *$")


def _canonical(path: str) -> str | None:
    """Where ``litnet.a.b`` is defined (``litnet.module.Module.forward`` for
    ``litnet.Module.forward``), or None when it does not import."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return None
        if inspect.ismodule(obj):
            return obj.__name__
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if module and qualname and module.startswith("litnet"):
            return f"{module}.{qualname}"
        return path
    return None


def _role(match: re.Match) -> str:
    kind, tilde, target = match.groups()
    target = target.strip().rstrip("()")
    shown = target.rsplit(".", 1)[-1] if tilde else target
    if kind in ("func", "meth"):
        shown += "()"
    canonical = _canonical(target) if target.startswith("litnet.") else None
    if canonical:
        return f"[`{shown}`][{canonical}]"
    return f"`{shown}`"


def _math_blocks(text: str) -> str:
    """``.. math:: a`` (+ indented continuation or body) -> a ``$$`` block."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if not stripped.startswith(".. math::"):
            out.append(line)
            i += 1
            continue
        indent = len(line) - len(stripped)
        body = [stripped[len(".. math::"):].strip()]
        i += 1
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
        ):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():  # trailing blank lines stay outside
            body.pop()
            i -= 1
        tex = textwrap.dedent("\n".join(b for b in body if b.strip())).strip()
        pad = " " * indent
        out += ["", f"{pad}$$", *(pad + t for t in tex.split("\n")), f"{pad}$$", ""]
    return "\n".join(out)


def _tables(text: str) -> str:
    """RST simple tables (``===  ===`` rules) -> Markdown pipe tables."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _RULE.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        rule = lines[i]
        spans = [(m.start(), m.end()) for m in re.finditer(r"=+", rule)]
        rows, rules_seen, j = [], 1, i + 1
        while j < len(lines) and rules_seen < 3:
            if _RULE.match(lines[j]):
                rules_seen += 1
            elif lines[j].strip():
                row = []
                for k, (start, _) in enumerate(spans):
                    end = spans[k + 1][0] if k + 1 < len(spans) else None
                    row.append(lines[j][start:end].strip())
                rows.append(row)
            j += 1
        if rules_seen < 3 or not rows:  # not a table after all
            out.append(lines[i])
            i += 1
            continue
        pad = rule[: len(rule) - len(rule.lstrip())]
        out.append(pad + "| " + " | ".join(rows[0]) + " |")
        out.append(pad + "|" + "|".join("---" for _ in spans) + "|")
        out += [pad + "| " + " | ".join(r) + " |" for r in rows[1:]]
        i = j
    return "\n".join(out)


def to_markdown(text: str) -> str:
    r"""Rewrite the Sphinx constructs of a docstring as Markdown.

    Examples
    --------
    >>> to_markdown(r"slope :math:`\sigma'` of :class:`Module`")
    "slope $\\sigma'$ of `Module`"
    """
    text = _tables(text)
    text = _math_blocks(text)
    text = _MATH_ROLE.sub(lambda m: f"${m.group(1).strip()}$", text)
    return _ROLE.sub(_role, text)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring once it is loaded."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
