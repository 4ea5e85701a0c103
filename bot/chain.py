"""The whole pipeline as one LangChain runnable: validate -> rewrite -> retrieve -> write -> verify -> generate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.service import AnswerService


def build_chain(service: AnswerService) -> Any:
    """Compose the service's steps as a ``RunnableSequence``.

    Args:
        service: The built answering service.

    Returns:
        A runnable taking ``{"question", "history", "k"?, "kind"?, "topic"?}`` and returning an ``Answer``.

    """
    from langchain_core.runnables import RunnableLambda

    return (
        RunnableLambda(service.validate, name="validate")
        | RunnableLambda(service.rewrite, name="condense")
        | RunnableLambda(service.retrieve, name="retrieve")
        | RunnableLambda(service.write, name="write")
        | RunnableLambda(service.finish, name="verify")
        | RunnableLambda(service.generate, name="generate")
    )


def get_chain() -> Any:
    """The chain over the store named by settings (built once per process)."""
    from bot.service import get_service
    from kb.settings import get_settings

    return get_service(get_settings()).chain
