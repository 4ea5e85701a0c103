"""One typed settings object, read from ``KB_*`` environment variables and ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Every knob of the product. Environment variables use the ``KB_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="KB_", env_file=".env", extra="ignore")

    home: Path = Field(Path(".kb"), description="Folder for the store, feedback and logs.")
    collection: str = Field("coupang_kb", description="Chroma collection name (3+ characters).")
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded store.")
    chroma_port: int = Field(8000, description="Chroma server port, used with KB_CHROMA_HOST.")
    chroma_timeout: float = Field(
        10.0, gt=0, le=600, description="Seconds to wait for the Chroma server before a request fails (503)."
    )
    model_path: Path | None = Field(
        None, description="sentence-transformers model folder; unset = the bundled all-MiniLM-L6-v2."
    )
    embedder: Literal["minilm", "e5", "minilm+e5"] = Field(
        "minilm+e5",
        description="Embedding model: minilm (English), e5 (multilingual-e5-small), or minilm+e5 (each language its own).",
    )
    model_name: str = Field(DEFAULT_MODEL_NAME, description="Name recorded with the collection for the model in use.")
    profile: Path | None = Field(
        None, description="Corpus profile YAML (scope, refusal and page wording, synonyms); unset = the ingested one."
    )
    chunk_chars: int = Field(700, ge=200, le=4000, description="Target chunk size in characters.")
    top_k: int = Field(8, ge=1, le=50, description="Chunks retrieved per question.")
    max_sentences: int = Field(5, ge=1, le=10, description="Most sentences in an extractive answer.")
    abstain_threshold: float | None = Field(
        None, description="Confidence below which the bot abstains; unset = the calibrated value."
    )
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted.")
    max_history_turns: int = Field(40, ge=0, le=1000, description="Most earlier turns a question may carry.")
    max_history_chars: int = Field(20000, ge=0, description="Most characters of earlier turns, all turns together.")
    max_answer_chars: int = Field(
        20000, ge=100, description="Longest answer text (and citations) a feedback request may carry."
    )
    max_request_bytes: int = Field(
        1_000_000, ge=1000, description="Largest HTTP request body accepted; larger ones get 413."
    )
    log_level: str = Field("WARNING", description="Log level for entry points.")
    answer_mode: Literal["extractive", "generative"] = Field(
        "extractive", description="extractive (no LLM) or generative (needs KB_LLM_BASE_URL; guarded, falls back)."
    )
    llm_base_url: str | None = Field(None, description="OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1.")
    llm_model: str | None = Field(None, description="Model name on that server.")
    llm_api_key: str | None = Field(None, description="API key for the LLM server, if it needs one.")
    llm_timeout: float = Field(30.0, gt=0, le=600, description="Seconds to wait for the LLM before falling back.")
    llm_max_tokens: int = Field(400, ge=16, le=4096, description="Longest generative reply.")
    host: str = Field("127.0.0.1", description="Address `kb serve` binds to.")
    port: int = Field(7860, ge=1, le=65535, description="Port `kb serve` listens on.")
    secret: str | None = Field(
        None,
        description="Key that signs answer ids (share it between workers); unset = a random key per process.",
    )
    staff_users: dict[str, str] = Field(
        default_factory=dict,
        description='Staff console logins as JSON {"user": "<hash from kb hash-password>"}; empty = console closed.',
    )
    staff_session_minutes: float = Field(
        60, gt=0, le=720, description="A staff sign-in ends after this many idle minutes (and always after 12 h)."
    )
    cookie_secure: bool = Field(
        True, description="Mark the staff cookie Secure (sent over HTTPS and to localhost only); off for plain HTTP."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Other origins whose pages may call the API, as JSON ["https://..."]; empty = same origin only.',
    )

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        if len(value) < 3:
            raise ValueError(f"Invalid collection '{value}': Chroma needs 3 or more characters.")
        return value

    @property
    def generative(self) -> bool:
        """Generative answers are on: the mode asks for them and an LLM server is named."""
        return self.answer_mode == "generative" and bool(self.llm_base_url)

    @property
    def chroma_path(self) -> Path:
        """Folder of the embedded Chroma store."""
        return self.home / "chroma"

    @property
    def feedback_path(self) -> Path:
        """SQLite file holding thumbs up/down from the page and the API."""
        return self.home / "feedback.sqlite3"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once.

    Returns:
        The cached :class:`Settings`.

    Raises:
        ConfigError: when a setting is invalid.

    """
    from pydantic import ValidationError

    from kb.errors import ConfigError

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"Invalid setting KB_{where.upper()}: {first['msg']}") from None
