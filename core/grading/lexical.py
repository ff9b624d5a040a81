"""Words for the grader: a small English lemmatiser, synonym groups, negation and antonym flips.

`lemma("forgotten") == lemma("forgetting") == lemma("forgot")`: irregular forms come from a table,
regular inflections from suffix rules (the keys need to agree, not to be dictionary words).
`concept()` then maps synonyms to one key (`review`, `revisit`, `revise` → `review`), so "quizzing
yourself" and "self-testing" meet even without the embedding model.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

STOPWORDS = frozenset(
    """a an the and or but if of to in on at for with by from as is are was were be been being am it
    its it's this that these those i you he she we they me him her us them my your his our their
    what why how when where who whom which do does did doing done can could should would will shall
    may might must so than then there here about into onto over under up down out off also just
    very really quite too any some such only own each every all both either more most much
    many lot lots thing things something stuff way ways like get gets got one ones have has had
    having make makes made let lets yourself myself itself themselves ourselves because while
    even still actually basically kind sort well say says said whereas whilst though although
    unless since instead rather cause cuz coz during u ur im youre s t ll re ve d m""".split()
)

IRREGULAR = {
    "forgot": "forget", "forgotten": "forget", "learnt": "learn", "went": "go", "gone": "go",
    "goes": "go", "took": "take", "taken": "take", "gave": "give", "given": "give", "saw": "see",
    "seen": "see", "knew": "know", "known": "know", "thought": "think", "felt": "feel",
    "kept": "keep", "held": "hold", "built": "build", "brought": "bring", "taught": "teach",
    "caught": "catch", "found": "find", "wrote": "write", "written": "write", "spent": "spend",
    "left": "leave", "lost": "lose", "meant": "mean", "slept": "sleep", "understood": "understand",
    "began": "begin", "begun": "begin", "became": "become", "chose": "choose", "chosen": "choose",
    "better": "good", "best": "good", "worse": "bad", "worst": "bad", "less": "little",
    "least": "little", "fewer": "few", "stronger": "strong", "longer": "long", "children": "child",
    "people": "person", "memories": "memory", "studies": "study", "studied": "study",
    "drew": "draw", "drawn": "draw", "ran": "run", "mistaken": "mistake", "fell": "fall",
    "fallen": "fall", "stuck": "stick", "won": "win", "wins": "win", "winning": "win",
    "used": "use", "using": "use", "uses": "use", "made": "make", "quizzing": "quiz",
    "quizzed": "quiz", "quizzes": "quiz",
}  # fmt: skip

Y_SUFFIXES = ("iest", "ier", "ies", "ied", "ily")
SUFFIXES = ("ation", "ated", "ate", "ing", "edly", "ly", "est", "ed", "er")
DOUBLING_SUFFIXES = frozenset({"ing", "ed", "er", "est"})

SYNONYM_GROUPS = (
    "memory remember memorise memorize retain retention",
    "recall retrieve retrieval recollect",
    "test quiz quizzing exam selftest selftesting flashcard",
    "forget fade decay",
    "fast quick quickly rapid rapidly swift steep speed",
    "slow gradual gradually",
    "review revise revision revisit refresh",
    "reread rereading reviewing_notes",
    "strong strengthen reinforce solidify deepen",
    "weak weaken",
    "easy simple effortless",
    "hard difficult effortful challenging tough demanding",
    "effort struggle strain",
    "mistake error wrong",
    "mix interleave shuffle alternate",
    "cram cramming massed massing binge",
    "space spaced spacing spread distribute",
    "gap interval break pause delay",
    "sleep nap asleep",
    "picture image visual diagram drawing graphic illustration sketch chart",
    "understand comprehend grasp",
    "explain describe elaborate",
    "link connect relate associate tie",
    "familiar recognise recognize recognition",
    "help aid assist benefit improve",
    "show reveal expose uncover highlight",
    "chunk piece bit segment",
    "beginner novice newcomer",
    "expert experienced advanced",
    "distraction interruption clutter noise",
    "capacity limit",
    "store hold keep save",
    "evidence research proof",
    "last lasting durable permanent longterm",
    "immediate instant shortterm",
    "stabilise stabilize consolidate consolidation",
    "learn study",
    "practice practise train drill exercise",
    "plan schedule planned scheduled",
    "many loads tons plenty heaps",
    "big huge large enormous massive",
    "different differ distinct separate",
)

NO_ANSWERS = frozenset(
    ("idk", "dunno", "skip", "pass", "no idea", "no clue", "not sure", "nothing", "i don't know",
     "i dont know", "don't know", "dont know", "i forgot")
)  # fmt: skip
_NO_ANSWER_WORDS = frozenset(
    """idk dunno skip pass no idea clue tbh sure not i don't dont know im i'm have sorry lol
    honestly really forgot nothing""".split()
)


# words that say the opposite of a partner ("slower" of "faster"): when two claims use the pair,
# one each way, that is a flip like a negation
OPPOSITE_WORDS = {
    "slow": "fast", "less": "more", "little": "much", "few": "many", "bad": "good",
    "weak": "strong", "weaken": "strengthen", "hard": "easy", "difficult": "easy", "hurt": "help",
    "harm": "help", "decrease": "increase", "short": "long", "low": "high", "flat": "steep",
    "flatten": "steep", "lose": "win", "useless": "useful", "pointless": "useful",
    "ineffective": "effective", "small": "big", "tiny": "big", "limited": "unlimited",
    "different": "same",
}  # fmt: skip
NEGATIONS = frozenset(
    """no not never cannot nor neither nothing hardly dont doesnt didnt isnt arent wasnt werent cant
    wont wouldnt couldnt shouldnt havent hasnt hadnt aint""".split()
)


def words(text: str) -> list[str]:
    """Lower-case word tokens; "don't" stays one token, "re-reading" becomes "rereading" and
    "long term" "longterm"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    plain = re.sub(r"(?<=[a-z])-(?=[a-z])", "", plain)
    plain = re.sub(r"\b(short|long) term\b", r"\1term", plain)  # one idea, one word
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", plain)


@cache
def lemma(word: str) -> str:
    """A key shared by the inflections of one word: forgot, forgetting, forgotten → forget."""
    word = word.casefold().replace("'", "")
    if word in IRREGULAR:
        return lemma(IRREGULAR[word])
    word = re.sub(r"iz(e|es|ed|ing|ation|ations)$", r"is\1", word)  # memorize = memorise
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    for suffix in Y_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + "y"  # studies, tried, easier, easily → study, …
    if word.endswith("s") and len(word) > 4:
        word = word[:-1]  # one plural or third-person s: "decreases" → "decrease"
    return _strip(word)


def _strip(word: str) -> str:
    for suffix in SUFFIXES:
        stem = word[: -len(suffix)]
        if not word.endswith(suffix) or len(stem) < 3:
            continue
        doubled = len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz"
        if suffix in DOUBLING_SUFFIXES and doubled:
            stem = stem[:-1]  # forgett → forget, beginn → begin (but fall, miss stay)
        return _strip(stem)  # "remembered" → "remember" → the same key as "remember"
    return word.removesuffix("e") if len(word) > 3 else word  # make/making meet at "mak"


def _group_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for group in SYNONYM_GROUPS:
        members = group.split()
        for member in members:
            index.setdefault(lemma(member), lemma(members[0]))
    return index


_SYNONYMS = _group_index()
_STOPWORD_LEMMAS = frozenset(lemma(w) for w in STOPWORDS)


def concept(word: str) -> str:
    """The lemma, with synonyms merged into their group's first word."""
    key = lemma(word)
    return _SYNONYMS.get(key, key)


def is_content(word: str) -> bool:
    if word in STOPWORDS or word in NEGATIONS or word.endswith("n't") or len(word) < 2:
        return False
    return lemma(word) not in _STOPWORD_LEMMAS


_OPPOSITES = {concept(word): concept(partner) for word, partner in OPPOSITE_WORDS.items()}


def content_concepts(text: str) -> list[str]:
    """Concept keys of the meaningful words of `text`, in order (no stopwords or negations)."""
    return [concept(w) for w in words(text) if is_content(w)]


def is_negation(token: str) -> bool:
    return token in NEGATIONS or token.endswith("n't")


def _opposite(token: str) -> str | None:
    return _OPPOSITES.get(concept(token)) if is_content(token) or token == "less" else None


@dataclass(frozen=True)
class Claim:
    """What a clause says, for spotting contradictions: its concepts and its polarity.

    `flipped` holds the concepts reached through an opposite word ("slower" → fast), so
    "forgetting is fastest" and "forgetting is slowest" share `fast` with opposite signs.
    A negation right before an opposite word cancels it: "not different" is just "same".
    `negations` holds, per negation, the concepts of the next few words: what it denies.
    `subject` is the first concept, usually what the clause is about.
    """

    negations: tuple[frozenset[str], ...]
    concepts: frozenset[str]
    flipped: frozenset[str]
    subject: str | None

    def disagrees_with(
        self, other: Claim, ignore: frozenset[str] = frozenset(), *, scoped: bool = False
    ) -> bool:
        """True when the two claims have opposite polarity on the concepts they share (flips of
        `ignore`d concepts do not count). `scoped`: only negations of a shared concept count,
        so "shows what you don't know" says nothing about "mistakes are fine"."""
        shared = (self.concepts & other.concepts) - ignore
        flips = sum(1 for c in self.flipped ^ other.flipped if c in shared)
        for claim_ in (self, other):
            flips += sum(1 for denied in claim_.negations if not scoped or denied & shared)
        return flips % 2 == 1


NEGATION_REACH = 4  # content words after a negation that it denies


def claim(text: str) -> Claim:
    tokens = words(text)
    keys: list[tuple[str | None, bool]] = []  # per token: its concept, and if an opposite word
    for token in tokens:
        opposite = None if is_negation(token) else _opposite(token)
        if opposite is not None:
            keys.append((opposite, True))
        else:
            keys.append((concept(token) if is_content(token) else None, False))
    negations: list[frozenset[str]] = []
    flips: dict[str, set[bool]] = {}  # concept → how it was said: flipped, plain or both
    pending = -9  # index of the last negation not yet spent on an opposite word
    for i, (token, (key, is_opposite)) in enumerate(zip(tokens, keys, strict=True)):
        if is_negation(token):
            ahead = [k for k, _ in keys[i + 1 :] if k is not None][:NEGATION_REACH]
            negations.append(frozenset(ahead))
            pending = i
        elif key is not None:
            cancelled = is_opposite and i - pending <= 3  # "isn't different": flips cancel
            if cancelled:
                negations.pop()
                pending = -9
            flips.setdefault(key, set()).add(is_opposite and not cancelled)
    found = [k for k, _ in keys if k is not None]
    # "fastest at first, then slower" says both: such a concept carries no polarity
    flipped = frozenset(c for c, ways in flips.items() if ways == {True})
    return Claim(tuple(negations), frozenset(found), flipped, found[0] if found else None)


def is_no_answer(answer: str) -> bool:
    """Empty, "idk", "i have no idea", "skip"…: nothing to grade."""
    tokens = words(answer)
    plain = " ".join(tokens)
    return (
        not tokens or plain in NO_ANSWERS or (len(tokens) <= 6 and set(tokens) <= _NO_ANSWER_WORDS)
    )
