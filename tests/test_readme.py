"""The README's commands and example are what a new user runs first: keep them honest."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_the_two_commands():
    first = _blocks("bash")[0].strip().splitlines()
    assert len(first) == 2
    build, test = first
    assert "mkdocs serve" in build or "mkdocs build" in build
    assert test.endswith("python -m pytest")
    assert README.index("```bash") < README.index("## ")  # before any section


def test_ci_runs_the_readme_test_command():
    test_command = _blocks("bash")[0].strip().splitlines()[1]
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_extras_exist():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    extras = set(re.findall(r"^([a-z]+) = \[", table, flags=re.M))
    for cmd in _blocks("bash")[0].splitlines():
        for group in re.findall(r'\.\[([a-z,]+)\]', cmd):
            assert set(group.split(",")) <= set(extras)


def test_readme_example_trains_and_evaluates(capsys):
    (code,) = _blocks("python")
    assert len(code.strip().splitlines()) <= 10
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    accuracy = float(re.search(r"test accuracy ([0-9.]+)", out).group(1))
    assert accuracy > 0.9
    assert len(namespace["history"].train_loss) == 10
