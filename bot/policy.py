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
    r"|(?:이전|앞의|위의|기존|모든)\s*(?:지시|지침|명령|규칙|설정)\S*\s*(?:\S+\s+)?무시|시스템\s*프롬프트|프롬프트\S*\s*(?:보여|출력|공개)"
    r"|(?:개발자|관리자|탈옥)\s*모드|제한\s*(?:해제|풀어)|너는 이제|지금부터 (?:너는|넌)"
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
    r"|\byou are in (?:\w+ )?mode\b"
    r"|(?:인\s*)?척\s*(?:해|하고)|(?:라고|이라고)만\s*(?:답|대답|말)|무조건\s*(?:답|대답)|(?:AI|인공지능|챗봇)(?:은|는|에게|한테)\s*(?:반드시|항상)",
    re.I,
)


# --- Korean ------------------------------------------------------------------------------------------------------
# Korean glues particles to words ("주소를", "용의자의"), so these patterns match stems and use no \b at word ends.
_KO_DATA = (
    r"(?:전화\s*번호|휴대\s*폰\s*번호|핸드폰\s*번호|폰\s*번호|연락처|주소|거주지|사는\s*곳|실명|이름|이메일|메일\s*주소"
    r"|주민\s*(?:등록\s*)?번호|공동\s*현관\s*(?:비밀번호|비번)|비밀번호|비번|주문\s*내역|구매\s*내역|생년월일|신상|계정\s*정보)"
)
_KO_PERSON = (
    r"(?:사람들|고객들|회원들|이용자들|피해자|용의자|범인|전\s*직원|그\s*사람|이\s*사람|저\s*사람|남친|여친|남자\s*친구"
    r"|여자\s*친구|남편|아내|와이프|이웃|옆집|친구|동료|상사|직원|의장|대표|사장|[가-힣]{2,3}\s*씨|[가-힣]OO)"
)
_KO_ASK = r"(?:보여|알려|뽑아|찾아|줘|주세요|주실|달라|공유|보내|출력|덤프|넘겨|뭐야|뭐예요|뭔가요|어디야|어디예요)"
_KO_REFUSE = [
    # "용의자 실명이랑 거주지 알려줘", "그 사람 주소 좀 알려주세요", "의장 개인 휴대폰 번호 뭐야?"
    re.compile(rf"{_KO_PERSON}.{{0,30}}{_KO_DATA}.{{0,25}}{_KO_ASK}"),
    # "유출된 사람들 전화번호 목록 좀 보여줘", "유출된 계정 샘플 몇 개만 보여줘"
    re.compile(rf"유출된.{{0,40}}(?:목록|명단|리스트|샘플|원본|파일|데이터베이스|DB|db).{{0,20}}{_KO_ASK}"),
    re.compile(rf"{_KO_DATA}.{{0,10}}(?:목록|명단|리스트|만).{{0,15}}(?:뽑아|보여|알려|정리해|줘)"),
    # "이 사람 지금 어디 사는지 찾아주세요"
    re.compile(rf"{_KO_PERSON}.{{0,30}}어디\s*(?:에\s*)?(?:사는지|살아|사는|살고|거주)"),
]
#: "제 주소도 유출됐나요?": asking about one's own data is answered.
_KO_SELF = re.compile(r"(?:^|\s)(?:제|내|저의|나의|저도|나도|저희)\s")


def _korean_request(question: str) -> bool:
    if _KO_SELF.search(question) and not re.search(_KO_PERSON, question):
        return False
    return any(p.search(question) for p in _KO_REFUSE)


def matches_backstop(question: str) -> bool:
    """The backstop patterns: unmistakable requests ("Bom Kim's phone number", "list the leaked e-mail addresses").

    Questions about one's own exposure ("Was my address leaked?") are not refused: they are
    answered with what the knowledge base says about the exposed data.

    Args:
        question: The user's question.

    Returns:
        Whether to refuse.

    """
    if _korean_request(question):
        return True
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


# The same traits in Korean.
_KO_TRAITS = {
    "data": re.compile(_KO_DATA + r"|명단|목록|리스트"),
    "who": re.compile(_KO_PERSON),
    "ask": re.compile(_KO_ASK),
    "private": re.compile(r"개인|실제|진짜|현재|지금 사는|집"),
    "case": re.compile(r"(?:나요|까요|었나|였나|됐나|되었나|됐어|됐음|됨)\s*\??\s*$|^\s*(?:왜|몇|얼마|언제|어떻게)"),
    "values": re.compile(r"목록|명단|리스트|샘플|예시|전부|전체|몇\s*개|만\s*뽑"),
    "lives": re.compile(r"어디\s*(?:에\s*)?(?:사는|살|거주)|사는\s*곳|거주지"),
}


def _trait(english: re.Pattern[str], korean: str, question: str) -> bool:
    return bool(english.search(question) or _KO_TRAITS[korean].search(question))


def request_features(question: str) -> np.ndarray:
    """The traits of a request for someone's personal data, as numbers (see :data:`REQUEST_FEATURES`)."""
    ask, data, who = (_trait(r, k, question) for r, k in ((_ASK, "ask"), (_DATA, "data"), (_SOMEONE, "who")))
    return np.asarray(
        [
            data,
            _trait(_PRIVATE, "private", question),
            _trait(_ABOUT_THE_CASE, "case", question),
            _trait(_VALUES_OF, "values", question),
            matches_backstop(question),
            _trait(_LIVES, "lives", question),
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
