"""`python -m litnet reproduce` and the `litnet` console script."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from litnet import cli
from litnet.experiments import REGISTRY, claims_for
from litnet.experiments.claim import Claim

ROOT = Path(__file__).resolve().parents[1]


def run(*args, executable=(sys.executable, "-m", "litnet"), env=None):
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1"} if env is None else env
    return subprocess.run([*executable, *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=600)


def test_json_lists_every_claim_of_the_chosen_reproductions():
    done = run("reproduce", "R3", "r1", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""                       # progress only on a terminal
    records = json.loads(done.stdout)
    expected = [c.id for key in ("R3", "R1") for c in claims_for(key)]
    assert [r["id"] for r in records] == expected
    for r in records:
        assert {"id", "reproduction", "statement", "value", "passed"} <= set(r)
        assert r["reproduction"] == r["id"].split(".")[0] and r["passed"] is True
    claims = {c.id: c for key in ("R1", "R3") for c in claims_for(key)}
    for r in records:
        claim = claims[r["id"]]
        assert r["statement"] == claim.statement and r["measured"] == claim.measured
        assert r["value"] == (claim.measured if claim.value is None else claim.value)


def test_the_table_shows_claim_note_litnet_holds():
    done = run("reproduce", "R1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["claim", "note", "litnet", "holds"]
    claims = claims_for("R1")
    assert len(lines) == 1 + len(claims) + 2
    for line, claim in zip(lines[1:], claims, strict=False):
        assert line.startswith(claim.id) and line.endswith("yes") and claim.measured in line
    assert lines[-1] == f"{len(claims)} of {len(claims)} claims hold"


def test_an_unknown_reproduction_exits_with_2():
    done = run("reproduce", "R1", "R99")
    assert done.returncode == 2 and done.stdout == ""
    assert "unknown reproduction 'R99'" in done.stderr and "R13" in done.stderr


def test_a_failing_claim_exits_with_1_and_progress_goes_to_a_terminal(monkeypatch, capsys):
    failing = Claim("R1.demo", "two plus two is five", "5", "4", False, 4.0, 5.0)
    monkeypatch.setattr(cli, "claims_for", lambda key: [failing])

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(["reproduce", "R1", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == [{
        "id": "R1.demo", "reproduction": "R1", "statement": "two plus two is five",
        "note": "5", "measured": "4", "value": 4.0, "bound": 5.0, "passed": False}]
    assert terminal.getvalue().startswith("[1/1] R1") and "1 failed" in terminal.getvalue()
    assert cli.main(["reproduce", "R1"]) == 1
    out = capsys.readouterr().out
    assert "R1.demo" in out and "NO" in out and "failed: R1.demo" in out


def test_without_arguments_every_reproduction_runs(monkeypatch):
    ran = []
    monkeypatch.setattr(cli, "claims_for", lambda key: ran.append(key) or [])
    assert cli.main(["reproduce", "--jobs", "1"]) == 0
    assert ran == sorted(REGISTRY, key=lambda k: int(k[1:]))


def test_worker_processes_give_the_records_of_one_process_in_order():
    one = run("reproduce", "R3", "R1", "--json", "--jobs", "1")
    two = run("reproduce", "R3", "R1", "--json", "--jobs", "2")
    assert one.returncode == two.returncode == 0
    assert json.loads(two.stdout) == json.loads(one.stdout)
    assert json.loads(one.stdout)[0]["reproduction"] == "R3"


def test_the_console_script():
    tomllib = pytest.importorskip("tomllib")           # Python 3.11+
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"litnet": "litnet.cli:main"}
    script = Path(sys.executable).with_name("litnet")
    if not script.exists():
        pytest.skip("the package is not installed with its scripts (pip install -e .)")
    done = run("reproduce", "R3", executable=(str(script),))
    assert done.returncode == 0 and done.stdout.splitlines()[0].split()[0] == "claim"


def test_without_a_blas_setting_it_restarts_with_one_thread(monkeypatch):
    calls = []
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.setattr(os, "execv", lambda exe, args: calls.append((exe, args)))
    monkeypatch.setattr(cli, "claims_for", lambda key: [])
    assert cli.main(["reproduce", "R3"]) == 0
    assert calls == [(sys.executable, [sys.executable, "-m", "litnet", "reproduce", "R3"])]
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    calls.clear()
    cli.main(["reproduce", "R3"])                  # set now (or by the caller): no restart
    assert calls == []
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = run("reproduce", "R3", "--json", env=env)  # the real restart
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in json.loads(done.stdout)] == [c.id for c in claims_for("R3")]
