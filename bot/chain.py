"""The pipeline as one LangChain runnable, built from the service's plain pipeline function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def build_chain(run: Callable[[dict[str, Any]], Any]) -> Any:
    """Wrap the pipeline function as a runnable.

    Args:
        run: :meth:`bot.service.AnswerService.run`.

    Returns:
        A runnable taking ``{"question", "history", "k"?, "kind"?, "topic"?}`` and returning an ``Answer``.

    """
    from langchain_core.runnables import RunnableLambda

    return RunnableLambda(run, name="kb_answer")
