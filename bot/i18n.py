"""The product's own words (page labels, answer titles, reply templates) in each language it speaks.

Words about the corpus live in its profile (``kb/profile.py``); these are the words about the product itself. An
answer's wording follows ``Answer.language``; the public page has one view per language (``/`` and ``/ko/``).
"""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "ko"]
LANGUAGES: tuple[Language, ...] = ("en", "ko")

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "abstain_title": "Not in the knowledge base",
        "premise_title": "My sources don't say that",
        "refusal_title": "I can't help with personal data",
        "sources": "Sources",
        "source_link": "source",
        "as_of": "as of",
        "conversation": "Conversation",
        "chat_placeholder": "Ask a question, or pick an example below.",
        "box_placeholder": "Ask about {subject}...",
        "ask": "Ask",
        "new_conversation": "New conversation",
        "examples": "Example questions",
        "about": "About this assistant",
        "switch": "[한국어](/ko/)",
        "rephrase": "Please rephrase.",
        "unavailable": "The knowledge base is not available right now; please try again shortly.",
        "thanks": "Thanks, your feedback was saved.",
        "about_knows": "**What it knows.** {scope} {coverage} It holds these documents:",
        "about_table": "| Document | Kind | As of |\n|---|---|---|",
        "about_privacy": (
            "**What happens to what you type.** It is answered on this machine and nothing is sent anywhere. "
            "The conversation is not stored. If you rate an answer, the question, the answer and its sources are "
            "saved with e-mail addresses, phone numbers and resident-registration numbers masked."
        ),
        "about_how": (
            "**How it answers.** Every sentence is quoted from a source and checked against it before it is shown; "
            "when the documents do not hold the answer it says so instead of guessing."
        ),
        "reply_premise": "Our sources do not say that {premise}, so we cannot confirm or explain it. ",
        "reply_abstain": "Our knowledge base does not cover this question, so we would rather not guess. ",
        "reply_follow_up": "We will look into it and get back to you.",
        "reply_references": "References:",
        "reply_note": (
            "This information comes from our knowledge base, current to {as_of}. "
            "It is general information, not legal advice."
        ),
    },
    "ko": {
        "abstain_title": "지식 베이스에 없는 내용",
        "premise_title": "자료에 그런 내용은 없습니다",
        "refusal_title": "개인정보는 도와드릴 수 없습니다",
        "sources": "출처",
        "source_link": "원문",
        "as_of": "기준일",
        "conversation": "대화",
        "chat_placeholder": "질문을 입력하거나 아래 예시를 고르세요.",
        "box_placeholder": "{subject}에 대해 물어보세요...",
        "ask": "질문하기",
        "new_conversation": "새 대화",
        "examples": "예시 질문",
        "about": "이 도우미에 대해",
        "switch": "[English](/?lang=en)",
        "rephrase": "질문을 다시 써 주세요.",
        "unavailable": "지금은 지식 베이스를 쓸 수 없습니다. 잠시 뒤 다시 시도해 주세요.",
        "thanks": "의견이 저장되었습니다. 감사합니다.",
        "about_knows": "**무엇을 아나요.** {scope} {coverage} 다음 문서를 갖고 있습니다:",
        "about_table": "| 문서 | 종류 | 기준일 |\n|---|---|---|",
        "about_privacy": (
            "**입력한 내용은 어떻게 되나요.** 질문은 이 컴퓨터에서 답하며 어디로도 보내지 않습니다. 대화는 저장하지 "
            "않습니다. 답변을 평가하면 질문, 답변, 출처가 저장되며 이메일 주소, 전화번호, 주민등록번호는 가려집니다."
        ),
        "about_how": (
            "**어떻게 답하나요.** 모든 문장은 출처에서 그대로 인용하고 보여 주기 전에 출처와 대조합니다. 문서에 "
            "답이 없으면 추측하지 않고 없다고 말합니다."
        ),
        "reply_premise": "저희 자료에는 {premise}라는 내용이 없어 확인하거나 설명해 드릴 수 없습니다. ",
        "reply_abstain": "저희 지식 베이스에는 이 질문에 대한 내용이 없어 추측해서 답하지 않겠습니다. ",
        "reply_follow_up": "확인한 뒤 다시 연락드리겠습니다.",
        "reply_references": "참고 자료:",
        "reply_note": "이 정보는 {as_of} 기준 지식 베이스에서 가져온 일반 정보이며 법률 자문이 아닙니다.",
    },
}


def words(language: str) -> dict[str, str]:
    """The product's words in ``language`` (English for a language it does not speak)."""
    return _WORDS.get(language, _WORDS["en"])


def page_language(accept_language: str) -> Language:
    """The page language a browser asks for in its ``Accept-Language`` header: Korean when it prefers it."""
    best, weight = "en", -1.0
    for part in accept_language.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            w = float(q) if q else 1.0
        except ValueError:
            continue
        code = tag.strip().lower()[:2]
        if code in ("ko", "en") and w > weight:
            best, weight = code, w
    return "ko" if best == "ko" else "en"
