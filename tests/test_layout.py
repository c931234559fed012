"""The layout rules the code is held to, checked on its syntax tree.

* no function body (docstring excluded) longer than ``MAX_BODY`` lines in litnet/ and bench/;
* no module of litnet importing a private (``_name``) name from another, public module
  (shared private helpers live in private modules such as ``litnet/_checks.py``);
* no import cycle between litnet's modules (module-level imports);
* no file in bench/ longer than ``MAX_BENCH_FILE`` lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_BODY = 60
MAX_BENCH_FILE = 400

PACKAGE = sorted((ROOT / "litnet").rglob("*.py"))
BENCH = sorted((ROOT / "bench").rglob("*.py"))


def rel(path):
    return path.relative_to(ROOT).as_posix()


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def tree(path, source=None):
    text = path.read_text(encoding="utf-8") if source is None else source
    return ast.parse(text, filename=str(path))


def body_lines(fn):
    """Lines from the first statement after the docstring to the end of the function."""
    body = fn.body
    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        body = body[1:]
    return 0 if not body else fn.end_lineno - body[0].lineno + 1


def long_functions(path, source=None):
    return [f"{rel(path)}:{node.lineno} {node.name}() has {body_lines(node)} lines"
            for node in ast.walk(tree(path, source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and body_lines(node) > MAX_BODY]


def imported_modules(path, node):
    """The absolute module a ``from ... import`` statement in ``path`` reads from."""
    if node.level == 0:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def is_private_module(module):
    return any(part.startswith("_") and part != "__init__" for part in module.split("."))


def private_imports(path, source=None):
    found = []
    for node in ast.walk(tree(path, source)):
        if isinstance(node, ast.ImportFrom):
            source = imported_modules(path, node)
            if not source.startswith("litnet") or is_private_module(source):
                continue
            found += [f"{rel(path)}:{node.lineno} imports {alias.name} from {source}"
                      for alias in node.names
                      if alias.name.startswith("_") and not alias.name.startswith("__")]
    return found


@pytest.mark.parametrize("path", PACKAGE + BENCH, ids=rel)
def test_no_function_body_over_the_limit(path):
    assert long_functions(path) == []


@pytest.mark.parametrize("path", PACKAGE, ids=rel)
def test_no_private_name_from_another_public_module(path):
    assert private_imports(path) == []


@pytest.mark.parametrize("path", BENCH, ids=rel)
def test_no_bench_file_over_the_limit(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_BENCH_FILE, f"{rel(path)} has {lines} lines (at most {MAX_BENCH_FILE})"


def module_imports(path):
    """litnet modules imported at module level (not inside functions) by ``path``."""
    out = set()
    for node in tree(path).body:
        if isinstance(node, ast.ImportFrom):
            source = imported_modules(path, node)
            # "from . import data" imports the submodule litnet.data
            out |= {f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source
                    for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return {m for m in out if m in MODULES}


MODULES = {module_name(p): p for p in PACKAGE}


def test_no_import_cycle():
    graph = {m: module_imports(p) - {m} for m, p in MODULES.items()}
    # a package's __init__ importing its own submodules is not a cycle through them
    for m in graph:
        graph[m] = {d for d in graph[m] if not (m + ".").startswith(d + ".")}
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = "open"
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d, stack + [d])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_the_rules_catch_what_they_are_for():
    """The checks themselves can fail (on a source text that is never written)."""
    path = ROOT / "litnet" / "probe.py"
    source = ("from .rnn import _sizes\nfrom ._checks import check_int\n"
              "from .module import __all__\n"
              'def f():\n    """doc"""\n' + "    x = 1\n" * (MAX_BODY + 1))
    assert private_imports(path, source) == ["litnet/probe.py:1 imports _sizes from litnet.rnn"]
    assert long_functions(path, source) == [f"litnet/probe.py:4 f() has {MAX_BODY + 1} lines"]
    assert long_functions(path, source.replace("    x = 1\n", "", 1)) == []
