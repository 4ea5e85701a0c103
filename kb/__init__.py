"""Knowledge base: settings, the shipped corpus, the embedding model and the Chroma store.

Importing this package is cheap: torch, sentence-transformers and chromadb are imported
only by the functions that need them.
"""

from pathlib import Path

__version__ = "0.1.0"

#: The corpus shipped with the product (Markdown with YAML front matter).
SOURCES_DIR = Path(__file__).resolve().parent / "sources"
