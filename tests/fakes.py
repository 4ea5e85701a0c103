"""A small deterministic embedder behind the ``Embedder`` protocol, for plumbing-only tests (ingest, store, sync).

Behaviour (what gets retrieved, what is answered) is always tested with the real bundled model.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np


class HashEmbedder:
    """Bag of hashed words: texts that share words get similar vectors; the same text always gets the same one."""

    def __init__(self, name: str = "test/hash-embedder", dim: int = 64) -> None:
        self.name = name
        self.languages = ("en", "ko")
        self._dim = dim

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return self._dim

    def encode(self, texts: list[str], batch_size: int = 64, *, query: bool = False) -> np.ndarray:
        """One L2-normalised vector per text."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()) or [""]:
                out[row, int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % self._dim] += 1.0
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out
