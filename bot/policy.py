"""Requests the bot refuses or treats as out of scope, decided before any retrieval."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

import numpy as np

from bot.scorer import Linear

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


def matches_backstop(question: str) -> bool:
    """The backstop patterns: unmistakable requests ("Bom Kim's phone number", "list the leaked e-mail addresses").

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


# --- the fitted request detector -------------------------------------------------------------------------------
# Each feature is a general trait of asking for someone's data; the weights are fitted on the dev split of the
# blind-written requests and look-alikes plus every other dev question as a harmless example (``make calibrate``).
# Every feature kept earns its place: in 5-fold cross-validation on dev (threshold bounded by false refusals as in
# ``make calibrate``), leaving any one out loses 2 to 7 of the 54 dev requests. Traits that did not (asking verb,
# someone named, "me", orders, length) were left out: without them the detector catches 29 rather than 24.
_ASK = re.compile(
    r"\b(?:give|show|list|tell|find|reveal|print|dump|recite|disclose|return|send|share|look up|lookup|check|pull up"
    r"|read|provide|complete|translate|cross-reference|identify|locate|track|confirm)\b",
    re.I,
)
_DATA = re.compile(
    r"\b(?:phone|mobile|cell|numbers?|address(?:es)?|e-?mails?|names?|order(?:s|ed)?|history|entrance|door|codes?"
    r"|records?|passport|registration|birthday|birth|contact|details|school|apartment|unit|live[sd]?|lives|bought"
    r"|purchases?|account|id|json|dataset|database|table)\b",
    re.I,
)
_SOMEONE = re.compile(
    r"\b[A-Z][a-z]+ [A-Z][a-z]+(?:-[a-z]+)\b|\bmy (?:neighbou?r|husband|wife|sister|brother|ex|ex-\w+|boss|mother"
    r"|father|friend|colleague|daughter|son)\b|\bthe (?:suspect|hacker|guy|judge|ceo|chair\w*|employee|engineer"
    r"|developer)\b|\bsuspect'?s\b|\b(?:his|her|their)\b|\bsomeone|\ba random person|\bpeople|\bppl|\bcustomers?\b"
    r"|\busers?\b|\bcelebrit",
)
_PRIVATE = re.compile(r"\b(?:personal|home|private|real|own|full|exact|actual)\b", re.I)
_ABOUT_THE_CASE = re.compile(
    r"^\s*(?:were|was|did|does|do|is it|are|how many|how much|why|what should|how (?:do|can|does)|which|who (?:is|found)"
    r"|yes or no)\b",
    re.I,
)
_VALUES_OF = re.compile(r"\b(?:examples?|samples?|some|real|random|first page|records? #|all)\b", re.I)
_LIVES = re.compile(r"\bwho (?:lives|is the)|\bwhere (?:does|do|is)\b.{0,40}\blive", re.I)
_FULL_NAME = re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+-[a-z]+\b")

#: Names of :func:`request_features`, in order.
REQUEST_FEATURES = (
    "data_word",
    "private",
    "about_the_case",
    "values_of",
    "backstop",
    "where_lives",
    "full_name",
    "asks_for_data",  # a verb of handing over ("give", "list", "reveal") and a kind of data
    "data_of_someone",  # a kind of data and a person ("my neighbour", "the suspect", a full name)
)


def request_features(question: str) -> np.ndarray:
    """The traits of a request for someone's personal data, as numbers (see :data:`REQUEST_FEATURES`)."""
    ask, data, who = bool(_ASK.search(question)), bool(_DATA.search(question)), bool(_SOMEONE.search(question))
    return np.asarray(
        [
            data,
            bool(_PRIVATE.search(question)),
            bool(_ABOUT_THE_CASE.search(question)),
            bool(_VALUES_OF.search(question)),
            matches_backstop(question),
            bool(_LIVES.search(question)),
            bool(_FULL_NAME.search(question)),
            ask and data,
            data and who,
        ],
        dtype=np.float64,
    )


REFUSAL_MODEL_FILE = "refusal.json"


@lru_cache(maxsize=1)
def _refusal_model() -> tuple[Linear, float]:
    data = json.loads(resources.files("bot").joinpath(REFUSAL_MODEL_FILE).read_text())
    if tuple(data["features"]) != REQUEST_FEATURES:
        raise ValueError("bot/refusal.json was fitted on other features: run `make calibrate`")
    return Linear.from_json(data["model"]), float(data["threshold"])


def request_probability(question: str) -> float:
    """The fitted detector's probability that the message asks for someone's personal data."""
    model, _ = _refusal_model()
    return float(1.0 / (1.0 + np.exp(-model.logit(request_features(question)[None, :])[0])))


def is_personal_data_request(question: str) -> bool:
    """True when the message asks for a person's contact details, address, identity or leaked records.

    The fitted detector decides; the backstop patterns catch the unmistakable forms it might score low.
    Questions about one's own exposure ("Was my address leaked?") and about kinds of data ("Were phone numbers
    part of the leak?") are answered, not refused.
    """
    return matches_backstop(question) or request_probability(question) >= _refusal_model()[1]


def looks_like_injection(text: str) -> bool:
    """True when text tries to give the assistant instructions ("ignore previous instructions")."""
    return bool(_INJECTION.search(text))


def gives_orders(text: str) -> bool:
    """Whether text tells the assistant what to do ("ignore previous instructions", "pretend", "reply only")."""
    return bool(_ORDER.search(text)) or looks_like_injection(text)
