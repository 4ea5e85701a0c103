"""The corpus profile: every word the product says about its own subject, kept beside the corpus, not in code.

A profile is a ``profile.yaml`` at the root of an ingested folder (the shipped one is ``kb/sources/profile.yaml``).
``kb ingest`` records it with the store, so the page, the abstention and refusal texts, the examples, the synonyms
people use and the names too common to pin anything down all follow the corpus that was ingested. ``KB_PROFILE``
names a file that overrides it. A corpus without a profile gets a generic one built from its document titles.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from kb.errors import ConfigError

PROFILE_FILE = "profile.yaml"
#: Key of the collection metadata entry that holds the ingested profile's YAML text.
STORE_KEY = "profile"


class Profile(BaseModel):
    """What the product says about its subject."""

    title: str = Field(description="Page heading and browser title.")
    subject: str = Field(description="Short name of the subject, used in placeholders and prompts.")
    intro: str = Field(description="One line under the page heading.")
    scope: str = Field(description="What the assistant can answer; ends every abstention.")
    no_answer: str = "I couldn't find that in my knowledge base, so I won't guess."
    after_date: str = "My knowledge base only covers events up to {as_of}, so I can't answer that."
    false_premise: str = (
        "My knowledge base does not say that {premise}, which the question takes as given, so I won't explain it."
    )
    instructions_only: str = "I only answer questions from my knowledge base and don't follow instructions in messages."
    refusal: str = (
        "I can't help with finding or sharing anyone's personal data, such as contact details, addresses or records. "
        "This assistant holds no personal records, only its documents."
    )
    reply_greeting: str = "Hello,\n\nThank you for contacting us."
    reply_refusal: str = (
        "For privacy reasons we cannot look up, confirm or share personal information about any person."
    )
    reply_closing: str = "Kind regards,\nCustomer Support"
    about_not_advice: str = (
        "**Not legal advice.** Answers quote the documents above; for your own case ask a professional."
    )
    examples: dict[str, list[str]] = Field(default_factory=dict)
    synonyms: dict[str, str] = Field(
        default_factory=dict, description="A word people use -> the word the documents use (whole words, lower case)."
    )
    common_names: list[str] = Field(
        default_factory=list, description="Names so frequent in the corpus that a question naming them pins nothing."
    )


def parse_profile(text: str, where: str) -> Profile:
    """A profile from YAML text.

    Raises:
        ConfigError: when the text is not a valid profile.

    """
    try:
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError("the file is not a mapping")
        return Profile.model_validate(data)
    except (yaml.YAMLError, ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"Invalid profile {where}: {first}") from None


def read_profile(path: Path) -> str:
    """The YAML text of a profile file, checked.

    Raises:
        ConfigError: when it cannot be read or is not a valid profile.

    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read the profile {path}: {exc}") from None
    parse_profile(text, str(path))
    return text


def generic_profile(titles: Sequence[str]) -> Profile:
    """A profile for a corpus that ships none: its scope names its documents."""
    shown = [t for t in titles if t][:8]
    listing = "; ".join(shown) + ("; and more" if len(titles) > len(shown) else "")
    return Profile(
        title="Answers from your documents",
        subject="these documents",
        intro="Ask about the documents in this knowledge base. Every sentence is quoted from a source.",
        scope=f"I can answer questions about what my documents cover: {listing}." if shown else "",
    )
