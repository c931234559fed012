"""MkDocs hook: fill docs/reproductions.md from ``litnet.experiments.all_claims()``.

The page has one marker per reproduction, ``<!-- claims:R1 -->`` ... ``<!-- claims:R13 -->``,
and one ``<!-- claims:summary -->``. Each R marker becomes the table of that
reproduction's claims (id, claim, the note's value, litnet's measurement, holds) computed
now, by the same functions the tests assert; a reproduction not yet in
``litnet.experiments.REGISTRY`` is shown as pending. A registered reproduction without a
marker fails the build.

The claims are computed in a background thread started before the build reads any page,
so they overlap with the lab notebooks, which run in their own kernel processes. In the
same process the experiments' ``lru_cache`` is then warm for anyone else (the tests).
"""

from __future__ import annotations

import atexit
import html
import os
import re
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor

# The experiments' networks are small: OpenBLAS threads only add overhead, and the
# claims thread and a notebook kernel already keep both cores busy. The kernels
# inherit this environment.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

PAGE = "reproductions.md"
_MARKER = re.compile(r"<!-- claims:(R\d+|summary) -->")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(claims) -> str:
    rows = [
        "| id | claim | note | litnet measured | holds |",
        "|---|---|---|---|:---:|",
    ]
    for c in claims:
        mark = '<span class="claim-holds" title="holds">✓</span>' if c.holds else (
            '<span class="claim-fails" title="does not hold">✗</span>'
        )
        rows.append(
            f'| <code class="claim-id">{html.escape(c.id)}</code> |'
            f" {_cell(c.text)} | {_cell(c.note)} | {_cell(c.measured)} | {mark} |"
        )
    return "\n".join(rows)


def _pending(key: str) -> str:
    return (
        f'!!! warning "Pending"\n'
        f"    {key} is not reproduced by litnet yet: nothing is measured for it, so "
        "nothing is claimed here."
    )


_pending_claims: Future | None = None


def _compute():
    from litnet.experiments import REGISTRY, claims_for

    return {key: claims_for(key) for key in REGISTRY}


def on_config(config):
    # One folder for the whole build (or `mkdocs serve` session), shared with the lab
    # kernels: an experiment trained here is not trained again in a notebook. The keys
    # hash litnet's source (litnet/cache.py), so nothing goes stale.
    if not os.environ.get("LITNET_CACHE_DIR"):
        folder = tempfile.mkdtemp(prefix="litnet-build-cache-")
        os.environ["LITNET_CACHE_DIR"] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return config


def on_pre_build(config):
    global _pending_claims
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="litnet-claims")
    _pending_claims = pool.submit(_compute)
    pool.shutdown(wait=False)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri != PAGE:
        return markdown
    from litnet.experiments import REGISTRY

    computed = _pending_claims.result() if _pending_claims is not None else _compute()

    keys_on_page = [k for k in _MARKER.findall(markdown) if k != "summary"]
    missing = sorted(set(REGISTRY) - set(keys_on_page), key=lambda k: int(k[1:]))
    if missing:
        raise ValueError(f"{PAGE}: no <!-- claims:Rk --> marker for registered {missing}")

    results = {k: computed[k] for k in keys_on_page if k in REGISTRY}
    for key, claims in results.items():
        bad = [c.id for c in claims if not c.id.startswith(key + ".")]
        if bad:
            raise ValueError(f"{PAGE}: claims {bad} are registered under {key}")

    def replace(m: re.Match) -> str:
        key = m.group(1)
        if key == "summary":
            claims = [c for cs in results.values() for c in cs]
            held = sum(c.holds for c in claims)
            pending = [k for k in keys_on_page if k not in REGISTRY]
            text = (
                f"**{len(results)} of {len(keys_on_page)} reproductions** are computed by "
                f"litnet at this build: **{held} of {len(claims)} claims hold**."
            )
            if pending:
                text += f" Pending: {', '.join(pending)}."
            return text
        if key not in results:
            return _pending(key)
        return _table(results[key])

    return _MARKER.sub(replace, markdown)
