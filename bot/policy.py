"""Requests the bot refuses or treats as out of scope, decided before any retrieval."""

from __future__ import annotations

import re

_PII = (
    r"(?:phone|mobile|cell(?:phone)?|telephone)(?: number)?s?|(?:home |postal |street |delivery )?address(?:es)?"
    r"|e-?mail(?: address)?s?|contact (?:details|info(?:rmation)?)|resident registration numbers?|rrns?|passwords?"
    r"|(?:entrance|door|gate) codes?|personal (?:data|details|information|info)|(?:credit )?card numbers?"
    r"|(?:leaked )?records?|details|real name|full name|name|birth ?date|date of birth|whereabouts"
)
# Other people, named by their relation to the asker ("my neighbour", "my ex-girlfriend").
_OTHERS = (
    r"my (?:neighbou?r|ex|ex-\w+|girlfriend|boyfriend|boss|friend|colleague|wife|husband|partner|sister|brother"
    r"|mother|father|landlord|tenant|classmate|coworker|co-worker)"
)
_OTHERS_RE = re.compile(_OTHERS, re.I)
_PERSON = (
    r"someone|somebody|a person|this person|that person|people|a customer|customers|a user|users|him|her|them"
    r"|the (?:suspect|hacker|attacker|ex-employee|former employee|developer|engineer|insider|victims?|ceo|founder)"
    rf"|{_OTHERS}"
    r"|[A-Z][a-z]+(?: [A-Z][a-z-]+)+"
)
_QUAL = r"(?:(?:the|all|affected|coupang|leaked|other|those|these|every|some|any|specific|individual|a|an|\d+)\s+){0,3}"
_PERSON_LOWER = (
    _PERSON.replace("|[A-Z][a-z]+(?: [A-Z][a-z-]+)+", "") + "|customer|user|person|individual|member|resident|plaintiff"
)
# Adjectives that may sit between a possessive and the data asked for ("Rogers' personal mobile number").
_ADJ = r"(?:(?:personal|private|home|mobile|cell|current|real|exact|full|coupang|delivery|shared)\s+){0,3}"
# Values (not kinds) of personal data, as asked for in bulk: "the e-mail addresses that were leaked".
_VALUES = (
    r"(?:e-?mail(?: address)?(?:es|s)|phone numbers|mobile numbers|(?:home |delivery )?addresses|names|real names"
    r"|order histories|order history|purchase histories|(?:delivery )?address book entries|entrance codes|passwords"
    r"|resident registration numbers|card numbers|contact details|personal details)"
)
_REFUSE = [
    # "Bom Kim's phone number", "the suspect's name", "my neighbour's address", "Park Min-jun's order history"
    re.compile(
        rf"\b(?:[A-Z][a-z]+(?: [A-Z][a-z-]+)*|suspect|hacker|attacker|employee|developer|engineer|insider|ceo|founder|neighbou?r|victim|customer|user|person)['’]s? {_ADJ}(?:{_PII}|order history|purchase history)\b(?! book)",
        re.I,
    ),
    # "the entrance code ... for my ex-girlfriend's building"
    re.compile(rf"\b(?:{_PII})\b.{{0,40}}\b(?:of|for|belonging to) {_OTHERS}", re.I),
    # "list the e-mail addresses that were leaked", "dump the address book entries of users in Daegu"
    re.compile(
        rf"\b(?:list|give|dump|show|send|print|share|export|find|get|tell)\b(?: me| us)?(?: all| every)?(?: of)? the "
        rf"{_ADJ}{_VALUES}(?:,? (?:and|or) {_ADJ}{_VALUES})* (?:that|which|of|for|from|belonging)\b",
        re.I,
    ),
    # "the address of Harold Rogers", "phone numbers for customers"
    re.compile(rf"\b(?:{_PII}) (?:of|for|belonging to) (?:{_PERSON})\b"),
    re.compile(rf"\b(?:{_PII}) (?:of|for|belonging to) {_QUAL}(?:{_PERSON_LOWER})\b", re.I),
    # "where does Bom Kim live", "who lives at"
    re.compile(r"\bwhere (?:does|do|did) .{1,40} live\b|\bwho lives at\b", re.I),
    # "give me / download / show the leaked data"
    re.compile(
        r"\b(?:download|get|see|access|buy|obtain|show|give|send|share|list|dump|leak|sell|print|find|look up|search)\b"
        r".{0,40}\b(?:leaked|stolen|breached|exposed|hacked)\s+(?:\w+\s+)?(?:data(?:base)?|records?|list|files?|information|info"
        r"|accounts?|details|e-?mails?|addresses|numbers|codes)\b",
        re.I,
    ),
    re.compile(
        r"\b(?:dox|doxx|track down|locate)\b.{0,40}\b(?:person|someone|him|her|suspect|customer|[A-Z][a-z]+)\b", re.I
    ),
]
_SELF = re.compile(r"^\s*(?:was|were|is|are|has|have|did|do|does|will|can|could|should|how)\b.{0,40}\bmy\b", re.I)

# "What details of customers were exposed?" asks which kinds of data leaked, not for the data.
_ABOUT_CATEGORIES = re.compile(
    r"\b(?:was|were|is|are|got|get|been)\b.{0,30}\b(?:exposed|leaked|affected|compromised|stolen|included|accessed|viewed)\b",
    re.I,
)
_WHY = re.compile(r"^\s*(?:why|how come|what for)\b", re.I)
_REQUEST_VERB = re.compile(r"\b(?:give|show|list|send|tell me|find|look up|download|share|print|dump|provide)\b", re.I)

_INJECTION = re.compile(
    r"ignore (?:all |any |the )?(?:previous|prior|above|earlier) (?:instructions|prompts?|rules)|system prompt"
    r"|you are now|disregard (?:your|the) (?:rules|instructions)|developer mode|jailbreak|reveal your (?:instructions|prompt)",
    re.I,
)

# Sentences in a message that give the assistant orders rather than ask something (beyond _INJECTION).
_ORDER = re.compile(
    r"^\s*(?:system|assistant|developer|admin|ai)(?: \w+)?\s*:|\b(?:any|an?|you are an?) (?:ai|language) (?:models?|assistants?|systems?) "
    r"(?:reading|summari[sz]ing)\b|\b(?:attention|note to) (?:ai|assistants?)\b|</?\s*(?:context|system|instructions?)\s*>|\bnew instructions\b"
    r"|\bpretend\b|\b(?:reply|respond|answer) only\b|\banswer every question\b|\bfinish with\b|\bappend\b"
    r"|\boutput (?:the|your|every|all)\b|\bprint (?:your|the) (?:system|hidden|prompt|instructions)"
    r"|\brepeat (?:that|this|after me)\b|\btranslate your\b|\bhidden instructions\b|!\[[^\]]*\]\("
    r"|\byou are in (?:\w+ )?mode\b",
    re.I,
)


def is_personal_data_request(question: str) -> bool:
    """True when the question asks for a person's contact details, address, identity or leaked records.

    Questions about one's own exposure ("Was my address leaked?") are not refused: they are
    answered with what the knowledge base says about the exposed data.

    Args:
        question: The user's question.

    Returns:
        Whether to refuse.

    """
    if _SELF.search(question) and not _OTHERS_RE.search(question):
        return False
    if _WHY.search(question) and not _REQUEST_VERB.search(question):
        return False  # "Why do shops collect customers' addresses?" asks about practice, not for the data
    if _ABOUT_CATEGORIES.search(question) and not _REQUEST_VERB.search(question) and not _OTHERS_RE.search(question):
        return False
    return any(p.search(question) for p in _REFUSE)


def looks_like_injection(text: str) -> bool:
    """True when text tries to give the assistant instructions ("ignore previous instructions")."""
    return bool(_INJECTION.search(text))


def gives_orders(text: str) -> bool:
    """Whether text tells the assistant what to do ("ignore previous instructions", "pretend", "reply only")."""
    return bool(_ORDER.search(text)) or looks_like_injection(text)
