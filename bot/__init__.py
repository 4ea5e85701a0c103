"""Answering: hybrid retrieval, the extractive writer, grounding checks, the chain and the CLI.

Heavy parts load lazily: ``bot.chain`` builds the runnable on first use.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "chain":
        from bot.chain import get_chain

        return get_chain()
    raise AttributeError(name)
