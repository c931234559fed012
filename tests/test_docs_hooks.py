"""The MkDocs hooks and the griffe extension under docs/hooks/, tested directly."""

from __future__ import annotations

import doctest
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from litnet.experiments import Claim

HOOKS = Path(__file__).resolve().parents[1] / "docs" / "hooks"


def load(name):
    spec = importlib.util.spec_from_file_location(f"docs_hooks_{name}", HOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def page(src_uri):
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))


# -- griffe_rst ---------------------------------------------------------------------
rst = load("griffe_rst")


def test_griffe_rst_doctests():
    assert doctest.testmod(rst).failed == 0


def test_math_role_and_block():
    text = "Slope :math:`\\sigma'`.\n\n.. math::\n    a = b \\\\\n    c = d\n\nAfter."
    out = rst.to_markdown(text)
    assert "$\\sigma'$" in out
    assert "\n$$\na = b \\\\\nc = d\n$$\n" in out
    assert out.endswith("After.")


def test_one_line_math_block_keeps_indent():
    out = rst.to_markdown("    .. math:: x^2\n\n    next")
    assert "    $$\n    x^2\n    $$" in out and out.rstrip().endswith("next")


def test_roles_link_only_to_importable_litnet_names():
    out = rst.to_markdown(":class:`~litnet.Linear` :func:`litnet.nope` :meth:`forward`")
    assert "[`Linear`][litnet.linear.Linear]" in out
    assert "`litnet.nope()`" in out and "[`litnet.nope" not in out
    assert "`forward()`" in out


def test_simple_table():
    text = "====  =====\na     b\n====  =====\n1     two\n3     four\n====  ====="
    assert rst.to_markdown(text).splitlines() == [
        "| a | b |", "|---|---|", "| 1 | two |", "| 3 | four |",
    ]


# -- reproductions --------------------------------------------------------------------
repro = load("reproductions")


def test_reproductions_table_pending_and_summary(monkeypatch):
    import litnet.experiments as ex

    claims = [Claim("R1.a", "a | b", "1", "1", True), Claim("R1.b", "c", "2", "3", False)]
    monkeypatch.setattr(ex, "REGISTRY", {"R1": "fake"})
    monkeypatch.setattr(ex, "claims_for", lambda key: claims)
    md = "<!-- claims:summary -->\n\n<!-- claims:R1 -->\n\n<!-- claims:R2 -->\n"
    out = repro.on_page_markdown(md, page("reproductions.md"), None, None)
    assert "<!-- claims:" not in out
    assert "**1 of 2 claims hold**" in out and "Pending: R2." in out
    assert 'class="claim-id">R1.a</code>' in out and "a \\| b" in out
    assert "✗" in out and "✓" in out
    assert '!!! warning "Pending"' in out


def test_reproductions_refuses_a_registered_key_without_marker(monkeypatch):
    import litnet.experiments as ex

    monkeypatch.setattr(ex, "REGISTRY", {"R1": "fake", "R2": "fake"})
    monkeypatch.setattr(ex, "claims_for", lambda key: [])
    with pytest.raises(ValueError, match="R2"):
        repro.on_page_markdown("<!-- claims:R1 -->", page("reproductions.md"), None, None)


def test_reproductions_refuses_a_misfiled_claim(monkeypatch):
    import litnet.experiments as ex

    monkeypatch.setattr(ex, "REGISTRY", {"R1": "fake"})
    monkeypatch.setattr(ex, "claims_for", lambda key: [Claim("R2.x", "t", "1", "1", True)])
    with pytest.raises(ValueError, match="R2.x"):
        repro.on_page_markdown("<!-- claims:R1 -->", page("reproductions.md"), None, None)


def test_reproductions_leaves_other_pages_alone():
    md = "<!-- claims:R1 -->"
    assert repro.on_page_markdown(md, page("index.md"), None, None) == md


# -- notebooks ---------------------------------------------------------------------
nbhook = load("notebooks")


_CELL = ('<div class="jp-Cell jp-CodeCell" id="cell-id=1"><div class="jp-OutputArea">'
         '<img src="data:image/png;base64,AA=="></div></div>')


def _lab(tmp_path, source):
    path = tmp_path / "ch1_lab.py"
    path.write_text(source, encoding="utf-8")
    return SimpleNamespace(file=SimpleNamespace(src_uri="labs/ch1_lab.py",
                                                abs_src_path=str(path)))


def test_notebook_hook_strips_mathjax2_and_adds_downloads(tmp_path):
    html = ("<p>a</p><!-- Load mathjax -->\n<script src=''></script>"
            "<script>MathJax.Hub.Config({})</script>\n"
            "<!-- End of mathjax configuration --><p>b</p>" + _CELL)
    lab = _lab(tmp_path, "# %%\n# alt: A line chart of the loss falling over ten epochs.\nx = 1\n")
    out = nbhook.on_page_content(html, lab, None, None)
    assert "MathJax" not in out and "<p>a</p><p>b</p>" in out
    assert 'href="ch1_lab.ipynb"' in out and 'href="ch1_lab.py"' in out
    assert 'alt="A line chart of the loss falling over ten epochs."' in out


def test_notebook_hook_fails_on_a_figure_without_alt_text(tmp_path):
    html = "<!-- Load mathjax --><!-- End of mathjax configuration -->" + _CELL
    with pytest.raises(ValueError, match="declares 0 '# alt:'"):
        nbhook.on_page_content(html, _lab(tmp_path, "# %%\nx = 1\n"), None, None)


def test_notebook_hook_fails_loudly_when_nbconvert_changes():
    with pytest.raises(ValueError, match="MathJax"):
        nbhook.on_page_content("<p>no block</p>", page("labs/ch1_lab.py"), None, None)
    assert nbhook.on_page_content("<p>x</p>", page("index.md"), None, None) == "<p>x</p>"


# -- api ---------------------------------------------------------------------------
def test_api_hook_lists_every_experiment_module():
    api = load("api")
    out = api.on_page_markdown(f"x\n\n{api.MARKER}\n", page("api/experiments.md"), None, None)
    assert "::: litnet.experiments.residual_example" in out
    assert "::: litnet.experiments.claim" in out and "::: litnet.experiments.common" in out


# -- live ---------------------------------------------------------------------------
live = load("live")


def test_live_number_is_computed_and_marked():
    out = live.substitute("x {{ vanishing.DEPTHS[1] }} y {{ 0.2351 | .2f }}", live._namespace())
    assert 'data-litnet="litnet.experiments.vanishing.DEPTHS[1]"' in out
    assert ">40</span> y " in out and ">0.24</span>" in out


def test_quote_is_marked_with_its_source():
    out = live.substitute('{{ quote("94.4 %", "note 001") }}', live._namespace())
    assert out == ('<span class="quoted" data-source="note 001" '
                   'title="Quoted from note 001">94.4 %</span>')


def test_braces_in_fenced_code_are_left_alone():
    text = "```python\nd = {{1: 2}}\n```\n"
    assert live.substitute(text, live._namespace()) == text


def test_figure_is_embedded_with_alt_text_and_caption():
    ns = live._namespace()
    out = live.substitute('{{ figure(plotting.figure()[0], alt="An empty set of axes for '
                          'the test", caption="Empty.") }}', ns)
    assert 'src="data:image/svg+xml;base64,' in out and "<figcaption>Empty.</figcaption>" in out
    with pytest.raises(ValueError, match="alt text"):
        live.substitute('{{ figure(plotting.figure()[0], alt="axes", caption="") }}', ns)


def test_a_failing_expression_fails_the_build():
    with pytest.raises(ValueError, match="no_such_name"):
        live.substitute("{{ no_such_name }}", live._namespace(), "ch0.md")


def test_claim_is_looked_up_by_id():
    assert live.claim("R1.loss_plain").id == "R1.loss_plain"
    with pytest.raises(KeyError):
        live.claim("R1.nothing")


def test_unmarked_numbers_skip_code_math_and_marks():
    page = ('<article><p>43 % and <span class="arithmatex">0.25</span> <code>1e-6</code> '
            '<span class="quoted" data-source="note 001">11 %</span> 2.5 and 1e-3</p></article>'
            '<p>9.9 % outside the article</p>')
    assert live.unmarked_numbers(page) == ["43 %", "2.5", "1e-3"]
