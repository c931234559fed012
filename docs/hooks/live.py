r"""MkDocs hook: live numbers, quotations and figures in the pages' Markdown.

Three forms, each written between double braces in a page's Markdown:

``{{ EXPR }}``, ``{{ EXPR | SPEC }}``
    A number litnet computes. ``EXPR`` is a Python expression evaluated when the page
    is built, with ``litnet`` (also ``ln``), ``np``, every module of
    ``litnet.experiments`` by its short name and :func:`claim` in scope; ``SPEC`` is
    a format spec (``.3f``, ``.0%``); one ending in ``e`` prints ``4.4 × 10⁻⁷``. The
    value sits in ``<span class="live" data-litnet="…">`` naming what produced it.
``{{ quote("94.4 %", "note 001") }}``
    A number quoted from a note, the book or a paper: ``<span class="quoted"
    data-source="note 001">``.
``{{ figure(EXPR, alt="…", caption="…") }}``
    ``EXPR`` gives a Matplotlib figure, embedded as an SVG data URI inside
    ``<figure class="litnet-figure">`` with its alt text and caption: the figure is
    drawn from litnet at every build and no image file exists.

Any error (a name that does not exist, a figure without alt text) fails the build.
"""

from __future__ import annotations

import base64
import html
import importlib
import pkgutil
import re
from dataclasses import dataclass
from html.parser import HTMLParser

_BRACES = re.compile(r"\{\{(.+?)\}\}", re.S)
_FENCE = re.compile(r"^([ \t]*)(```|~~~).*?^\1\2[ \t]*$", re.S | re.M)
_SUPERSCRIPT = str.maketrans("-0123456789", "−0123456789")


@dataclass(frozen=True)
class Quote:
    text: str
    source: str


@dataclass(frozen=True)
class Figure:
    fig: object
    alt: str
    caption: str


def quote(text, source):
    """A quoted number: shown as written, marked with where it comes from."""
    return Quote(str(text), str(source))


def figure(fig, *, alt, caption):
    """A figure drawn now; ``alt`` says what it shows, ``caption`` what to read from it."""
    if len(alt.split()) < 5:
        raise ValueError(f"figure alt text must describe the figure, got {alt!r}")
    return Figure(fig, alt, caption)


def claim(claim_id):
    """The claim with this id, e.g. ``claim("R6.sigmoid_bn")``, as the tests assert it."""
    from litnet.experiments import claims_for

    key = claim_id.split(".", 1)[0]
    for c in claims_for(key):
        if c.id == claim_id:
            return c
    raise KeyError(f"no claim {claim_id!r} among {key}'s claims")


def _namespace():
    import numpy as np

    import litnet
    import litnet.experiments as experiments

    names = {"litnet": litnet, "ln": litnet, "np": np, "claim": claim, "quote": quote,
             "figure": figure}
    for info in pkgutil.iter_modules(experiments.__path__):
        if not info.name.startswith("_") and info.name not in names:   # claim(): the function
            names[info.name] = importlib.import_module(f"litnet.experiments.{info.name}")
    return names


def _dotted(expr, namespace):
    """``vanishing.DEPTHS[1]`` -> ``litnet.experiments.vanishing.DEPTHS[1]``."""
    def expand(m):
        obj = namespace.get(m.group(1))
        name = getattr(obj, "__name__", None)
        return name if isinstance(name, str) and name.startswith("litnet") else m.group(1)
    return re.sub(r"(?<![\w.\"'])([A-Za-z_]\w*)(?=\.)", expand, expr)


def format_number(value, spec):
    """``value`` formatted by ``spec``; an ``e`` spec prints ``m × 10<sup>k</sup>``.

    >>> format_number(4.4e-7, ".1e"), format_number(0.235, ".3f"), format_number(0.43, ".0%")
    ('4.4 × 10<sup>−7</sup>', '0.235', '43%')
    """
    if not spec:
        return html.escape(str(value))
    if spec.endswith("e"):
        mantissa, exponent = format(value, spec).split("e")
        power = f"10<sup>{int(exponent)}</sup>".translate(_SUPERSCRIPT)
        return power if mantissa in ("1", "1.0") else f"{mantissa} × {power}"
    return html.escape(format(value, spec))


def _figure_html(item, source):
    from litnet.experiments.plotting import to_svg

    data = base64.b64encode(to_svg(item.fig)).decode()
    return (f'<figure class="litnet-figure" data-litnet="{html.escape(source)}">'
            f'<img alt="{html.escape(item.alt)}" src="data:image/svg+xml;base64,{data}">'
            f"<figcaption>{item.caption}</figcaption></figure>")


def render(body, namespace, where):
    """The HTML for one ``{{ … }}``."""
    expr, _, spec = body.rpartition("|") if "|" in body else (body, "", "")
    expr, spec = expr.strip(), spec.strip()
    try:
        value = eval(expr, dict(namespace))      # the pages are ours, like the package
    except Exception as exc:
        raise ValueError(f"{where}: {{{{ {body.strip()} }}}} failed: {exc!r}") from exc
    source = _dotted(expr, namespace)
    if isinstance(value, Quote):
        return (f'<span class="quoted" data-source="{html.escape(value.source)}" '
                f'title="Quoted from {html.escape(value.source)}">{html.escape(value.text)}</span>')
    if isinstance(value, Figure):
        return "\n\n" + _figure_html(value, source) + "\n\n"
    return (f'<span class="live" data-litnet="{html.escape(source)}" '
            f'title="Computed by litnet at build: {html.escape(source)}">'
            f"{format_number(value, spec)}</span>")


def substitute(markdown, namespace, where="page"):
    """Replace every ``{{ … }}`` outside fenced code blocks."""
    pieces, last = [], 0
    for fence in _FENCE.finditer(markdown):
        pieces.append(_BRACES.sub(lambda m: render(m.group(1), namespace, where),
                                  markdown[last:fence.start()]))
        pieces.append(fence.group(0))
        last = fence.end()
    pieces.append(_BRACES.sub(lambda m: render(m.group(1), namespace, where), markdown[last:]))
    return "".join(pieces)


def on_page_markdown(markdown, page, config, files):
    if "{{" not in markdown:
        return markdown
    return substitute(markdown, _namespace(), page.file.src_uri)


# -- the rule the tests enforce: no unmarked measured-looking number in a chapter -------
_NUMBER = re.compile(
    r"\d+(?:\.\d+)?\s?%"                       # 43 %, 43%, 94.4 %
    r"|\b\d+(?:\.\d+)?[eE][-+−]?\d+\b"         # 1e-6, 4.4e-07
    r"|\b10\^|10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+"                # 10^-6, 10⁻⁶
    r"|\b\d+\.\d+\b"                           # 0.25
)
_SKIP_TAGS = {"pre", "code", "script", "style", "figure", "svg", "kbd"}
_SKIP_CLASSES = {"live", "quoted", "arithmatex", "headerlink", "MathJax", "md-source"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
         "source", "track", "wbr"}


class _Prose(HTMLParser):
    """The text of an article outside code, math, figures and marked spans."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.skipping, self.in_article, self.text = [], 0, 0, []

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        skip = tag in _SKIP_TAGS or bool(classes & _SKIP_CLASSES)
        article = tag == "article"
        self.stack.append((tag, skip, article))
        self.skipping += skip
        self.in_article += article
        if tag == "sup" and self.text and self.text[-1].rstrip().endswith("10"):
            self.text.append("^")          # 10<sup>-6</sup> reads as 10^-6

    def handle_endtag(self, tag):
        while self.stack:
            name, skip, article = self.stack.pop()
            self.skipping -= skip
            self.in_article -= article
            if name == tag:
                break

    def handle_data(self, data):
        if self.in_article and not self.skipping:
            self.text.append(data)


def unmarked_numbers(page_html):
    """Decimals, percentages and powers of ten in the article's prose that no
    ``data-litnet`` or ``data-source`` span marks.

    >>> unmarked_numbers('<article><p>about 43 % and <span class="live">0.25</span>'
    ...                  '<code>0.5</code> 10<sup>-6</sup> and 3 layers</p></article>')
    ['43 %', '10^']
    """
    parser = _Prose()
    parser.feed(page_html)
    return [m.group(0) for m in _NUMBER.finditer("".join(parser.text))]
