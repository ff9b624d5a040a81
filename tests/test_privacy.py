"""`delete` removes every row about the learner: every table is scanned afterwards."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.content import Course
from tests.chat import ChatLearner
from tests.conftest import FixedClock, make_pau


def rows_mentioning(engine: Engine, needles: list[str], learner_id: int) -> list[str]:
    """Every row, in every table, that holds one of the needles or refers to the learner id."""
    found = []
    with engine.connect() as connection:
        metadata = sa.MetaData()
        metadata.reflect(connection)
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)).mappings():
                text = " ".join(str(v) for v in row.values())
                refers = any(
                    column.endswith("learner_id") and value == learner_id
                    for column, value in row.items()
                ) or (table.name == "learner" and row["id"] == learner_id)
                if refers or any(needle in text for needle in needles):
                    found.append(f"{table.name}: {dict(row)}")
    return found


def test_delete_leaves_no_row_about_the_learner(
    engine: Engine, demo_course: Course, clock: FixedClock
) -> None:
    pau = make_pau(engine, demo_course, clock)
    ada = ChatLearner(pau, "ada-4711", clock)
    bob = ChatLearner(pau, "bob-0815", clock)
    for learner, name in ((ada, "Adelheid"), (bob, "Bobby")):
        learner.onboard(name)
        learner.say("Continue")
        learner.say("1")
        learner.say("My secret reflection about spreading out practice")
        learner.say("why does spacing work so well?")
    with engine.connect() as connection:
        ada_id = connection.execute(
            sa.text("SELECT id FROM learner WHERE external_id = 'ada-4711'")
        ).scalar_one()
    assert rows_mentioning(
        engine, ["ada-4711", "Adelheid"], ada_id
    )  # the scan does find her before

    ada.transcript(
        [("delete", "Are you sure?"), ("Yes, delete all", "everything about you is erased")]
    )

    assert rows_mentioning(engine, ["ada-4711", "Adelheid"], ada_id) == []
    assert rows_mentioning(engine, ["bob-0815", "Bobby"], -1)  # the other learner is untouched
    assert "Step 1 of 3" in bob.say("today")
    pau.close()


def test_after_delete_the_learner_can_start_fresh(onboarded: ChatLearner) -> None:
    onboarded.say("delete")
    onboarded.say("yes")
    onboarded.transcript(
        [
            ("hi", ["I'm PAU", "Is that OK with you?"]),
            ("yes", ["Thank you!", "What should I call you?"]),
        ]
    )
