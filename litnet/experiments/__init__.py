"""The experiments behind every reproduced claim of the study notes.

Each module computes one reproduction (see ``REGISTRY``) and returns plain
data, so the chapters, the reproductions page and the tests share one code path.
"""

from __future__ import annotations

from importlib import import_module

from .claim import Claim

# R-number -> module (imported lazily: some experiments train networks).
REGISTRY: dict[str, str] = {
    "R1": "litnet.experiments.residual_example",
    "R2": "litnet.experiments.init_histograms",
    "R3": "litnet.experiments.optimizer_paths",
    "R4": "litnet.experiments.bn_init_sensitivity",
    "R5": "litnet.experiments.regularization",
    "R6": "litnet.experiments.sigmoid_bn",
    "R7": "litnet.experiments.bn_shift",
    "R8": "litnet.experiments.norm_batch_dependence",
    "R9": "litnet.experiments.ood",
    "R10": "litnet.experiments.vanishing",
    "R11": "litnet.experiments.recurrent",
    "R12": "litnet.experiments.exploding",
    "R13": "litnet.experiments.deep_residual",
    "R16": "litnet.experiments.gn_batch_size",
    "R17": "litnet.experiments.conv_degradation",
}


def claims_for(key):
    """The claims of one reproduction, e.g. ``claims_for("R1")``."""
    return import_module(REGISTRY[key]).claims()


def all_claims():
    """Every claim of every registered reproduction, in R order."""
    out = []
    for key in sorted(REGISTRY, key=lambda k: int(k[1:])):
        out.extend(claims_for(key))
    return out


__all__ = ["Claim", "REGISTRY", "all_claims", "claims_for"]
