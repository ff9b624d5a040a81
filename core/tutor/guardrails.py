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

from core.content import normalize
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
_TRUE_WORDS = "true|wahr|richtig|not false|nicht falsch"
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
    stated for a true/false item, every wrong option ruled out ("not b, c or d"), the correct
    option paraphrased in a statement, or an accepted typed answer."""
    said = canon(text)
    options = [str(option) for option in item.get("options") or ()]
    correct = item.get("correct_index")
    if isinstance(correct, int) and 0 <= correct < len(options):
        if _names_option(said, options, correct):
            return True
        if _rules_out_the_rest(text, len(options), correct):
            return True
        question = str(item.get("question", ""))
        if not _is_true_false([canon(o) for o in options]) and _paraphrases(
            text, question, options, correct
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


# --- (a) elimination: every wrong option ruled out by letter, number or ordinal ---------------
#
# "Not b, c or d." / "It's not the second, third or fourth one" / "a, c and d are wrong" names
# the answer as surely as "it's b". Lists of option references are read in each sentence of the
# text (normalised without canon's "or d" -> "ord" join) and count as ruled out when a negation
# stands before them or "is/are wrong" follows. A single "a", a bare number or a bare ordinal is
# too often an article, a quantity or a time ("not a good idea", "not 2 days", "not the first
# time") and counts only when the reference is unmistakable: after "option"/"answer", before
# "one"/"option", at the end of the sentence, or (for "a") in a list with another letter.

_NEGATIONS = frozenset(
    "not isnt arent wasnt neither nor never exclude eliminate nicht weder noch kein keine"
    " streich streiche".split()
)
_NEGATION_PAIRS = frozenset({("rule", "out"), ("ruled", "out"), ("cross", "out")})
_POINTERS = frozenset(
    "option options answer answers choice choices letter letters number numbers antwort"
    " antworten optionen nummer nummern buchstabe buchstaben".split()
)
_LIST_FILLERS = frozenset("the either even die der das den".split())
_SEPARATORS = frozenset("or and nor not oder und noch nicht the die der das".split())
_OPTION_NOUNS = frozenset(
    "one ones option options answer answers choice choices antwort antworten optionen".split()
)
_COPULAS = frozenset("is are ist sind".split())
_WRONG = frozenset(
    "wrong incorrect false out falsch raus eliminated excluded ausgeschlossen".split()
)
_WRONG_PAIRS = frozenset(
    {("not", "it"), ("not", "right"), ("not", "correct"), ("nicht", "richtig")}
)
_LAST = ("last", "letzte", "letzten")


def _rules_out_the_rest(text: str, count: int, correct: int) -> bool:
    wrong = set(range(count)) - {correct}
    ruled: set[int] = set()
    for sentence in re.split(r"[.!?;:\n]+", text):
        ruled |= _ruled_out(_plain(sentence), count)
    return bool(wrong) and wrong <= ruled and correct not in ruled


def _plain(sentence: str) -> list[str]:
    """A sentence's words: `normalize`d, "isn't" -> "isnt", "I'd" -> "id" (canon would also
    make "c or d" into "c ord")."""
    said = re.sub(r"\b(\w+) (t|s|m|re|ll|ve)\b", r"\1\2", normalize(sentence))
    return re.sub(r"\b(i|you|he|she|we|they|it|that|who) d\b", r"\1d", said).split()


def _reference(word: str, count: int) -> tuple[str, int] | None:
    """("letter" | "number" | "ordinal", index) of a word naming an option, else None."""
    if len(word) == 1 and word in _LETTERS[:count]:
        return "letter", _LETTERS.index(word)
    if word.isdigit() and 1 <= int(word) <= count:
        return "number", int(word) - 1
    for index, words in enumerate(_ORDINALS[:count]):
        if word in words:
            return "ordinal", index
    if word in _LAST:
        return "ordinal", count - 1
    return None


def _ruled_out(words: Sequence[str], count: int) -> set[int]:
    ruled: set[int] = set()
    i = 0
    while i < len(words):
        if _reference(words[i], count) is None:
            i += 1
            continue
        start = i
        refs: list[tuple[str, int]] = []
        while i < len(words):
            ref = _reference(words[i], count)
            if ref is not None:
                refs.append(ref)
            elif words[i] not in _SEPARATORS or not refs:
                break
            i += 1
        while refs and words[i - 1] in _SEPARATORS:  # "not b or" ends at b
            i -= 1
        before = start - 1
        while before >= 0 and words[before] in _LIST_FILLERS:
            before -= 1
        pointer = before >= 0 and words[before] in _POINTERS
        if pointer:
            before -= 1
            while before >= 0 and words[before] in _LIST_FILLERS:
                before -= 1
        negated = before >= 0 and (
            words[before] in _NEGATIONS
            or (before >= 1 and (words[before - 1], words[before]) in _NEGATION_PAIRS)
        )
        after = i
        noun = after < len(words) and words[after] in _OPTION_NOUNS
        if noun:
            after += 1
        if after < len(words) and words[after] in _COPULAS:
            rest = [w for w in words[after + 1 : after + 4] if w not in ("all", "alle")]
            if rest and (rest[0] in _WRONG or tuple(rest[:2]) in _WRONG_PAIRS):
                negated = True
        if not negated:
            continue
        ending = after >= len(words) or words[after] in _COPULAS
        letters = {index for kind, index in refs if kind == "letter"}
        sure = pointer or noun or ending
        ruled |= {
            index
            for kind, index in refs
            if sure or (kind == "letter" and (index != 0 or len(letters) > 1))
        }
    return ruled


# --- (b) paraphrase: most of the correct option's distinctive words, in a statement -----------
#
# "It's the one about the first hours and days." gives away "Soon after learning, in the first
# hours and days" without quoting it. An option's distinctive words are its words, lightly
# stemmed, minus stopwords and minus every word of the question (those are on the screen and
# any hint may use them); an option with fewer than two gives too little to judge. A statement
# leaks when it holds more than half of the correct option's distinctive words and covers every
# other option less (listing all the options points at none).
#
# Questions are left out of this rule (not of the others): the hint is meant to be "one short
# question back", and a good one must name the idea it asks about ("What did Ebbinghaus notice
# about the first hours after learning?"), so it overlaps the right option by design while
# leaving the learner to decide. A statement asserts. A leading question ("Isn't it the one
# about the first hours and days?") is read as a statement.

_STOPWORDS = frozenset(
    """a an the and or but nor of in on at to for from by with without into onto over under
    after before about as is are was were be been being am it its this that these those there
    here who whom whose which what when where why how than then so such very much more most
    less least only just also even not no do does did done doing have has had having can could
    will would should may might must shall you your yours i me my mine we us our they them their
    he him his she her one ones some any all each every both other another same if while
    because since until again once way thing things get gets got make makes made let lets
    der die das den dem des ein eine einer eines einem einen und oder aber nicht ist sind war
    waren es sie er wir ich du ihr in im an am auf aus bei mit nach von vor zu zum zur fur uber
    unter als wie was wer wo wann warum dass so nur auch noch schon sehr mehr man sich""".split()
)
_LEADING = re.compile(
    r"^(?:isnt it|wouldnt it|couldnt it|could it be|might it be|maybe its|surely its"
    r"|ist es nicht|konnte es)\b"
)


def _paraphrases(text: str, question: str, options: Sequence[str], correct: int) -> bool:
    statements = " ".join(
        sentence
        for sentence in re.findall(r"[^.!?\n]+[.!?]*", text)
        if not sentence.strip().rstrip(")\"'”’»").endswith("?") or _LEADING.match(canon(sentence))
    )
    said = _stems(statements)
    if not said:
        return False
    shown = _stems(question)
    words = [_stems(option) - _STOPWORDS_STEMS - shown for option in options]
    if len(words[correct]) < 2:
        return False

    def cover(index: int) -> float:
        return len(words[index] & said) / len(words[index]) if words[index] else 0.0

    hit = cover(correct)
    return hit > 0.5 and all(cover(i) < hit for i in range(len(options)) if i != correct)


def _stems(text: str) -> set[str]:
    return {_stem(word) for word in canon(text).split() if word not in _STOPWORDS}


def _stem(word: str) -> str:
    """A light English stemmer: "sessions" -> "session", "studied" -> "study", "splitting" ->
    "split", "confused" -> "confus" (so is "confuse"); enough to match a word's forms."""
    for suffix, replacement in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            break
    else:
        if re.search(r"(?:s|x|z|ch|sh)es$", word) and len(word) > 4:
            word = word[:-2]
        elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
            word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


_STOPWORDS_STEMS = frozenset(_stem(word) for word in _STOPWORDS)


def _bare(url: str) -> str:
    """A link as compared with the passages: no scheme, no "www.", lower case."""
    return re.sub(r"^(?:https?://)?(?:www\.)?", "", url.casefold())


def _is_true_false(texts: Sequence[str]) -> bool:
    return list(texts) == ["true", "false"]


def _contains(said: str, phrase: str) -> bool:
    return re.search(rf"(?:^| ){re.escape(phrase)}(?: |$)", said) is not None
