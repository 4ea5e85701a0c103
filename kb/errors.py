"""The one error hierarchy. Libraries raise these; entry points render them."""


class KBError(Exception):
    """Base class for every error the product raises on purpose."""


class ConfigError(KBError):
    """A setting is invalid or missing."""


class StoreError(KBError):
    """The vector store cannot be opened or used."""


class ModelMismatchError(StoreError):
    """The collection was built with another embedding model or chunker."""


class IngestError(KBError):
    """A file cannot be turned into chunks (empty, corrupt, binary, unsupported, unreadable)."""


class InputError(KBError):
    """A question or request is malformed (empty, too long, wrong type); ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
