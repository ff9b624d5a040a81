"""The answer cache's key: the same question about the same lesson gets the same key.

"Same question" is decided on a normalised form: case, accents' composition, punctuation, emoji,
spacing and a few words that never change what is asked (articles, greetings, "please") do not
count. Word order does ("is spacing better than cramming" is not "is cramming better than
spacing"), and so does every question word ("how" is not "why"). The course slug and its content
revision are part of the key, so a course update retires every cached answer; so are the concept,
the language and the learner's level, which the answer is written for.

The key is a SHA-256 hex digest (64 characters): the stored key holds no learner text.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

# Bump when the normalisation changes: old entries then simply stop matching.
KEY_VERSION = "1"

# Words that carry no part of the question, per language. Deliberately short: a word that could
# change the meaning (a question word, a negation, a pronoun) never goes. German articles are
# dropped only for German ("die" is an English verb).
FILLER_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "a an the please pls plz hi hello hey thanks thank ok okay so um uh erm".split()
    ),
    "de": frozenset(
        "der die das den dem des ein eine einen einem einer eines bitte hallo hi hey danke "
        "ok okay also äh ähm".split()
    ),
}

_APOSTROPHES = re.compile(r"['\u2019\u02bc`´]")
_NOT_A_WORD = re.compile(r"[^\w]+")


def normalise_question(question: str, *, language: str) -> str:
    """The question as compared: words in their order, lower-case, no punctuation or fillers."""
    text = unicodedata.normalize("NFKC", question).casefold()
    text = _APOSTROPHES.sub("", text)  # "what's" and "whats" are the same word
    fillers = FILLER_WORDS.get(language.split("-")[0].casefold(), FILLER_WORDS["en"])
    words = _NOT_A_WORD.sub(" ", text).replace("_", " ").split()
    return " ".join(word for word in words if word not in fillers)


def answer_cache_key(
    *, course: str, revision: int | str, concept_id: str, question: str, language: str, level: str,
    interests: str = "",
) -> str:  # fmt: skip
    """The key of a cached answer to `question` about `concept_id` in that course revision, for
    learners of that language, level and stated interests (the answer is adapted to them)."""
    parts = [
        KEY_VERSION,
        course,
        str(revision),
        concept_id,
        language.casefold(),
        level.casefold(),
        normalise_question(question, language=language),
        *([interests.casefold()] if interests else []),  # keys made before stay the same
    ]
    material = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
