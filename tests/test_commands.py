"""Global keywords work from every state of the dialogue, typed as words, /commands or buttons."""

from __future__ import annotations

import json

import pytest

from core.dialogue.states import ONBOARDING, State
from core.events import EventKind, InboundEvent
from core.replies import Quiz
from tests.chat import ChatLearner
from tests.harness import MemoryLearner
from tests.test_dialogue_transcripts import reach_explain_back

SET_UP = [
    (State.NAME, lambda a: (a.say("hi"), a.say("Yes, let's go"))),
    (State.COURSE, lambda a: a.say("Ada")),
    (State.LEVEL, lambda a: a.tap("course:science-of-learning")),
    (State.DAILY_TIME, lambda a: a.tap("level:new")),
    (State.TIMEZONE, lambda a: a.tap("time:morning")),
    (State.NUDGES, lambda a: a.say("Berlin")),
]


def reach(learner: MemoryLearner, state: State) -> None:
    """Bring a new learner to `state`; fails for a state this test does not know how to reach,
    so a new state cannot slip past the table below."""
    if state is State.CONSENT:
        learner.say("hi")
    elif state in ONBOARDING:
        for target, move in SET_UP:
            move(learner)
            if target is state:
                break
    else:
        learner.onboard()
        moves = {
            State.LESSON: [],
            State.QUIZ: ["Continue"],
            State.REFLECTION: ["Continue", "1"],
            State.IDLE: ["Continue", "1", "skip"],
            State.STOPPED: ["Continue", "1", "skip", "stop"],
        }
        if state in (State.EXPLAIN, State.EXPLAIN_GRADING):
            reach_explain_back(learner)
            if state is State.EXPLAIN_GRADING:
                learner.hold_commands = True  # the grade is still being worked out
                learner.say("Spacing out reviews slows forgetting, so each review lasts longer.")
        else:
            for message in moves[state]:
                learner.say(message)
    assert learner.state is state, f"could not reach {state}: at {learner.state}"


# keyword: (before consent, in set-up, in an activity or idle, when stopped)
EXPECTED = {
    "help": ("Is that OK with you?", "Here's what I understand", "Here's what I understand", "Here's what I understand"),
    "menu": ("Is that OK with you?", "finish setting you up", "What would you like to do?", "You've stopped PAU"),
    "progress": ("Is that OK with you?", "finish setting you up", "📊", "You've stopped PAU"),
    "pause": ("Is that OK with you?", "finish setting you up", "Paused", "You've stopped PAU"),
    "resume": ("Is that OK with you?", "finish setting you up", "not paused", "Welcome back"),
    "stop": ("haven't kept anything", "unsubscribed", "unsubscribed", "unsubscribed"),
    "export": ("don't hold any data", "JSON file", "JSON file", "JSON file"),
    "delete": ("don't hold any data", "Are you sure?", "Are you sure?", "Are you sure?"),
}  # fmt: skip


def column(state: State) -> int:
    if state is State.CONSENT:
        return 0
    if state in ONBOARDING:
        return 1
    return 3 if state is State.STOPPED else 2


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("keyword", sorted(EXPECTED))
def test_every_global_keyword_from_every_state(
    memo: MemoryLearner, state: State, keyword: str
) -> None:
    reach(memo, state)
    answer = memo.say(keyword)
    assert EXPECTED[keyword][column(state)].lower() in answer.lower(), answer


@pytest.mark.parametrize("where", [State.LESSON, State.QUIZ, State.REFLECTION, State.EXPLAIN])
def test_help_and_progress_come_back_to_the_open_activity(
    memo: MemoryLearner, where: State
) -> None:
    reach(memo, where)
    memo.transcript([("help", ["Here's what I understand", "Back to "])])
    # the chart follows the progress text, and the way back follows the chart
    memo.transcript([("progress", ["📊", "progress chart", "Back to "])])
    assert memo.state is where


def test_while_an_explanation_is_graded_the_learner_hears_it_is_coming(memo: MemoryLearner) -> None:
    reach(memo, State.EXPLAIN_GRADING)
    memo.transcript(
        [
            ("help", ["Here's what I understand", "still reading your explanation"]),
            ("ok", "still reading your explanation"),
        ]
    )
    memo.hold_commands = False
    memo.transcript([("why does spacing work?", [
        "From the lesson", "still reading your explanation",
        "Good start! You covered", "today's session done", "One more round",
    ])])  # fmt: skip


@pytest.mark.parametrize("spelling", ["STOP", "/stop", "Stop", "unsubscribe", "Stopp", "quit"])
def test_stop_in_any_spelling(memo_onboarded: MemoryLearner, spelling: str) -> None:
    kind = EventKind.COMMAND if spelling.startswith("/") else EventKind.TEXT
    replies = memo_onboarded.send(InboundEvent(kind, text=spelling))
    assert "unsubscribed" in memo_onboarded.text_of(replies) and len(replies) == 1
    assert memo_onboarded.state is State.STOPPED


def test_stopped_learners_get_only_a_hint_until_they_start_again(
    memo_onboarded: MemoryLearner,
) -> None:
    memo_onboarded.transcript(
        [
            ("stop", "unsubscribed"),
            ("what is spacing?", 'Send "start" to come back'),
            ("start", ["Welcome back, Ada", "What would you like to do?"]),
            ("today", ["Step 1 of 3", "📘", "", "", "Continue"]),
        ]
    )


def test_pause_keeps_the_session_and_resume_brings_it_back(memo_onboarded: MemoryLearner) -> None:
    memo_onboarded.say("Continue")
    memo_onboarded.transcript(
        [("pause", "Paused"), ("resume", ["Reminders are on again", "Back to the question"])]
    )
    assert memo_onboarded.state is State.QUIZ


def test_menu_buttons_are_keywords(memo_onboarded: MemoryLearner) -> None:
    reach_idle = ["Continue", "1", "skip"]
    for message in reach_idle:
        memo_onboarded.say(message)
    assert "📊" in memo_onboarded.tap("cmd:progress")
    assert "Step 1 of 3" in memo_onboarded.tap("cmd:today")


def test_quiz_keyword_asks_one_question(memo_onboarded: MemoryLearner) -> None:
    for message in ["Continue", "1", "skip"]:
        memo_onboarded.say(message)
    memo_onboarded.say("quiz")
    quiz = next(r for r in memo_onboarded.last_replies if isinstance(r, Quiz))
    memo_onboarded.transcript(
        [(str(quiz.correct_index + 1), ["Right!", "Quick quiz done: 1/1 right", "One more round"])]
    )


def test_export_sends_every_kind_of_data_as_json(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    onboarded.say("1")
    onboarded.say("I will test myself tomorrow morning")
    onboarded.transcript(
        [("export", ["a JSON file follows in a moment", "Your data, Ada", "pau-my-data.json"])]
    )
    [file] = onboarded.files()
    data = json.loads(file.content)
    assert data["format"] == "pau-learner-export" and data["profile"]["name"] == "Ada"
    assert data["session"]["state"] == "idle"
    assert [a["kind"] for a in data["activities"]] == ["lesson", "quiz", "reflection"]
    assert data["activities"][2]["your_answer"] == "I will test myself tomorrow morning"
    assert any(m["from"] == "you" and m["text"] == "Ada" for m in data["messages"])
    assert any(
        m["from"] == "PAU" and "Nice to meet you" in (m["text"] or "") for m in data["messages"]
    )


def test_delete_can_be_cancelled(memo_onboarded: MemoryLearner) -> None:
    memo_onboarded.transcript(
        [
            ("delete", "Are you sure?"),
            ("No, keep it", ["nothing was deleted", "Back to the lesson"]),
        ]
    )
    assert memo_onboarded.state is State.LESSON and memo_onboarded.erased == 0


def test_a_keyword_while_delete_waits_for_confirmation_cancels_it(
    memo_onboarded: MemoryLearner,
) -> None:
    memo_onboarded.transcript(
        [
            ("delete", "Are you sure?"),
            ("progress", ["📊", "progress chart", "Back to the lesson"]),
            ("yes", ["First lesson done", "Step 2 of 3", "❓"]),
        ]
    )
    assert memo_onboarded.state is State.QUIZ  # "yes" continued the lesson, it deleted nothing
    assert memo_onboarded.erased == 0


def test_stop_during_set_up_then_start_carries_on_with_set_up(memo: MemoryLearner) -> None:
    reach(memo, State.NAME)
    memo.transcript(
        [
            ("stop", "unsubscribed"),
            ("start", ["Welcome back", "What should I call you?"]),
            ("Ada", ["Nice to meet you, Ada!", "science of learning", "Which course would you like?"]),
        ]
    )  # fmt: skip


def test_exports_do_not_nest_earlier_exports(onboarded: ChatLearner) -> None:
    sizes = []
    for _ in range(4):
        onboarded.say("export")
        [file] = onboarded.files()
        sizes.append(len(file.content))
    assert sizes[-1] < sizes[0] * 1.5, sizes  # grows by a few message rows, not geometrically
    data = json.loads(onboarded.files()[0].content)
    sent_files = [m for m in data["messages"] if m["kind"] == "file"]
    assert len(sent_files) == 3 and all(m["attachment"] == "pau-my-data.json" for m in sent_files)
    assert "pau-learner-export" not in json.dumps(data["messages"])  # named, not repeated
