"""Ingestion: files to structured chunks, and keeping the store in sync with the sources."""

#: Bump when chunking changes: stored chunks of another version are rebuilt on the next ingest.
CHUNKER_VERSION = "1"

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
