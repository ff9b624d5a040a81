"""The tutor's guardrails as tables: abuse in the learner's words, and the checks every model
answer passes before it is sent (length, links, the open quiz's answer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.content_loader import load_course
from core.tutor.guardrails import (
    ANSWER_LEAKED,
    EMPTY,
    FOREIGN_URL,
    TOO_LONG,
    abusive,
    check_answer,
    leaks_answer,
    urls_in,
)

ABUSE = [
    # insults and threats aimed at PAU or at people
    ("you idiot", True),
    ("You're useless!!", True),
    ("you are such a fucking moron", True),
    ("are you stupid or what", True),
    ("stupid bot", True),
    ("this useless app", True),
    ("idiot!", True),
    ("fuck you", True),
    ("f*ck off", False),  # masked: no word left to match (and mostly frustration)
    ("fuck off", True),
    ("go fuck yourself PAU", True),
    ("shut the fuck up", True),
    ("kill yourself", True),
    ("I'll kill you", True),
    ("my mentor is an idiot", True),
    ("she's such a bitch", True),
    ("they are losers", True),
    ("Du bist so dumm", True),
    ("du Arschloch", True),
    ("blöder Bot", True),
    ("fick dich", True),
    ("halt die Fresse", True),
    ("der Mentor ist ein Vollidiot", True),
    ("verpiss dich", True),
    # frustration, self-talk and ordinary questions are not abuse
    ("this is f***ing hard", False),
    ("this is fucking hard", False),
    ("fuck this quiz", False),
    ("what the hell is interleaving", False),
    ("I'm such an idiot, I forgot again", False),
    ("am I stupid? I keep getting it wrong", False),
    ("this question is stupid", False),
    ("life is a bitch", False),
    ("thank you, dumb question from me", False),
    ("you're not stupid, I am", False),
    ("I hate this topic", False),
    ("damn, wrong again", False),
    ("das ist echt schwer", False),
    ("ich bin so dumm heute", False),
    ("scheiße, schon wieder falsch", False),
    ("what is the spacing effect?", False),
    ("can you explain it in a stupid simple way", False),
    ("", False),
]


@pytest.mark.parametrize(("text", "expected"), ABUSE)
def test_abusive(text: str, expected: bool) -> None:
    assert abusive(text) is expected


MULTIPLE_CHOICE = {
    "id": "spacing-1",
    "question": "Two people study the same material for the same total time. Who will probably "
    "remember most a month later?",
    "options": [
        "The one who studied in a single long session",
        "The one who split it into sessions a few days apart",
        "Both the same, since only total time counts",
        "The one who studied late at night in one go",
    ],
    "correct_index": 1,
    "answers": [],
    "explanation": "With equal total time, spreading sessions out gives much better long-term "
    "retention than massing them into one block.",
}
FIRST_IS_RIGHT = {**MULTIPLE_CHOICE, "correct_index": 0}
TRUE_FALSE = {
    "id": "spacing-2",
    "question": "Cramming the night before can work for a test the next morning, but the memories "
    "tend to fade quickly afterwards.",
    "options": ["True", "False"],
    "correct_index": 0,
    "answers": [],
    "explanation": "Massed study can look fine on an immediate test.",
}
CLOZE = {
    "id": "spacing-4",
    "question": "Spreading study sessions out over time is called ___ practice, as opposed to "
    "massed practice.",
    "options": [],
    "correct_index": None,
    "answers": ["distributed", "spaced", "spacing", "distribution"],
    "explanation": "Distributed practice lets a little forgetting happen between sessions.",
}

LEAKS = [
    # the correct option, by its text, letter, number or place
    (MULTIPLE_CHOICE, "The answer is (b).", True),
    (MULTIPLE_CHOICE, "It's B!", True),
    (MULTIPLE_CHOICE, "Yes, it's b, well done.", True),
    (MULTIPLE_CHOICE, "Go with option 2.", True),
    (MULTIPLE_CHOICE, "The correct answer: b", True),
    (MULTIPLE_CHOICE, "Pick B.", True),
    (MULTIPLE_CHOICE, "b is right", True),
    (MULTIPLE_CHOICE, "The second option is the one.", True),
    (MULTIPLE_CHOICE, "Think of the one who split it into sessions a few days apart.", True),
    (MULTIPLE_CHOICE, "THE ONE WHO SPLIT IT INTO SESSIONS A FEW DAYS APART", True),
    (MULTIPLE_CHOICE, "Die richtige Antwort ist b.", True),
    (MULTIPLE_CHOICE, "Es ist b.", True),
    # hints that point toward the idea, or at a wrong option, give nothing away
    (MULTIPLE_CHOICE, "What happens to a memory when you come back to it after a gap?", False),
    (MULTIPLE_CHOICE, "Is it a good idea to do everything in one evening? Why not?", False),
    (MULTIPLE_CHOICE, "Look again at option a: would one long session last a month?", False),
    (MULTIPLE_CHOICE, "It's c? Think about whether total time is really all that counts.", False),
    (MULTIPLE_CHOICE, "Remember the spacing effect from the lesson.", False),
    # "a" is an article too
    (FIRST_IS_RIGHT, "It's a question of timing: what did the lesson say about gaps?", False),
    (FIRST_IS_RIGHT, "It's a.", True),
    (FIRST_IS_RIGHT, "The answer is a, because cramming works.", True),
    (FIRST_IS_RIGHT, "Option 1 it is.", True),
    # true/false: stating the value is the leak; asking about truth is not
    (TRUE_FALSE, "It's true!", True),
    (TRUE_FALSE, "The statement is true.", True),
    (TRUE_FALSE, "Die Aussage ist wahr.", True),
    (TRUE_FALSE, "true", True),
    (TRUE_FALSE, "The answer is a.", True),
    (TRUE_FALSE, "Is it true that a crammed memory lasts a month? Think about it.", False),
    (TRUE_FALSE, "What happens the next morning, and what a week later?", False),
    (TRUE_FALSE, "It's false.", False),  # wrong, but gives nothing away
    # typed answers: any accepted answer
    (CLOZE, "The word is distributed.", True),
    (CLOZE, "Think of spaced practice.", True),
    (CLOZE, "Remember the SPACING effect?", True),
    (CLOZE, "What is the opposite of massing your practice in one block?", False),
    (CLOZE, "Think about the word for spreading things out, a synonym of 'distributing'.", False),
]


@pytest.mark.parametrize(("item", "text", "expected"), LEAKS)
def test_leaks_answer(item: dict[str, object], text: str, expected: bool) -> None:
    assert leaks_answer(text, item) is expected


def test_all_options_listed_point_at_none() -> None:
    listing = " / ".join(str(option) for option in MULTIPLE_CHOICE["options"])  # type: ignore[attr-defined]
    assert not leaks_answer(f"Which is it: {listing}?", MULTIPLE_CHOICE)


def test_an_answer_printed_in_the_question_is_no_leak() -> None:
    item = {
        **CLOZE,
        "question": "Spaced practice is also called ___ practice.",
        "answers": ["spaced"],
    }
    assert not leaks_answer("Spaced practice: what else is it called?", item)


PASSAGES = ["Find a crisis line at findahelpline.com.", "See https://example.org/spacing for more."]

CHECKS = [
    ("Spacing spreads study out.", None, []),
    ("", None, [EMPTY]),
    ("   \n ", None, [EMPTY]),
    ("x" * 701, None, [TOO_LONG]),
    ("x" * 700, None, []),
    ("Read https://evil.example.com/x now.", None, [FOREIGN_URL]),
    ("Try www.studyhacks.com.", None, [FOREIGN_URL]),
    ("Try studyhacks.io/tips", None, [FOREIGN_URL]),
    ("Call a line: findahelpline.com.", None, []),
    ("Call a line: https://www.findahelpline.com", None, []),
    ("More at https://example.org/spacing.", None, []),
    ("More at https://example.org/other", None, [FOREIGN_URL]),
    ("The answer is (b).", MULTIPLE_CHOICE, [ANSWER_LEAKED]),
    ("The answer is (b).", None, []),  # an answer, not a hint: no quiz to leak
    ("What does a gap do to a memory?", MULTIPLE_CHOICE, []),
    (
        "It's b, see https://x.com " + "y" * 700,
        MULTIPLE_CHOICE,
        [TOO_LONG, FOREIGN_URL, ANSWER_LEAKED],
    ),
]


@pytest.mark.parametrize(("text", "item", "expected"), CHECKS)
def test_check_answer(text: str, item: dict[str, object] | None, expected: list[str]) -> None:
    assert check_answer(text, passages=PASSAGES, item=item, max_chars=700) == expected


def test_urls_in() -> None:
    assert urls_in("See https://a.org/x, and www.b.com. Or c.de!") == [
        "https://a.org/x",
        "www.b.com",
        "c.de",
    ]
    assert urls_in("e.g. spacing, i.e. gaps; 3.5 hours") == []


# --- elimination and paraphrase, on the demo course's real quiz items ---------------------

COURSE = load_course(Path(__file__).resolve().parent.parent / "content" / "science-of-learning")


def real(item_id: str) -> dict[str, object]:
    """A demo course quiz item as ASK_TUTOR's args carry it."""
    (item,) = [q for c in COURSE.concepts for q in c.quiz if q.id == item_id]
    return {
        "question": item.question,
        "options": list(item.options),
        "correct_index": item.correct_index,
        "answers": list(item.answers),
        "explanation": item.explanation,
    }


FORGETTING = real("forgetting-curve-1")  # a) "Soon after learning, in the first hours and days"
SPACING = real("spacing-1")  # b) "The one who split it into sessions a few days apart"
RELEARNING = real("forgetting-curve-2")  # true/false, correct: False (b)
INTERLEAVING = real("interleaving-4")  # a) "When the topics are similar and easy to confuse"
WORKING_MEMORY = real("cognitive-load-1")  # a) "Around four"; b) "Around forty"
RETRIEVAL = real("retrieval-practice-3")  # c) "Rereading your highlighted notes"

ELIMINATION_AND_PARAPHRASE = [
    # every wrong option ruled out, by letter, number or ordinal, in any order
    (FORGETTING, "Not b, c or d.", True),
    (FORGETTING, "It's not the second, third or fourth one", True),
    (FORGETTING, "It isn't d, b or c.", True),
    (FORGETTING, "Options 4, 2 and 3 are wrong.", True),
    (FORGETTING, "Not b. Not c. And certainly not d.", True),
    (FORGETTING, "Nicht b, c oder d.", True),
    (SPACING, "Not a, c or d!", True),
    (SPACING, "You can rule out a, c and d.", True),
    (SPACING, "It's neither the first nor the third nor the last one.", True),
    (RELEARNING, "It's not a.", True),
    (RELEARNING, "Definitely not the first one.", True),
    (real("spacing-2"), "It's not false.", True),  # true/false: "not false" states "true"
    # the correct option in other words, in a statement
    (FORGETTING, "It's the one about the first hours and days.", True),
    (FORGETTING, "It's the one about the first hours and days. Does that help?", True),
    (FORGETTING, "Isn't it the one about the first hours and days?", True),  # leading
    (SPACING, "Think of splitting the work into sessions a few days apart.", True),
    (INTERLEAVING, "It's for topics that are similar and easy to confuse.", True),
    (RETRIEVAL, "Rereading highlighted notes puts information in, it does not pull it out.", True),
    # ordinary Socratic hints still pass
    (FORGETTING, "What did Ebbinghaus notice about the first hours after learning?", False),
    (FORGETTING, "Picture the curve Ebbinghaus drew. Where does it drop most steeply?", False),
    (FORGETTING, "Is forgetting really steady, or does its speed change over time?", False),
    (FORGETTING, "Not quite. Look at the shape of the curve again.", False),
    (FORGETTING, "It's not b: forgetting is not steady. What about the others?", False),
    (FORGETTING, "Not the first time you've seen this curve, right? Where is it steepest?", False),
    (SPACING, "Think about what happens to a memory between study sessions.", False),
    (SPACING, "It's not a matter of total time. What does a gap do to a memory?", False),
    (SPACING, "It isn't a or d: one sitting fades, however long. What about the others?", False),
    (SPACING, "Not 2 days or a week: think of what a gap does, whatever its length.", False),
    (RELEARNING, "Is the memory really gone, or does relearning go faster the second time?", False),
    (INTERLEAVING, "When would mixing topics make you compare them? Think about it.", False),
    (WORKING_MEMORY, "Working memory is tiny: think of a handful of chunks.", False),
    # the correct and a wrong option covered equally: no pointer
    (WORKING_MEMORY, "Decide whether it is four or forty, around a handful or more.", False),
    (
        RETRIEVAL,
        "Which of these pulls information out of memory, and which only puts it in?",
        False,
    ),
]


@pytest.mark.parametrize(("item", "text", "expected"), ELIMINATION_AND_PARAPHRASE)
def test_elimination_and_paraphrase(item: dict[str, object], text: str, expected: bool) -> None:
    assert leaks_answer(text, item) is expected


def test_every_option_of_every_real_item_listed_points_at_none() -> None:
    for concept in COURSE.concepts:
        for quiz in concept.quiz:
            if quiz.options:
                listing = "Think about each: " + "; ".join(quiz.options) + "."
                assert not leaks_answer(listing, real(quiz.id)), quiz.id
