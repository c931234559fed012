"""Every snippet section in litnet is shown by some page, and every include resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_START = re.compile(r"#\s*--8<--\s*\[start:([\w-]+)\]")
_INCLUDE = re.compile(r'--8<--\s*"([^":]+\.py):([\w-]+)"')


def _sections():
    found = set()
    for path in sorted((ROOT / "litnet").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        found |= {(rel, name) for name in _START.findall(path.read_text("utf-8"))}
    return found


def _includes():
    found = set()
    for md in sorted((ROOT / "docs").rglob("*.md")):
        found |= set(_INCLUDE.findall(md.read_text("utf-8")))
    return found


def test_every_section_is_included_by_a_page():
    assert sorted(_sections() - _includes()) == []


def test_every_include_names_an_existing_section():
    assert sorted(_includes() - _sections()) == []


def test_sections_are_closed():
    for path in sorted((ROOT / "litnet").rglob("*.py")):
        text = path.read_text("utf-8")
        for name in _START.findall(text):
            assert f"[end:{name}]" in text, f"{path}: section {name} is never closed"
