"""The tutor's guardrails, pure functions (DESIGN.md §6): abuse in what the learner writes, and the
checks every model answer passes before it is sent.

Crisis language is not here: core/dialogue/phrases.py CRISIS catches it before anything else and
PAU answers with fixed words and an urgent escalation; the tutor's performer checks it again so a
crisis text never reaches a model.

`abusive` is deliberately conservative: frustration ("this is f***ing hard", "fuck this quiz",
"I'm such an idiot") is not abuse; an insult or a threat aimed at PAU or at a person is.
Both work on `canon` text (lower case, no accents or punctuation, "you're" -> "youre").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.dialogue.phrases import canon

_INSULT_NOUNS = (
    "idiot|moron|imbecile|cretin|bitch|cunt|asshole|arsehole|bastard|retard|loser|wanker|dickhead"
    "|twat|whore|slut|prick|dumbass|jackass|scumbag|piece of shit|piece of crap|waste of space"
    "|vollidiot|arschloch|wichser|hurensohn|fotze|schlampe|missgeburt|spast|depp|trottel|penner"
    "|dummkopf|blodmann|hure|mistkerl|drecksau|versager"
)
_INSULT_ADJECTIVES = (
    "stupid|dumb|useless|worthless|pathetic|retarded|brainless|garbage|trash|disgusting|ugly"
    "|dumm|blod|bescheuert|behindert|nutzlos|unfahig|hasslich|scheisse|dammlich|doof"
)
# words that may stand between "you" and the insult: "you are such a fucking idiot"
_FILLERS = (
    r"(?:are |re |r |is |bist |sind |such |so |a |an |the |just |fucking |fking |fkn |fuckin "
    r"|bloody |total |totally |complete |completely |absolute |absolutely |real |really |little "
    r"|big |ein |eine |einer |so |total |voll |echt |richtig |verdammter |verdammte |blode "
    r"|bloder |dumme |dummer |kleiner |kleine |der |die |das )*"
)
_PEOPLE = (
    r"(?:he|she|they|hes|shes|theyre|this guy|that guy|my mentor|the mentor|mentors|my teacher"
    r"|the teacher|teachers|my tutor|the tutor|tutors|my coach|the coach|pau|this bot|the bot"
    r"|er|sie|mein mentor|meine mentorin|der mentor|die mentorin|mein lehrer|meine lehrerin"
    r"|der lehrer|die lehrerin)"
)
_BOT = r"(?:bot|app|pau|machine|ai|ki|computer|program|programm|maschine|tutor)"

_ABUSE = re.compile(
    # addressed: "you idiot", "you're useless", "du bist so dumm", "du arschloch"
    rf"(?<!thank )\b(?:you|u|ya|youre|ur|du|dich|bist du|sie sind)\b {_FILLERS}"
    rf"(?:(?:{_INSULT_NOUNS})(?:s|en|n)?|{_INSULT_ADJECTIVES})\b"
    # about PAU: "stupid bot", "useless app", "blöder bot", "idiot bot"
    rf"|\b(?:{_INSULT_ADJECTIVES}|{_INSULT_NOUNS}|blode|bloder|dumme|dummer|nutzloser|scheiss)"
    rf" {_BOT}\b"
    # about a person: "my mentor is an idiot", "she's such a bitch"
    rf"|\b{_PEOPLE} (?:is |are |ist |sind )?{_FILLERS}(?:{_INSULT_NOUNS})(?:s|en|n)?\b"
    # dismissals and threats
    r"|\b(?:fuck|fck|fk|screw) (?:you|u|off|yourself|urself)\b|\bgo fuck\b|\bpiss off\b"
    r"|\bshut the fuck up\b|\bstfu\b|\bgo to hell\b|\bgo die\b|\bkill yourself\b|\bkys\b"
    r"|\b(?:i will|ill|i am going to|im going to|im gonna|i m gonna) (?:kill|hurt|find) you\b"
    r"|\bfick dich\b|\bverpiss dich\b|\bhalt die fresse\b|\bhalts maul\b|\bleck mich\b"
    r"|\bdu kannst mich mal\b|\bfahr zur holle\b|\bgeh sterben\b|\bich bring(?:e)? dich um\b"
)
# a message that is nothing but an insult: "idiot!", "you moron", "arschloch"
_BARE_INSULT = re.compile(rf"^{_FILLERS}(?:{_INSULT_NOUNS})$")


def abusive(text: str) -> bool:
    """An insult, harassment or a threat aimed at PAU or a person (English and German)."""
    said = canon(text)
    return bool(_ABUSE.search(said) or _BARE_INSULT.match(said))


# --- output checks --------------------------------------------------------------------------

EMPTY = "empty"
TOO_LONG = "too_long"
FOREIGN_URL = "url_not_in_course"
ANSWER_LEAKED = "answer_leaked"

_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>()\"']+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|de|uk|edu|gov|info|ly|app|ai|me)"
    r"\b(?:/[^\s<>()\"']*)?",
    re.IGNORECASE,
)
_LETTERS = "abcdefghij"
_ORDINALS = (
    ("first", "erste", "ersten"),
    ("second", "zweite", "zweiten"),
    ("third", "dritte", "dritten"),
    ("fourth", "vierte", "vierten"),
    ("fifth", "funfte", "funften"),
    ("sixth", "sechste", "sechsten"),
)
_TRUE_WORDS = "true|wahr|richtig"
_FALSE_WORDS = "false|untrue|not true|falsch|nicht wahr|nicht richtig"


def urls_in(text: str) -> list[str]:
    """The links in a text (with or without a scheme), trailing punctuation dropped."""
    return [match.rstrip(".,;:!?") for match in _URL.findall(text)]


def check_answer(
    text: str,
    *,
    passages: Iterable[str],
    item: Mapping[str, Any] | None,
    max_chars: int,
) -> list[str]:
    """What is wrong with a model's answer before it is sent: EMPTY, TOO_LONG, FOREIGN_URL (a
    link that is in none of the passages), ANSWER_LEAKED (for a hint: the open quiz's answer
    given away). An empty list: it may be sent."""
    if not text.strip():
        return [EMPTY]
    problems: list[str] = []
    if len(text) > max_chars:
        problems.append(TOO_LONG)
    sources = " ".join(passages).casefold()
    if any(_bare(url) not in sources for url in urls_in(text)):
        problems.append(FOREIGN_URL)
    if item is not None and leaks_answer(text, item):
        problems.append(ANSWER_LEAKED)
    return problems


def leaks_answer(text: str, item: Mapping[str, Any]) -> bool:
    """Whether a text gives away the answer of a quiz item (the `item` of ASK_TUTOR's args):
    the correct option's text, its letter, number or ordinal named as the answer, "true"/"false"
    stated for a true/false item, or an accepted typed answer."""
    said = canon(text)
    options = [str(option) for option in item.get("options") or ()]
    correct = item.get("correct_index")
    if (
        isinstance(correct, int)
        and 0 <= correct < len(options)
        and _names_option(said, options, correct)
    ):
        return True
    shown = f" {canon(str(item.get('question', '')))} "
    for answer in item.get("answers") or ():
        typed = canon(str(answer))
        # an answer already printed in the question gives nothing away
        if typed and f" {typed} " not in shown and re.search(rf"\b{re.escape(typed)}\b", said):
            return True
    return False


def _names_option(said: str, options: Sequence[str], correct: int) -> bool:
    texts = [canon(option) for option in options]
    if _is_true_false(texts):
        words = _TRUE_WORDS if correct == 0 else _FALSE_WORDS
        if re.search(
            rf"\b(?:(?:the )?answer|(?:the )?statement|it|this|that|(?:die )?antwort"
            rf"|(?:die )?aussage|es|das) (?:is|ist) (?:{words})\b|\b(?:its|thats) (?:{words})\b"
            rf"|^(?:{words})$",
            said,
        ):
            return True
    else:
        option = texts[correct]
        if option and _contains(said, option) and not all(_contains(said, t) for t in texts):
            return True
    letter = _LETTERS[correct] if correct < len(_LETTERS) else ""
    number = str(correct + 1)
    ordinal = "|".join(_ORDINALS[correct]) if correct < len(_ORDINALS) else "(?!)"
    pointer = (
        r"(?:the )?(?:right |correct )?(?:answer|antwort|option|choice|letter|number|nummer"
        r"|auswahl|buchstabe|losung)(?: is| ist| would be| ware)?"
    )
    picking = r"(?:its|it is|thats|that is|go with|pick|choose|select|tap|nimm|wahle|es ist)"
    # "a" is also an article: "it's a good idea" names no option, "it's a." and "option a" do
    after_letter = r"(?= *$| (?:is|ist|because|since|weil|denn|right|correct|richtig)\b)"
    named = rf"{letter}{after_letter}" if letter == "a" else letter
    return bool(
        re.search(rf"\b{pointer} (?:{named}|{number})\b", said)
        or re.search(rf"\b{picking} (?:option |answer |choice )?{named}\b", said)
        or re.search(rf"(?:^| ){letter} (?:is|ist) (?:the )?(?:right|correct|it)\b", said)
        or re.search(rf"\b(?:the )?(?:{ordinal}) (?:one|option|answer|choice|antwort)\b", said)
    )


def _bare(url: str) -> str:
    """A link as compared with the passages: no scheme, no "www.", lower case."""
    return re.sub(r"^(?:https?://)?(?:www\.)?", "", url.casefold())


def _is_true_false(texts: Sequence[str]) -> bool:
    return list(texts) == ["true", "false"]


def _contains(said: str, phrase: str) -> bool:
    return re.search(rf"(?:^| ){re.escape(phrase)}(?: |$)", said) is not None
