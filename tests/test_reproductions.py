"""Every registered reproduction: its claims hold, with well-formed, unique ids."""

from __future__ import annotations

import re

import pytest

from litnet.experiments import REGISTRY, Claim, all_claims, claims_for

KEYS = sorted(REGISTRY, key=lambda k: int(k[1:]))


def test_registry_is_well_formed():
    assert REGISTRY, "no reproduction is registered"
    for key, module in REGISTRY.items():
        assert re.fullmatch(r"R\d+", key), key
        assert module.startswith("litnet.experiments."), module


@pytest.mark.parametrize("key", KEYS)
def test_claims_hold(key):
    claims = claims_for(key)
    assert claims, f"{key} registers no claim"
    for c in claims:
        assert isinstance(c, Claim)
        assert c.id.startswith(key + "."), f"{c.id} is registered under {key}"
        assert c.text and c.note and c.measured, c
    failing = [f"{c.id}: note {c.note}, litnet {c.measured} ({c.text})"
               for c in claims if not c.holds]
    assert failing == []


def test_claim_ids_are_unique():
    ids = [c.id for c in all_claims()]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
