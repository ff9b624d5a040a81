"""Global keywords (help, progress, stop, ...): they work from any state (STOP always does)."""

from __future__ import annotations

from dataclasses import replace

from core.commands import Command, CommandKind
from core.content import normalize
from core.curriculum import path_to
from core.dialogue import onboarding, session
from core.dialogue.model import Transition, Turn
from core.dialogue.parsing import Keyword
from core.dialogue.states import ACTIVITIES, ONBOARDING, State
from core.learner import Learning
from core.progress import mastery_by_concept, render_progress
from core.replies import Choices, Option, Reply, Text
from core.texts import available_languages


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


def handle_before_consent(turn: Turn, keyword: Keyword, argument: str = "") -> Transition:
    """Before consent we hold nothing, so most keywords just explain and ask again (the welcome
    came with the first message; only the consent question now)."""
    t = turn.t
    if keyword is Keyword.LANG:
        return set_language(turn, argument)
    consent = onboarding.consent_choices(turn)
    if keyword in (Keyword.EXPORT, Keyword.DELETE):
        return turn.stay(Text(t("nothing_stored")), consent)
    return turn.stay(Text(t("consent_first")), consent)


def stop(turn: Turn) -> Transition:
    """STOP, from any state: before consent it forgets the request, after it unsubscribes."""
    snapshot = turn.snapshot
    if not snapshot.profile.consented:
        return Transition(
            State.CONSENT, {}, (Text(turn.t("consent_declined")),), erase_learner=True
        )
    stopped_from = snapshot.data.get("stopped_from") or str(snapshot.state)  # "stop" twice
    data = {**snapshot.data, "stopped_from": stopped_from}
    return Transition(State.STOPPED, data, (Text(turn.t("stopped")),)).then(stopped=True)


SESSION_KEYWORDS = (Keyword.TODAY, Keyword.START, Keyword.MORE, Keyword.QUIZ)


def handle(turn: Turn, keyword: Keyword, argument: str = "") -> Transition:
    t = turn.t
    snapshot = turn.snapshot
    state = snapshot.state
    if keyword is Keyword.STOP:
        return stop(turn)
    if not snapshot.profile.consented:
        return handle_before_consent(turn, keyword, argument)
    if keyword is Keyword.LANG:
        return set_language(turn, argument)
    if keyword is Keyword.EXPORT:
        export = Command(CommandKind.EXPORT_DATA)
        return turn.stay(Text(t("export_coming"))).then(commands=(export,))
    if keyword is Keyword.DELETE:
        options = (Option("yes", t("button_delete_yes")), Option("no", t("button_delete_no")))
        return turn.stay(Choices(t("delete_confirm"), options), pending="delete")
    if keyword is Keyword.HELP:
        nudging = snapshot.nudging
        quiet = f"{nudging.quiet_from}–{nudging.quiet_until}"
        return turn.stay(Text(t("help", quiet=quiet)), *where_we_were(turn))
    if state is State.STOPPED:
        if keyword in (Keyword.START, Keyword.RESUME, Keyword.TODAY, Keyword.MORE):
            data = {k: v for k, v in snapshot.data.items() if k != "stopped_from"}
            welcome = Text(t("welcome_back", name=snapshot.profile.name))
            stopped_from = State(str(snapshot.data.get("stopped_from", State.IDLE)))
            if stopped_from in ONBOARDING:  # set-up was not finished: carry on where it stopped
                resumed = Turn(replace(snapshot, state=stopped_from), turn.now, turn.world)
                questions = onboarding.question_for(resumed, stopped_from)
                back = Transition(stopped_from, data, (welcome, *questions))
                return back.then(stopped=False, paused=False)
            back = Transition(State.IDLE, data, (welcome,))
            return back.then(menu(turn), stopped=False, paused=False)
        return turn.stay(Text(t("stopped_hint")))
    if state in ONBOARDING:
        return turn.stay(Text(t("finish_onboarding_first")), *onboarding.question_for(turn, state))
    if keyword is Keyword.PAUSE:
        return turn.stay(Text(t("paused"))).then(paused=True)
    if keyword is Keyword.RESUME:
        was_paused = snapshot.profile.paused
        reply = Text(t("resumed" if was_paused else "not_paused"))
        return turn.stay(reply, *where_we_were(turn)).then(paused=False)
    if keyword is Keyword.MENU:
        return turn.stay(menu(turn))
    course = turn.course
    if course is None:
        return turn.stay(Text(t("no_course")))
    if keyword is Keyword.PROGRESS:
        # the chart follows as its own event (chart_ready), and with it the way back
        return turn.stay(progress_text(turn)).then(commands=(chart_command(turn),))
    if keyword is Keyword.GOAL:
        return set_goal(turn, argument) if argument else turn.stay(goal_choices(turn))
    if keyword is Keyword.ASK:
        return turn.stay(Text(t("ask_hint")))
    if state in ACTIVITIES and keyword in SESSION_KEYWORDS:
        return turn.stay(*session.reprompt(turn, t("session_in_progress")))
    if keyword is Keyword.QUIZ:
        return session.start(turn, session.one_quiz(turn), kind=session.QUICK_QUIZ)
    # START, TODAY, MORE: a new session of today's three.
    return session.start(turn, session.todays_three(turn))


def progress_text(turn: Turn) -> Text:
    """Mastery bars, streak, XP and what is due, as text (every channel shows it)."""
    snapshot, course = turn.snapshot, turn.course
    assert course is not None
    return Text(
        render_progress(
            course, snapshot.progress, snapshot.motivation, len(snapshot.due_reviews), turn.t,
            turn.now, snapshot.profile.timezone,
        )
    )  # fmt: skip


def chart_command(turn: Turn) -> Command:
    """The same progress as a chart, drawn by the command worker (30-50 ms of PNG work)."""
    snapshot, course, t = turn.snapshot, turn.course, turn.t
    assert course is not None
    studied = [[title, m] for title, m in mastery_by_concept(course, snapshot.progress, turn.now)]
    subtitle = t("chart_subtitle", xp=snapshot.motivation.xp, streak=session.shown_streak(turn))
    args = {"title": course.title, "studied": studied, "subtitle": subtitle,
            "caption": t("chart_caption")}  # fmt: skip
    return Command(CommandKind.RENDER_CHART, args, ref=session.activity_ref(turn))


LANGUAGE_NAMES = {"en": "en", "english": "en", "englisch": "en", "de": "de", "deutsch": "de",
                  "german": "de", "germany": "de"}  # fmt: skip


def language_choices(turn: Turn) -> Choices:
    options = tuple(
        Option(f"lang:{code}", turn.world.catalog_for(code)("language_name"))
        for code in available_languages()
    )
    return Choices(turn.t("lang_prompt"), options)


def set_language(turn: Turn, argument: str) -> Transition:
    """`lang` asks which; `lang de`, `sprache deutsch` or a tap sets it. Course content stays in
    the course's own language."""
    if not argument:
        return turn.stay(language_choices(turn))
    code = LANGUAGE_NAMES.get(normalize(argument), normalize(argument))
    if code not in available_languages():
        return turn.stay(Text(turn.t("lang_unknown")), language_choices(turn))
    changed = replace(turn.snapshot, profile=replace(turn.snapshot.profile, language=code))
    after = Turn(changed, turn.now, turn.world)
    if not changed.profile.consented:
        return after.stay(*onboarding.question_for(after, State.CONSENT), asked=True).then(
            language=code
        )
    return after.stay(Text(after.t("lang_set")), *where_we_were(after)).then(language=code)


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
    learning = Learning(snapshot.progress, stats, snapshot.motivation)  # the goal is a stat
    reply = Text(turn.t("goal_set", title=concept.title, path=titles))
    return replace(turn.stay(reply, *where_we_were(turn)), learning=learning)


def handle_delete_confirmation(turn: Turn, confirmed: bool) -> Transition:
    t = turn.t
    data = {k: v for k, v in turn.snapshot.data.items() if k != "pending"}
    if confirmed:
        return Transition(State.CONSENT, {}, (Text(t("deleted")),), erase_learner=True)
    base = Transition(turn.snapshot.state, data, (Text(t("delete_cancelled")),))
    return base.then(
        *where_we_were(Turn(turn.snapshot.with_data(pending=None), turn.now, turn.world))
    )
