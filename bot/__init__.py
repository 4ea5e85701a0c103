"""Answering: hybrid retrieval, the extractive writer, grounding checks, the chain and the CLI.

Heavy parts load lazily: ``bot.chain`` builds the runnable on first use.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "chain":
        from bot.service import get_service
        from kb.settings import get_settings

        return get_service(get_settings()).chain
    raise AttributeError(name)
