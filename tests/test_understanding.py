"""What learners mean, in context: a table of utterances, each sent to the pure step in one state,
with the meaning `understand` must find and what must come of it (DESIGN.md §4).

A row: where the learner is, what they type, what it means, the outcome, and a fragment of the
reply. The outcomes are listed in
tests/utterances.py.
"""

from __future__ import annotations

import pytest

from core.content import Course
from core.content_loader import load_course
from core.dialogue import World
from core.dialogue.meaning import Meaning
from tests.conftest import DEMO_COURSE
from tests.utterances import Row, outcome_of, reply_text, run

A, Q, HI, TY, BYE, TALK = (Meaning.ANSWER, Meaning.QUESTION, Meaning.GREETING, Meaning.THANKS,
                           Meaning.GOODBYE, Meaning.SMALL_TALK)  # fmt: skip
SKIP, IDK, HUMAN, ACT, CMD = (Meaning.SKIP, Meaning.DONT_KNOW, Meaning.HUMAN, Meaning.ACTIVITY,
                              Meaning.COMMAND)  # fmt: skip
CANCEL, STOP, HUH = Meaning.CANCEL, Meaning.STOP, Meaning.UNCLEAR

# fmt: off
ROWS = [
    # -- explanations and reflections that start like questions are answers (issue 14) --------
    Row("explain-back", "When you learn something you forget most of it fast, but testing "
        "yourself pulls it back out and makes it stick much longer than rereading.", A, "grading"),
    Row("explain-back", "What happens is that recalling strengthens memory, rereading only feels "
        "good", A, "grading"),
    Row("explain-back", "Why it works: pulling information out of memory makes it stronger", A,
        "grading"),
    Row("explain-back", "How I'd put it: testing shows you what you don't know yet", A, "grading"),
    Row("explain-back", "Can be summed up as: retrieval beats rereading after a few days", A,
        "grading"),
    Row("explain-back", "Is it not obvious? Recalling is effort, and effort makes memories "
        "stronger than reading again, which only feels familiar.", A, "grading"),
    Row("explain-back", "Testing beats rereading because retrieval strengthens memory.", A,
        "grading"),
    Row("explain-back", "what does retrieval mean?", Q, "stays", "Back to your explanation"),
    Row("explain-back", "can you explain it again", Q, "stays", "Back to your explanation"),
    Row("explain-back", "Why?", Q, "stays", "idea behind"),
    Row("explain-back", "I don't know", IDK, "done", "a good explanation would mention"),
    Row("explain-back", "idk", IDK, "done", "pulling information out of memory"),
    Row("explain-back", "skip", SKIP, "skipped", "come back to this one"),
    Row("explain-back", "pass", SKIP, "skipped"),
    Row("explain-back", "next", SKIP, "skipped"),
    Row("explain-back", "thanks", TY, "stays", "welcome"),
    Row("explain-back", "hi", HI, "stays", "Hi Ada"),
    Row("explain-back", "ok", TALK, "stays", "Back to your explanation"),
    Row("explain-back", "cancel", CANCEL, "ended", 'send "stop"'),
    Row("explain-back", "I want to talk to a real person", HUMAN, "stays", "a person will reply"),
    Row("explain-back", "quiz me", ACT, "stays", "middle of a session"),
    Row("explain-back", "If you talk to someone about it, you have to pull it out of memory",
        A, "grading"),
    Row("reflection", "Als Mensch vergesse ich schnell, also lese ich alles noch mal", A, "done"),
    Row("reflection", "can I talk to a mentor", HUMAN, "stays", "a person will reply"),
    Row("explain-back", "stop", STOP, "stopped", "unsubscribed"),
    Row("reflection", "What I usually do is reread my notes before a meeting; a self-test "
        "would be writing the three points down first.", A, "done", "Thanks for reflecting"),
    Row("reflection", "When I study for exams I mostly reread the slides", A, "done"),
    Row("reflection", "How about flashcards for my Spanish vocabulary", A, "done"),
    Row("reflection", "Mostly rereading", A, "done", "Thanks for reflecting"),
    Row("reflection", "Where do I start?", Q, "stays", "Back to your reflection"),
    Row("reflection", "no idea", IDK, "skipped", "no wrong answer"),
    Row("reflection", "skip", SKIP, "skipped", "skip this one"),
    Row("reflection", "überspringen", SKIP, "skipped"),
    Row("reflection", "thank you!", TY, "stays"),
    Row("reflection", "bye", BYE, "stays", "keep your place"),
    Row("reflection", "cancel", CANCEL, "ended"),
    Row("reflection", "help", CMD, "stays", "Here's what I understand"),
    Row("reflection", "👍", TALK, "stays"),
    # -- a typed-answer quiz: greetings and thanks are never wrong answers ------------------------
    Row("savings ___", "hi", HI, "stays", "Hi Ada"),
    Row("savings ___", "thanks", TY, "stays", "welcome"),
    Row("savings ___", "hello!", HI, "stays"),
    Row("savings ___", "savings", A, "right", "Right!"),
    Row("savings ___", "Savings", A, "right"),
    Row("savings ___", "the savings", A, "right"),
    Row("savings ___", "saving", A, "right"),
    Row("savings ___", "savins", A, "near", "Almost — it's spelled “savings”"),
    Row("savings ___", "svings", A, "near", "spelled"),
    Row("savings ___", "forgetting", A, "wrong", "Not quite"),
    Row("savings ___", "relearning", A, "wrong", "the answer is: savings"),
    Row("savings ___", "idk", IDK, "miss", "The answer is: savings"),
    Row("savings ___", "I don't know", IDK, "miss", "I'll ask again soon"),
    Row("savings ___", "keine Ahnung", IDK, "miss"),
    Row("savings ___", "skip", SKIP, "skipped", "come back another time"),
    Row("savings ___", "next", SKIP, "skipped"),
    Row("savings ___", "pass", SKIP, "skipped"),
    Row("savings ___", "what does relearning mean?", Q, "stays", "type your answer"),
    Row("savings ___", "cancel", CANCEL, "ended", "ended this session"),
    Row("savings ___", "unsubscribe", STOP, "stopped"),
    Row("savings ___", "see you tomorrow", BYE, "stays", "keep your place"),
    Row("___ practice", "distributed", A, "right"),
    Row("___ practice", "distributed practice", A, "right"),
    Row("___ practice", "Distributed Practice", A, "right"),
    Row("___ practice", "spaced", A, "right"),
    Row("___ practice", "distribted", A, "near", "distributed"),
    Row("___ practice", "massed", A, "wrong"),
    Row("___ practice", "massed practice", A, "wrong"),
    Row("___ practice", "practice", A, "wrong"),
    Row("picture ___ effect", "superiority", A, "right"),
    Row("picture ___ effect", "superiority effect", A, "right"),
    Row("picture ___ effect", "picture superiority effect", A, "right"),
    Row("picture ___ effect", "superiorty", A, "near", "superiority"),
    Row("picture ___ effect", "memory", A, "wrong"),
    Row("testing effect?", "testing effect", A, "right"),
    Row("testing effect?", "the testing effect", A, "right"),
    Row("testing effect?", "retrieval practice", A, "right"),
    Row("testing effect?", "effect testing", A, "right"),
    Row("testing effect?", "testng effect", A, "near", "testing effect"),
    Row("testing effect?", "spacing effect", A, "wrong"),
    Row("testing effect?", "the spacing effect", A, "wrong"),
    Row("testing effect?", "rereading", A, "wrong"),
    Row("called ___ (sleep)", "consolidation", A, "right"),
    Row("called ___ (sleep)", "consolidaton", A, "near", "consolidation"),
    Row("called ___ (sleep)", "memory consolidation", A, "right"),
    Row("called ___ (sleep)", "sleep", A, "wrong"),
    # -- a multiple-choice quiz -----------------------------------------------------------------
    Row("choice quiz", "a", A, "right"),
    Row("choice quiz", "A", A, "right"),
    Row("choice quiz", "1", A, "right"),
    Row("choice quiz", "option 1", A, "right"),
    Row("choice quiz", "the first one", A, "right"),
    Row("choice quiz", "first", A, "right"),
    Row("choice quiz", "Soon after learning, in the first hours and days", A, "right"),
    Row("choice quiz", "b", A, "wrong", "Not quite"),
    Row("choice quiz", "2", A, "wrong"),
    Row("choice quiz", "the second one", A, "wrong"),
    Row("choice quiz", "option 3", A, "wrong"),
    Row("choice quiz", "the last one", A, "wrong"),
    Row("choice quiz", "At a steady rate, the same amount every day", A, "wrong"),
    Row("choice quiz", "die erste", A, "right"),
    Row("choice quiz", "skip", SKIP, "skipped"),
    Row("choice quiz", "idk", IDK, "miss"),
    Row("choice quiz", "hi", HI, "stays", "Back to the question"),
    Row("choice quiz", "thanks", TY, "stays", "Back to the question"),
    Row("choice quiz", "banana", HUH, "stays", "Pick one of the options"),
    Row("choice quiz", "7", HUH, "stays", "Pick one of the options"),
    Row("choice quiz", "why do we forget?", Q, "stays", "From the lesson"),
    Row("choice quiz", "cancel", CANCEL, "ended"),
    Row("choice quiz", "STOP", STOP, "stopped"),
    Row("choice quiz", "next lesson please", ACT, "stays", "middle of a session"),
    Row("true/false", "false", A, "right"),
    Row("true/false", "False", A, "right"),
    Row("true/false", "f", A, "right"),
    Row("true/false", "falsch", A, "right"),
    Row("true/false", "true", A, "wrong"),
    Row("true/false", "b", A, "right"),
    Row("true/false", "1", A, "wrong"),
    # -- a lesson -------------------------------------------------------------------------------
    Row("lesson", "ok", A, "done"),
    Row("lesson", "next", A, "done"),
    Row("lesson", "got it", A, "done"),
    Row("lesson", "weiter", A, "done"),
    Row("lesson", "👍", A, "done"),
    Row("lesson", "skip", SKIP, "skipped", "skip this lesson"),
    Row("lesson", "what did Ebbinghaus find?", Q, "stays", "From the lesson"),
    Row("lesson", "I don't know", IDK, "stays", "ask me anything about the lesson"),
    Row("lesson", "hello", HI, "stays", "Back to the lesson"),
    Row("lesson", "thanks!", TY, "stays", "Back to the lesson"),
    Row("lesson", "banana", HUH, "stays", "Tap Continue"),
    Row("lesson", "cancel", CANCEL, "ended"),
    Row("lesson", "lol", TALK, "stays"),
    # -- idle -----------------------------------------------------------------------------------
    Row("idle", "that was fun, see you tomorrow", BYE, "stays", "See you tomorrow"),
    Row("idle", "thanks!", TY, "stays", "welcome"),
    Row("idle", "bye", BYE, "stays", "See you"),
    Row("idle", "tschüss", BYE, "stays"),
    Row("idle", "good night", BYE, "stays"),
    Row("idle", "thanks, bye", BYE, "stays"),
    Row("idle", "quiz me", ACT, "quiz"),
    Row("idle", "Quiz me please", ACT, "quiz"),
    Row("idle", "next lesson please", ACT, "session", "Step 1 of 3"),
    Row("idle", "teach me something", ACT, "session"),
    Row("idle", "frag mich ab", ACT, "quiz"),
    Row("idle", "I want to talk to a real person", HUMAN, "stays", "a person will reply"),
    Row("idle", "can I speak to a human", HUMAN, "stays", "a person will reply"),
    Row("idle", "mentor", HUMAN, "stays"),
    Row("idle", "ich möchte mit einem Menschen sprechen", HUMAN, "stays"),
    Row("idle", "why?", Q, "stays"),
    Row("idle", "what is the spacing effect?", Q, "stays", "From the lesson"),
    Row("idle", "how does sleep help memory", Q, "stays", "From the lesson"),
    Row("idle", "What is the capital of Mongolia?", Q, "stays", "couldn't find that"),
    Row("idle", "hi", HI, "stays", "Hi Ada"),
    Row("idle", "good morning", HI, "stays"),
    Row("idle", "Hallo!", HI, "stays"),
    Row("idle", "how are you?", TALK, "stays", "learning bot"),
    Row("idle", "who are you", TALK, "stays"),
    Row("idle", "skip", SKIP, "stays", "nothing to skip"),
    Row("idle", "cancel", CANCEL, "stays", "nothing running to cancel"),
    Row("idle", "zzz", HUH, "stays", "didn't get that"),
    Row("idle", "help", CMD, "stays", "Here's what I understand"),
    Row("idle", "hilfe", CMD, "stays"),
    Row("idle", "/progress", CMD, "stays", "📊"),
    Row("idle", "fortschritt", CMD, "stays", "📊"),
    Row("idle", "heute", CMD, "session"),
    Row("idle", "lang", CMD, "stays", "Which language"),
    Row("idle", "unsubscribe", STOP, "stopped"),
    Row("idle", "Stopp", STOP, "stopped"),
    # -- onboarding -----------------------------------------------------------------------------
    Row("first message", "hi", HI, "stays", "I'm PAU"),
    Row("consent", "yes", A, "next", "What should I call you?"),
    Row("consent", "ja", A, "next"),
    Row("consent", "no", A, "erased", "haven't kept anything"),
    Row("consent", "what do you store?", Q, "stays", "need your OK"),
    Row("consent", "hello", HI, "stays", "need your OK"),
    Row("consent", "I want to talk to a person first", HUMAN, "stays", "need your OK"),
    Row("consent", "nope, not comfortable with that", A, "erased"),
    Row("time zone", "why do you need to know that?", Q, "stays", "change it any time"),
    Row("time zone", "no idea tbh", IDK, "stays", "a rough answer is fine"),
    Row("time zone", "ich wohne in München", A, "next", "Europe/Berlin"),
    Row("time zone", "thx", TY, "stays", "Which time zone"),
    Row("consent", "stop", STOP, "erased"),
    Row("consent", "export", CMD, "stays", "nothing to export"),
    Row("name", "Ada", A, "next", "Nice to meet you, Ada"),
    Row("name", "hi", HI, "stays", "What should I call you?"),
    Row("name", "stop", STOP, "stopped"),
    Row("name", "help", CMD, "stays", "Here's what I understand"),
    Row("name", "today", CMD, "stays", "finish setting you up"),
    Row("time zone", "UTC+2", A, "next", "UTC+2 (it's 11:20 there now)"),
    Row("time zone", "Berlin", A, "next", "Europe/Berlin (it's 10:20 there now)"),
    Row("time zone", "Atlantis", A, "stays", "don't know that place"),
    Row("time zone", "cancel", CANCEL, "stays", "finish setting up later"),
    # -- a pending confirmation -----------------------------------------------------------------
    Row("delete?", "yes", A, "erased", "everything about you is erased"),
    Row("delete?", "no", A, "stays", "nothing was deleted"),
    Row("delete?", "hmm", A, "stays", "nothing was deleted"),
    Row("delete?", "stop", STOP, "stopped"),
    Row("delete?", "progress", CMD, "stays", "📊"),
    # -- stopped --------------------------------------------------------------------------------
    Row("stopped", "hi", HI, "stays", 'Send "start"'),
    Row("stopped", "what is spacing?", Q, "stays", 'Send "start"'),
    Row("stopped", "start", CMD, "started", "Welcome back"),
    Row("grading", "ok", A, "stays", "still reading your explanation"),
    Row("grading", "hi", A, "stays", "still reading your explanation"),
    Row("grading", "why does spacing work?", Q, "stays", "From the lesson"),
    Row("grading", "stop", STOP, "stopped"),
    # -- said in other words ----------------------------------------------------------------------
    Row("choice quiz", "I'd say b", A, "wrong", "Not quite"),
    Row("choice quiz", "hmm between a and b… going with a", A, "right"),
    Row("true/false", "nope, false. you learn from mistakes too", A, "right"),
    Row("true/false", "its false I think?", A, "right"),
    Row("savings ___", "ich glaube savings", A, "right"),
    Row("savings ___", "asdfjkl", HUH, "stays", "Type your answer"),
    Row("savings ___", "lol i was doing this yesterday with my spanish vocab and it all came back",
        TALK, "stays"),
    Row("explain-back", "dfghj", HUH, "stays", "Explain it in a few sentences"),
    Row("explain-back", "i dont know how to explain it", IDK, "done"),
    Row("lesson", "stop sending me these messages", STOP, "stopped"),
    Row("lesson", "gotta run, end this session pls", CANCEL, "ended"),
    Row("lesson", "got it, thanks", A, "done"),
    Row("lesson", "hey thanks for the lesson, really useful", TY, "stays"),
    Row("choice quiz", "can we end the quiz, no time rn", CANCEL, "ended"),
    Row("idle", "unsubscribe me", STOP, "stopped"),
    Row("idle", "can you show my progress", CMD, "stays", "📊"),
    Row("idle", "sprache auf deutsch bitte", CMD, "stays", "Deutsch"),
    Row("idle", "quick quiz pls", ACT, "quiz"),
    Row("idle", "gimme another lesson", ACT, "session"),
    Row("idle", "gtg bye", BYE, "stays"),
    Row("idle", "thank you so much, this was actually really helpful!!", TY, "stays"),
    Row("idle", "thanks so much, bye 👋 see u tomorrow", BYE, "stays"),
    Row("consent", "yeah sure", A, "next"),
    Row("consent", "ok fine 👍", A, "next"),
    Row("time zone", "Wien", A, "next", "Europe/Vienna"),
    Row("daily time", "21 Uhr", A, "next", "Which time zone"),
    Row("daily time", "7:30pm", A, "next", "Which time zone"),
    Row("daily time", "whenever", A, "stays", "couldn't read that as a time"),
    Row("time zone", "fghjkl", HUH, "stays", "Which time zone"),
]
# fmt: on


@pytest.fixture(scope="module")
def world(demo_course: Course) -> World:
    return World({demo_course.slug: demo_course})


@pytest.fixture(scope="module")
def demo_course() -> Course:
    return load_course(DEMO_COURSE)


def test_the_table_is_large_and_covers_every_meaning() -> None:
    assert len(ROWS) >= 150
    assert {row.means for row in ROWS} >= set(Meaning) - {Meaning.UNSUPPORTED}


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_what_the_learner_means(row: Row, world: World) -> None:
    meaning, transition, before = run(row, world)
    text = reply_text(transition)
    assert (meaning, outcome_of(transition, before)) == (row.means, row.outcome), text
    assert row.reply.lower() in text.lower(), text
    assert transition.replies, "never silence"
