"""Global commands work from every state, typed as words, /commands or menu buttons."""

from __future__ import annotations

import json

import pytest

from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.replies import Quiz
from tests.chat import ChatLearner
from tests.test_dialogue_transcripts import state_of

STATES = ["onboarding:name", "lesson", "quiz", "reflection", "idle", "stopped"]


def reach(learner: ChatLearner, where: str) -> None:
    if where == "onboarding:name":
        learner.say("hi")
        learner.say("Yes, let's go")
        return
    learner.onboard()
    if where == "lesson":
        return
    learner.say("Continue")
    if where == "quiz":
        return
    learner.say("1")
    if where == "reflection":
        return
    learner.say("skip")
    if where == "stopped":
        learner.say("stop")


EXPECTED = {
    # command: (in onboarding, in an activity or idle, when stopped)
    "help": ("Here's what I understand", "Here's what I understand", "Here's what I understand"),
    "menu": ("finish setting you up", "What would you like to do?", "You've stopped PAU"),
    "progress": ("finish setting you up", "📊", "You've stopped PAU"),
    "pause": ("finish setting you up", "Paused", "You've stopped PAU"),
    "resume": ("finish setting you up", "not paused", "Welcome back"),
    "stop": ("unsubscribed", "unsubscribed", "unsubscribed"),
    "export": ("JSON file", "JSON file", "JSON file"),
    "delete": ("Are you sure?", "Are you sure?", "Are you sure?"),
}


@pytest.mark.parametrize("where", STATES)
@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_every_global_command_from_every_state(
    learner: ChatLearner, where: str, command: str
) -> None:
    reach(learner, where)
    column = 0 if where.startswith("onboarding") else 2 if where == "stopped" else 1
    answer = learner.say(command)
    assert EXPECTED[command][column].lower() in answer.lower(), answer


@pytest.mark.parametrize("where", ["lesson", "quiz", "reflection"])
def test_help_and_progress_come_back_to_the_open_activity(learner: ChatLearner, where: str) -> None:
    reach(learner, where)
    before = state_of(learner.pau)
    for command in ("help", "progress"):
        assert "Back to where we were" in learner.say(command)
        assert state_of(learner.pau) == before


@pytest.mark.parametrize("spelling", ["STOP", "/stop", "Stop", "unsubscribe", "CANCEL"])
def test_stop_in_any_spelling(onboarded: ChatLearner, spelling: str) -> None:
    if spelling.startswith("/"):
        replies = onboarded.send_event(InboundEvent(EventKind.COMMAND, text=spelling))
        answer = onboarded.text_of(replies)
    else:
        answer = onboarded.say(spelling)
    assert "unsubscribed" in answer
    assert state_of(onboarded.pau) == State.STOPPED


def test_stopped_learners_get_only_a_hint_until_they_start_again(onboarded: ChatLearner) -> None:
    onboarded.transcript(
        [
            ("stop", "unsubscribed"),
            ("what is spacing?", 'Send "start" to come back'),
            ("start", ["Welcome back, Ada", "What would you like to do?"]),
            ("today", "Step 1 of 3"),
        ]
    )


def test_pause_keeps_the_session_and_resume_brings_it_back(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    onboarded.transcript([("pause", "Paused"), ("resume", ["Reminders are on again", "❓"])])
    assert state_of(onboarded.pau) == State.QUIZ


def test_menu_buttons_are_commands(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    onboarded.say("1")
    onboarded.say("skip")
    assert "📊" in onboarded.tap("cmd:progress")
    assert "Step 1 of 3" in onboarded.tap("cmd:today")


def test_quiz_command_asks_one_question(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    onboarded.say("1")
    onboarded.say("skip")
    onboarded.say("quiz")
    assert any(isinstance(r, Quiz) for r in onboarded.last_replies)
    quiz = next(r for r in onboarded.last_replies if isinstance(r, Quiz))
    answer = onboarded.say(str(quiz.correct_index + 1))
    assert "Right!" in answer and "done" in answer


def test_export_sends_every_kind_of_data_as_json(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    onboarded.say("1")
    onboarded.say("I will test myself tomorrow morning")
    onboarded.say("export")
    [file] = onboarded.files()
    data = json.loads(file.content)
    assert data["learner"]["name"] == "Ada"
    assert data["conversation"]["state"] == "idle"
    assert [a["kind"] for a in data["activities"]] == ["lesson", "quiz", "reflection"]
    assert data["activities"][2]["response"] == "I will test myself tomorrow morning"
    assert any(m["payload"].get("text") == "Ada" for m in data["messages_received"])
    assert any("Nice to meet you" in str(m["payload"]) for m in data["messages_sent"])


def test_delete_can_be_cancelled(onboarded: ChatLearner) -> None:
    onboarded.transcript(
        [("delete", "Are you sure?"), ("No, keep it", ["nothing was deleted", "Continue"])]
    )
    assert state_of(onboarded.pau) == State.LESSON


def test_a_command_while_delete_waits_for_confirmation_cancels_it(onboarded: ChatLearner) -> None:
    onboarded.transcript([("delete", "Are you sure?"), ("progress", "📊"), ("yes", "Step 2 of 3")])
    assert state_of(onboarded.pau) == State.QUIZ  # "yes" continued the lesson, it deleted nothing


def test_stop_during_set_up_then_start_carries_on_with_set_up(learner: ChatLearner) -> None:
    reach(learner, "onboarding:name")
    learner.transcript(
        [("stop", "unsubscribed"), ("start", ["Welcome back", "What should I call you?"])]
    )
    learner.transcript([("Ada", "Which course would you like?")])


def test_exports_do_not_nest_earlier_exports(onboarded: ChatLearner) -> None:
    sizes = []
    for _ in range(4):
        onboarded.say("export")
        [file] = onboarded.files()
        sizes.append(len(file.content))
    assert sizes[-1] < sizes[0] * 1.5, sizes  # grows by a few message rows, not geometrically
    data = json.loads(onboarded.files()[0].content)
    sent_files = [m["payload"] for m in data["messages_sent"] if m["payload"].get("type") == "file"]
    assert sent_files and all("not repeated here" in f["content"] for f in sent_files)
