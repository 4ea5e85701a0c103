"""The corpus profile: every word the product says about its own subject, kept beside the corpus, not in code.

A profile is a ``profile.yaml`` at the root of an ingested folder (the shipped one is ``kb/sources/profile.yaml``).
``kb ingest`` records it with the store, so the page, the abstention and refusal texts, the examples, the synonyms
people use and the names too common to pin anything down all follow the corpus that was ingested. ``KB_PROFILE``
names a file that overrides it. A corpus without a profile gets a generic one built from its document titles.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

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
    translations: dict[Literal["ko"], dict[str, Any]] = Field(
        default_factory=dict, description="Per language, the fields above in that language (``ko:`` for Korean)."
    )

    def in_language(self, language: str) -> Profile:
        """The profile in ``language``: its own translation, else built-in wording for the generic texts.

        A field the profile translates wins; a field it leaves at the English default takes the built-in Korean
        default; anything else (a scope the profile wrote only in English) stays as written.
        """
        if language == "en":
            return self
        return self._translated.get(language, self)

    @cached_property
    def _translated(self) -> dict[str, Profile]:
        out = {}
        base = self.model_dump(exclude={"translations"})
        for language, defaults in _BUILT_IN.items():
            fields = type(self).model_fields
            merged = {
                **base,
                **{k: v for k, v in defaults.items() if base.get(k) == fields[k].default},
                **self.translations.get(language, {}),  # type: ignore[call-overload]
            }
            out[language] = Profile.model_validate(merged)
        return out


#: The generic texts in other languages, for profiles that do not translate them.
_BUILT_IN: dict[str, dict[str, Any]] = {
    "ko": {
        "no_answer": "지식 베이스에서 그 내용을 찾지 못했습니다. 추측해서 답하지 않겠습니다.",
        "after_date": "지식 베이스는 {as_of}까지의 일만 다루므로 그 질문에는 답할 수 없습니다.",
        "false_premise": "질문이 전제로 하는 내용({premise})은 지식 베이스에 나오지 않으므로 설명하지 않겠습니다.",
        "instructions_only": "저는 지식 베이스의 문서로 질문에 답할 뿐, 메시지 안의 지시는 따르지 않습니다.",
        "refusal": (
            "누군가의 연락처, 주소, 기록 같은 개인정보를 찾거나 알려드릴 수 없습니다. "
            "이 도우미는 개인 기록을 갖고 있지 않고 문서만 갖고 있습니다."
        ),
        "reply_greeting": "안녕하세요.\n\n문의해 주셔서 감사합니다.",
        "reply_refusal": "개인정보 보호를 위해 어떤 분의 개인정보도 조회하거나 확인하거나 알려드릴 수 없습니다.",
        "reply_closing": "감사합니다.\n고객지원팀 드림",
        "about_not_advice": "**법률 자문이 아닙니다.** 답변은 위 문서를 인용한 것이며, 개인 사안은 전문가에게 문의하세요.",
    }
}

#: Said before English quotes that answer a Korean question (no Korean source stated the answer).
QUOTING_OTHER_LANGUAGE = {
    "ko": "한국어 자료에는 이 내용이 없어, 영어 자료의 문장을 그대로 인용합니다.",
}


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
        translations={
            "ko": {
                "title": "문서 기반 답변",
                "subject": "이 문서들",
                "intro": "이 지식 베이스의 문서에 대해 물어보세요. 모든 문장은 출처에서 인용합니다.",
                "scope": f"제 문서가 다루는 내용에 대해 답할 수 있습니다: {listing}." if shown else "",
            }
        },
    )
