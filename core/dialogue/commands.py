"""Global commands: they work from any state (STOP always does)."""

from __future__ import annotations

from dataclasses import replace

from core.chart import progress_chart
from core.curriculum import path_to
from core.dialogue import onboarding, session
from core.dialogue.model import (
    DeleteLearner,
    ExportData,
    ForgetLearner,
    Learning,
    Transition,
    Turn,
    UpdateProfile,
)
from core.dialogue.parsing import Command
from core.dialogue.states import ACTIVITIES, ONBOARDING, State
from core.progress import mastery_by_concept, render_progress
from core.replies import Choices, Image, Option, Reply, Text


def menu(turn: Turn) -> Choices:
    t = turn.t
    return Choices(
        t("menu_prompt"),
        (
            Option("cmd:today", t("button_today")),
            Option("cmd:quiz", t("button_quiz")),
            Option("cmd:progress", t("button_progress")),
            Option("cmd:help", t("button_help")),
        ),
    )


def where_we_were(turn: Turn) -> list[Reply]:
    """What to show after an interruption: the open question, the activity, or the menu."""
    state = turn.snapshot.state
    if state in ONBOARDING:
        return onboarding.question_for(turn, state)
    if state in ACTIVITIES:
        return session.reprompt(turn)
    return [menu(turn)]


def handle_before_consent(turn: Turn, command: Command) -> Transition:
    """Before consent we hold nothing, so most commands just explain and ask again."""
    t = turn.t
    if command is Command.STOP:
        return Transition(State.CONSENT, {}, (Text(t("consent_declined")),), (ForgetLearner(),))
    if command in (Command.EXPORT, Command.DELETE):
        return turn.stay(
            Text(t("nothing_stored")), *onboarding.question_for(turn, State.CONSENT), asked=True
        )
    return turn.stay(*onboarding.question_for(turn, State.CONSENT), asked=True)


def handle(turn: Turn, command: Command) -> Transition:
    t = turn.t
    snapshot = turn.snapshot
    state = snapshot.state
    if command is Command.STOP:
        data = {**snapshot.data, "stopped_from": str(state)}
        return Transition(
            State.STOPPED, data, (Text(t("stopped")),), (UpdateProfile({"stopped": True}),)
        )
    if command is Command.EXPORT:
        return turn.stay(Text(t("export_ready"))).then(effects=(ExportData(),))
    if command is Command.DELETE:
        options = (Option("yes", t("button_delete_yes")), Option("no", t("button_delete_no")))
        return turn.stay(Choices(t("delete_confirm"), options), pending="delete")
    if command is Command.HELP:
        return turn.stay(Text(t("help")), *where_we_were(turn))
    if state is State.STOPPED:
        if command in (Command.START, Command.RESUME, Command.TODAY, Command.MORE):
            data = {k: v for k, v in snapshot.data.items() if k != "stopped_from"}
            welcome = Text(t("welcome_back", name=snapshot.profile.name))
            unstop = UpdateProfile({"stopped": False, "paused": False})
            stopped_from = State(str(snapshot.data.get("stopped_from", State.IDLE)))
            if stopped_from in ONBOARDING:  # set-up was not finished: carry on where it stopped
                resumed = Turn(replace(snapshot, state=stopped_from), turn.now, turn.world)
                questions = onboarding.question_for(resumed, stopped_from)
                return Transition(stopped_from, data, (welcome, *questions), (unstop,))
            return Transition(State.IDLE, data, (welcome,)).then(menu(turn), effects=(unstop,))
        return turn.stay(Text(t("stopped_hint")))
    if state in ONBOARDING:
        return turn.stay(Text(t("finish_onboarding_first")), *onboarding.question_for(turn, state))
    if command is Command.PAUSE:
        return turn.stay(Text(t("paused"))).then(effects=(UpdateProfile({"paused": True}),))
    if command is Command.RESUME:
        was_paused = snapshot.profile.paused
        reply = Text(t("resumed" if was_paused else "not_paused"))
        return turn.stay(reply, *where_we_were(turn)).then(
            effects=(UpdateProfile({"paused": False}),)
        )
    if command is Command.MENU:
        return turn.stay(menu(turn))
    course = turn.course
    if course is None:
        return turn.stay(Text(t("no_course")))
    if command is Command.PROGRESS:
        return turn.stay(
            *progress_replies(turn), *(where_we_were(turn) if state in ACTIVITIES else [])
        )
    if command is Command.GOAL:
        return turn.stay(goal_choices(turn))
    if command is Command.ASK:
        return turn.stay(Text(t("ask_hint")))
    if state in ACTIVITIES and command in (Command.TODAY, Command.START):
        return turn.stay(Text(t("session_in_progress")), *session.reprompt(turn))
    if command is Command.QUIZ:
        return session.start(turn, session.one_quiz(turn))
    # START, TODAY, MORE: a new session of today's three.
    return session.start(turn, session.todays_three(turn))


def progress_replies(turn: Turn) -> list[Reply]:
    """The progress text and, for channels that show images, the same as a chart."""
    snapshot, course, t = turn.snapshot, turn.course, turn.t
    assert course is not None
    text = render_progress(
        course, snapshot.progress, snapshot.motivation, len(snapshot.due_reviews), t, turn.now,
        snapshot.profile.timezone,
    )  # fmt: skip
    studied = [(title, m) for title, m in mastery_by_concept(course, snapshot.progress, turn.now)]
    subtitle = t("chart_subtitle", xp=snapshot.motivation.xp, streak=snapshot.motivation.streak)
    png = progress_chart(course.title, studied, subtitle)
    return [Text(text), Image(png, t("chart_caption"))]


def goal_choices(turn: Turn) -> Choices:
    course = turn.course
    assert course is not None
    options = tuple(Option(f"goal:{c.id}", c.title[:60]) for c in course.concepts[:10])
    return Choices(turn.t("goal_prompt"), options)


def set_goal(turn: Turn, concept_id: str) -> Transition:
    course, snapshot = turn.course, turn.snapshot
    concept = course.concept(concept_id) if course else None
    if course is None or concept is None:
        return turn.stay(Text(turn.t("didnt_catch")), goal_choices(turn))
    path = [course.concept(cid) for cid in path_to(course, concept_id, snapshot.progress, turn.now)]
    titles = [c.title for c in path if c is not None]
    stats = replace(snapshot.stats, goal=concept_id)
    learning = Learning(snapshot.progress, stats, snapshot.motivation)
    reply = Text(turn.t("goal_set", title=concept.title, path=titles))
    return replace(turn.stay(reply, *where_we_were(turn)), learning=learning)


def handle_delete_confirmation(turn: Turn, confirmed: bool) -> Transition:
    t = turn.t
    data = {k: v for k, v in turn.snapshot.data.items() if k != "pending"}
    if confirmed:
        return Transition(State.CONSENT, {}, (Text(t("deleted")),), (DeleteLearner(),))
    base = Transition(turn.snapshot.state, data, (Text(t("delete_cancelled")),))
    return base.then(
        *where_we_were(Turn(turn.snapshot.with_data(pending=None), turn.now, turn.world))
    )
