"""Typed answers (content/FORMAT.md, "Typed answers"): judged against the real demo course."""

from __future__ import annotations

import pytest

from core.content import Course, QuizItem, QuizType
from core.dialogue.spelling import edits, phrase, typo_budget
from core.dialogue.typed_answers import (
    TypedOutcome,
    TypedVerdict,
    check_typed,
    course_competitors,
    pick_option,
)

RIGHT, NEAR, WRONG = TypedOutcome.RIGHT, TypedOutcome.NEAR_MISS, TypedOutcome.WRONG

# Items that the demo course has no example of: a short answer, a number, German articles.
MADE_UP = {
    "dna": QuizItem(
        "dna", "c", QuizType.SHORT_ANSWER, "Which molecule carries genes?", "", answers=("DNA",)
    ),
    "year": QuizItem(
        "year", "c", QuizType.CLOZE, "Ebbinghaus published in ___.", "", answers=("1885",)
    ),
    "kurve": QuizItem(
        "kurve", "c", QuizType.SHORT_ANSWER, "Wie heißt sie?", "", answers=("die Vergessenskurve",)
    ),
    "numbers": QuizItem(
        "numbers", "c", QuizType.MULTIPLE_CHOICE, "How many?", "", ("3", "1", "2", "7"), 1
    ),
}

# (item, typed, outcome, the accepted answer it matched)
TYPED = [
    # seen marked wrong, now accepted: the blank's own neighbours typed along
    ("spacing-4", "distributed practice", RIGHT, "distributed"),
    ("spacing-4", "Distributed practice.", RIGHT, "distributed"),
    ("spacing-4", "the distributed practice", RIGHT, "distributed"),
    ("spacing-4", "distributed practise", RIGHT, "distributed"),  # a typo in the context word
    ("spacing-4", "spaced practice", RIGHT, "spaced"),
    ("dual-coding-4", "superiority effect", RIGHT, "superiority"),
    ("dual-coding-4", "picture superiority effect", RIGHT, "superiority"),
    ("dual-coding-4", "the picture superiority effect", RIGHT, "superiority"),
    ("sleep-and-consolidation-4", "is called consolidation", RIGHT, "consolidation"),
    ("desirable-difficulties-4", "long-term learning", RIGHT, "learning"),
    # articles, case, plurals, word order
    ("forgetting-curve-3", "the savings", RIGHT, "savings"),
    ("forgetting-curve-3", "Savings!", RIGHT, "savings"),
    ("forgetting-curve-3", "saving", RIGHT, "saving"),
    ("forgetting-curve-3", "The Savings Effect", RIGHT, "savings effect"),
    ("elaboration-3", "meanings", RIGHT, "meanings"),
    ("illusions-of-competence-4", "illusions of competence", RIGHT, "illusions of competence"),
    ("illusions-of-competence-4", "An illusion of competence", RIGHT, "illusion of competence"),
    ("cognitive-load-4", "expertise-reversal effect", RIGHT, "expertise reversal effect"),
    ("cognitive-load-4", "Expertise reversal", RIGHT, "expertise reversal"),
    ("retrieval-practice-4", "effect testing", RIGHT, "testing effect"),
    ("kurve", "Vergessenskurve", RIGHT, "die Vergessenskurve"),
    ("kurve", "der Vergessenskurve", RIGHT, "die Vergessenskurve"),
    ("dna", "the DNA", RIGHT, "DNA"),
    # another name, from the lesson, in the item's accept: list
    ("retrieval-practice-4", "retrieval practice", RIGHT, "retrieval practice"),
    ("retrieval-practice-4", "The testing effect", RIGHT, "testing effect"),
    # small typos: near misses, with the spelling to show
    ("forgetting-curve-3", "savins", NEAR, "savings"),
    ("sleep-and-consolidation-4", "consolidaton", NEAR, "consolidation"),
    ("sleep-and-consolidation-4", "consolidatoin", NEAR, "consolidation"),  # a swap is one edit
    ("sleep-and-consolidation-4", "conslidaton", NEAR, "consolidation"),  # 2 edits, 13 letters
    ("spacing-4", "distribted", NEAR, "distributed"),
    ("dual-coding-4", "superiorty effect", NEAR, "superiority"),
    ("desirable-difficulties-4", "lerning", NEAR, "learning"),
    ("elaboration-3", "meening", NEAR, "meaning"),
    ("elaboration-3", "sens", NEAR, "sense"),
    ("retrieval-practice-4", "testing efect", NEAR, "testing effect"),
    ("retrieval-practice-4", "retrievalpractice", NEAR, "retrieval practice"),
    ("retrieval-practice-4", "teh testing effect", NEAR, "the testing effect"),
    ("illusions-of-competence-4", "Illusion of competance", NEAR, "illusion of competence"),
    ("illusions-of-competence-4", "illusion o competence", NEAR, "illusion of competence"),
    ("cognitive-load-4", "expertize reversal efect", NEAR, "expertise reversal effect"),
    # wrong answers that resemble right ones
    ("spacing-4", "massed practice", WRONG, None),
    ("spacing-4", "massed", WRONG, None),
    ("spacing-4", "practice", WRONG, None),  # only the context word
    ("dual-coding-4", "inferiority", WRONG, None),
    ("dual-coding-4", "picture effect", WRONG, None),
    ("sleep-and-consolidation-4", "consideration", WRONG, None),
    ("sleep-and-consolidation-4", "conslidatn", WRONG, None),  # 3 edits
    ("illusions-of-competence-4", "illusion of confidence", WRONG, None),
    ("cognitive-load-4", "expert reversal", WRONG, None),
    ("cognitive-load-4", "expertize reversl efect", WRONG, None),  # 3 edits in all
    ("retrieval-practice-4", "spacing effect", WRONG, None),
    ("forgetting-curve-3", "forgetting", WRONG, None),
    ("forgetting-curve-3", "", WRONG, None),
    # a typo as close to a different real answer of the course is not accepted
    ("desirable-difficulties-4", "leaning", WRONG, None),  # learning, or meaning (elaboration-3)?
    ("desirable-difficulties-4", "meaning", WRONG, None),  # 2 edits off "learning": a real answer
    ("elaboration-3", "learning", WRONG, None),
    ("spacing-4", "sacing", WRONG, None),  # spacing, or saving (forgetting-curve-3)?
    # short words and numbers: no typo allowed
    ("dna", "DMA", WRONG, None),
    ("dna", "DN", WRONG, None),
    ("year", "1886", WRONG, None),
    ("year", "1885", RIGHT, "1885"),
    # multiple choice and true/false typed
    (
        "forgetting-curve-1",
        "the first one",
        RIGHT,
        "Soon after learning, in the first hours and days",
    ),
    ("forgetting-curve-1", "option 1", RIGHT, "Soon after learning, in the first hours and days"),
    ("forgetting-curve-1", "b", WRONG, None),
    ("forgetting-curve-2", "false", RIGHT, "False"),
    ("forgetting-curve-2", "ja", WRONG, None),
]


def item_of(course: Course, item_id: str) -> QuizItem:
    item = MADE_UP.get(item_id) or course.quiz_item(item_id)
    assert item is not None, item_id
    return item


@pytest.mark.parametrize(("item_id", "typed", "outcome", "spelled"), TYPED)
def test_typed_answers(
    demo_course: Course, item_id: str, typed: str, outcome: TypedOutcome, spelled: str | None
) -> None:
    item = item_of(demo_course, item_id)
    verdict = check_typed(item, typed, course_competitors(demo_course, item))
    assert verdict == TypedVerdict(outcome, spelled)
    assert verdict.counts_as_correct is (outcome is not WRONG)  # FORMAT.md: a near miss counts


# (item, typed, the option it picks, 0-based; None: unclear, ask again)
PICKS = [
    ("forgetting-curve-1", "the first one", 0),
    ("forgetting-curve-1", "option 1", 0),
    ("forgetting-curve-1", "Option 1", 0),
    ("forgetting-curve-1", "first", 0),
    ("forgetting-curve-1", "1", 0),
    ("forgetting-curve-1", "1.", 0),
    ("forgetting-curve-1", "a", 0),
    ("forgetting-curve-1", "A)", 0),
    ("forgetting-curve-1", "(a)", 0),
    ("forgetting-curve-1", "die erste", 0),
    ("forgetting-curve-1", "one", 0),
    ("forgetting-curve-1", "b)", 1),
    ("forgetting-curve-1", "number 2", 1),
    ("forgetting-curve-1", "the second option", 1),
    ("forgetting-curve-1", "option two", 1),
    ("forgetting-curve-1", "zweite", 1),
    ("forgetting-curve-1", "Antwort c", 2),
    ("forgetting-curve-1", "last one", 3),
    ("forgetting-curve-1", "die letzte", 3),
    ("forgetting-curve-1", "soon after learning, in the first hours and days", 0),
    ("forgetting-curve-1", "Soon after lerning, in the first hours and days", 0),  # a typo
    ("forgetting-curve-1", "steady rate", 1),  # two words only that option has
    ("forgetting-curve-1", "e", None),
    ("forgetting-curve-1", "5", None),
    ("forgetting-curve-1", "0", None),
    ("forgetting-curve-1", "not the first one", None),
    ("forgetting-curve-1", "1 or 2", None),
    ("forgetting-curve-1", "the one", None),
    ("forgetting-curve-1", "why?", None),
    ("spacing-1", "the one who studied", None),  # in two options
    ("spacing-1", "one", None),  # "The one who ..." in three options: not clearly option 1
    ("spacing-1", "days apart", 1),
    ("retrieval-practice-3", "highlighted notes", 2),
    ("retrieval-practice-3", "rereading", None),  # one word: not safe enough
    ("cognitive-load-1", "four", 0),  # "Around four", not the fourth option
    ("cognitive-load-1", "4", 3),
    ("cognitive-load-1", "option four", 3),
    ("cognitive-load-1", "around fourty", 1),
    ("numbers", "2", 2),  # the option "2", not the second
    ("numbers", "option 2", 1),
    ("numbers", "the second one", 1),
    ("numbers", "4", 3),
    ("forgetting-curve-2", "false", 1),
    ("forgetting-curve-2", "F", 1),
    ("forgetting-curve-2", "no", 1),
    ("forgetting-curve-2", "wrong", 1),
    ("forgetting-curve-2", "it's false", 1),
    ("forgetting-curve-2", "not true", 1),
    ("forgetting-curve-2", "falsch", 1),
    ("forgetting-curve-2", "b", 1),
    ("forgetting-curve-2", "2", 1),
    ("forgetting-curve-2", "True", 0),
    ("forgetting-curve-2", "yes", 0),
    ("forgetting-curve-2", "that's true", 0),
    ("forgetting-curve-2", "wahr", 0),
    ("forgetting-curve-2", "richtig", 0),
    ("forgetting-curve-2", "the first one", 0),
    ("forgetting-curve-2", "maybe", None),
]


@pytest.mark.parametrize(("item_id", "typed", "expected"), PICKS)
def test_pick_option(demo_course: Course, item_id: str, typed: str, expected: int | None) -> None:
    assert pick_option(item_of(demo_course, item_id), typed) == expected


def typed_items(course: Course) -> list[QuizItem]:
    return [item for concept in course.concepts for item in concept.quiz if not item.has_options]


def test_every_accepted_answer_is_right(demo_course: Course) -> None:
    for item in typed_items(demo_course):
        for answer in item.answers:
            verdict = check_typed(item, answer, course_competitors(demo_course, item))
            assert verdict.outcome is RIGHT, (item.id, answer)
            assert phrase(str(verdict.spelled)) == phrase(answer)  # "the savings effect": either


def test_no_other_items_answer_is_accepted(demo_course: Course) -> None:
    items = typed_items(demo_course)
    for item in items:
        competitors = course_competitors(demo_course, item)
        for other in items:
            for answer in other.answers if other is not item else ():
                assert check_typed(item, answer, competitors).outcome is WRONG, (item.id, answer)


def test_every_option_text_picks_its_option(demo_course: Course) -> None:
    for concept in demo_course.concepts:
        for item in concept.quiz:
            for index, option in enumerate(item.options):
                assert pick_option(item, option) == index, (item.id, option)


def test_competitors_are_what_rejects_a_typo(demo_course: Course) -> None:
    item = item_of(demo_course, "desirable-difficulties-4")
    assert check_typed(item, "leaning") == TypedVerdict(NEAR, "learning")
    assert check_typed(item, "leaning", ["meaning"]).outcome is WRONG
    assert check_typed(item, "learning", ["learning"]).outcome is RIGHT  # its own answer


def test_the_typo_budget_grows_with_the_word() -> None:
    assert [typo_budget("x" * n) for n in (1, 3, 4, 7, 8, 13)] == [0, 0, 1, 1, 2, 2]
    assert typo_budget("1885") == 0
    assert typo_budget("of", in_phrase=True) == 1
    assert edits("consolidatoin", "consolidation") == 1  # a swap of neighbours
    assert edits("savins", "savings") == 1
