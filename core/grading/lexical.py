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
    "fast quick quickly rapid rapidly swift steep",
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
    "last lasting durable permanent",
    "immediate instant",
    "stabilise stabilize consolidate consolidation",
    "learn study",
    "practice practise train drill exercise",
    "plan schedule planned scheduled",
    "many loads tons plenty heaps",
    "big huge large enormous massive",
    "different differ distinct separate",
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
    """Lower-case word tokens; "don't" stays one token, "re-reading" becomes "rereading"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    plain = re.sub(r"(?<=[a-z])-(?=[a-z])", "", plain)
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
        if suffix in DOUBLING_SUFFIXES and len(stem) > 3 and stem[-1] == stem[-2]:
            if stem[-1] not in "lsz":
                stem = stem[:-1]  # forgett → forget, beginn → begin
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
    """Concept keys of the meaningful words of `text`, in order (stopwords and negations left out)."""
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
    `subject` is the first concept, usually what the clause is about.
    """

    negated: bool
    concepts: frozenset[str]
    flipped: frozenset[str]
    subject: str | None

    def disagrees_with(self, other: Claim, ignore: frozenset[str] = frozenset()) -> bool:
        """True when the two claims have opposite polarity on the concepts they share (flips of
        `ignore`d concepts do not count)."""
        shared = (self.concepts & other.concepts) - ignore
        flips = sum(1 for c in self.flipped ^ other.flipped if c in shared)
        return (self.negated != other.negated) != (flips % 2 == 1)


def claim(text: str) -> Claim:
    tokens = words(text)
    negations = 0
    found: list[str] = []
    flips: dict[str, set[bool]] = {}  # concept → how it was said: flipped, plain or both
    pending = -9  # index of the last negation not yet spent on an opposite word
    for i, token in enumerate(tokens):
        if is_negation(token):
            negations += 1
            pending = i
            continue
        opposite = _opposite(token)
        if opposite is not None:
            cancelled = i - pending <= 3  # "isn't different", "no less": the two flips cancel
            if cancelled:
                negations -= 1
                pending = -9
            flips.setdefault(opposite, set()).add(not cancelled)
            found.append(opposite)
        elif is_content(token):
            key = concept(token)
            flips.setdefault(key, set()).add(False)
            found.append(key)
    # "fastest at first, then slower" says both: such a concept carries no polarity
    flipped = frozenset(c for c, ways in flips.items() if ways == {True})
    return Claim(negations % 2 == 1, frozenset(found), flipped, found[0] if found else None)
