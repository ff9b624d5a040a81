"""The LLM tutor's cost and responsiveness on the demo course (issue 15's figures), in one run.

1. week: the answer cache's hit rate over a simulated week of 50 learners. Each learner (a level
   drawn new 50 % / some 35 % / confident 15 %) joins on day 0, 1 or 2, studies on 3 days in 4,
   one concept further each day, and asks 0-4 questions a day (1.3 on average): 4 in 5 about the
   lesson of the day, the rest about an earlier one. The questions come from
   bench/data/tutor_questions.yaml (per concept, the questions in order of popularity, a Zipf
   1/rank draw, each in one of its wordings, the first most often), with surface noise added as
   people type (case, "?", "hi", "please", 1 in 20 with a typo). Each question goes through the
   real TutorPerformer (core/tutor/performer.py: retrieval, the cache key of
   core/tutor/cache_key.py, SqlAnswerCache and SqlUsageLedger on a migrated SQLite file) with a
   scripted model (tests/fakes/scripted_llm.py, 4 characters a token). The performer neither
   reads nor writes the cache for a question sent with conversation memory (a follow-up depends
   on it), so four variants run on the same questions: memory never cleared (how the dialogue
   first kept it), memory for one conversation (core/dialogue/tutoring.py today: the last 3
   exchanges, forgotten after 30 quiet minutes; here a day's questions are one conversation), no
   memory at all (what the key alone achieves), and the baseline: a key on the exact text as
   typed (no normalisation), no memory.
2. tokens: tokens per answered question and per graded explanation. Every question of the set
   (first wording) and an explanation for each concept's explain-back go through the performer and
   LlmGrader with the real adapter (webhooks/langchain_llm.py: langchain-anthropic and the
   anthropic SDK) against the loopback fake Messages API (tests/fakes/anthropic_api.py). The fake
   counts 1 token per 4 characters of the JSON it receives, and imitates prompt caching (the
   system and context blocks marked cache_control are written once, read after). The output is
   what the fake was scripted to say: a 2-3 sentence excerpt of the lesson for an answer, a valid
   grade for an explanation.
3. latency: the time to the learner's first sign of life. A real `pau serve` (SQLite) behind the
   loopback fake Bot API (tests/fakes/telegram_api.py) and the fake Messages API; ten learners are
   onboarded, then each asks a different question, one after another: from the webhook POST to
   the first sendChatAction (typing) and to the first sendMessage (the answer) for that chat, p50
   and max. Four servers, one each: no model configured (the baseline, the same run), the model
   answering after 5 s, the model down with connection refused, and with HTTP 500 on every call
   (the client's retries, then the circuit breaker, PAU_LLM_BREAKER_FAILURES=5).

    python bench/tutor.py [--parts week,tokens,latency] [--learners 50] [--days 7] [--seed 15]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from unittest.mock import patch

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.content import Course  # noqa: E402
from core.content_loader import load_course  # noqa: E402
from core.retrieval import excerpt  # noqa: E402
from core.tutor.budget import Budget  # noqa: E402
from core.tutor.cache_key import answer_cache_key  # noqa: E402
from core.tutor.grading import LlmGrader  # noqa: E402
from core.tutor.llm import Llm, LlmReply, LlmRequest, LlmUsage  # noqa: E402
from core.tutor.performer import TutorPerformer, retrieve  # noqa: E402
from storage.db import make_engine, transaction  # noqa: E402
from storage.learner_store import learner_id_for  # noqa: E402
from storage.llm_usage import SqlAnswerCache, SqlUsageLedger  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.fakes.scripted_llm import ScriptedLlm  # noqa: E402

DEMO_COURSE = ROOT / "content" / "science-of-learning"
QUESTIONS = ROOT / "bench" / "data" / "tutor_questions.yaml"
LEVELS = {"new": 0.50, "some": 0.35, "confident": 0.15}
QUESTIONS_A_DAY = {0: 0.25, 1: 0.35, 2: 0.25, 3: 0.10, 4: 0.05}
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


class SimClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Asked:
    learner: int
    day: int
    concept: str
    question: str
    level: str
    follow_up: bool  # the learner asked the tutor earlier that day: memory goes with it


@dataclass
class Outcome:
    methods: Counter[str] = field(default_factory=Counter)
    by_day: dict[int, Counter[str]] = field(default_factory=dict)
    tokens: int = 0

    def hit_rate(self, day: int | None = None) -> float:
        counts = self.methods if day is None else self.by_day.get(day, Counter())
        return counts["cache"] / max(1, sum(counts.values()))


def question_bank() -> dict[str, list[list[str]]]:
    return cast(dict[str, list[list[str]]], yaml.safe_load(QUESTIONS.read_text(encoding="utf-8")))


def zipf(count: int, exponent: float) -> list[float]:
    return [1 / (rank**exponent) for rank in range(1, count + 1)]


def typed(rng: random.Random, question: str) -> str:
    """The question as someone types it: case, punctuation, greetings, the odd typo."""
    words = question.split()
    if rng.random() < 0.05:
        long_words = [i for i, w in enumerate(words) if len(w) > 3]
        if long_words:
            i = rng.choice(long_words)
            j = rng.randrange(len(words[i]) - 1)
            w = words[i]
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    text = " ".join(words)
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    text += rng.choices(["?", "??", ""], weights=[0.60, 0.05, 0.35])[0]
    text = rng.choices(["", "hi ", "Hey, ", "please "], weights=[0.89, 0.05, 0.03, 0.03])[0] + text
    return text + rng.choices(["", " please", " thanks"], weights=[0.92, 0.05, 0.03])[0]


def simulated_week(course: Course, *, learners: int, days: int, seed: int) -> list[Asked]:
    rng = random.Random(seed)
    bank = question_bank()
    concepts = [c.id for c in course.concepts]
    asked: list[Asked] = []
    for learner in range(1, learners + 1):
        level = rng.choices(list(LEVELS), weights=list(LEVELS.values()))[0]
        joins, progress = rng.choice([0, 1, 2]), 0
        for day in range(joins, days):
            if rng.random() >= 0.75:
                continue
            progress = min(progress + 1, len(concepts))
            count = rng.choices(list(QUESTIONS_A_DAY), weights=list(QUESTIONS_A_DAY.values()))[0]
            for number in range(count):
                now_on = progress - 1
                about = now_on if rng.random() < 0.8 or now_on == 0 else rng.randrange(now_on)
                questions = bank[concepts[about]]
                wordings = rng.choices(questions, weights=zipf(len(questions), 1.0))[0]
                wording = rng.choices(wordings, weights=zipf(len(wordings), 1.5))[0]
                asked.append(Asked(learner, day, concepts[about], typed(rng, wording), level,
                                   follow_up=number > 0))  # fmt: skip
    return asked


@contextmanager
def scratch_database() -> Iterator[Any]:
    with tempfile.TemporaryDirectory(prefix="pau-bench-tutor-") as directory:
        url = f"sqlite:///{directory}/pau.db"
        upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def scripted_answer(request: LlmRequest) -> LlmReply:
    """A model stand-in: a short answer from the context it was given (4 characters a token)."""
    question = request.messages[-1].text
    text = "In short: " + excerpt(request.context, question, max_chars=380).strip()
    text = text.replace("http", "")[:690]
    used = len(request.system + request.context + question) // 4
    return LlmReply(text=text, usage=LlmUsage(used, len(text) // 4), model="scripted")


def tutor_args(asked: Asked, memory: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "question": asked.question, "mode": "answer", "course": "science-of-learning",
        "concept_id": asked.concept, "language": "en", "level": asked.level,
        "name": f"Learner{asked.learner}", "interests": "", "memory": memory, "item": None,
    }  # fmt: skip


def exact_text_key(**parts: Any) -> str:
    """The baseline: a key on the question exactly as typed."""
    material = "\x00".join(str(parts[name]) for name in sorted(parts))
    return hashlib.sha256(material.encode()).hexdigest()


def run_week(
    course: Course, asked: list[Asked], *, memory: str, key: Callable[..., str]
) -> Outcome:
    """`memory`: "kept" (the last exchanges, whenever they were), "day" (that day's), "none"."""
    outcome = Outcome()
    # the performer's own key function, swapped for the baseline's
    with patch("core.tutor.performer.answer_cache_key", key), scratch_database() as engine:
        clock = SimClock()
        with transaction(engine) as session:
            ids = {a.learner: learner_id_for(session, channel="bench", external_id=str(a.learner),
                                             now=START) for a in asked}  # fmt: skip
        ledger = SqlUsageLedger(engine)
        tutor = TutorPerformer(ScriptedLlm(scripted_answer), lambda: {course.slug: course},
                               ledger, SqlAnswerCache(engine, clock=clock), Budget(), clock)  # fmt: skip
        memories: dict[tuple[int, int], list[dict[str, str]]] = {}
        for asked_one in asked:
            clock.now = START + timedelta(days=asked_one.day)
            span = asked_one.day if memory == "day" else -1
            remembered = memories.setdefault((asked_one.learner, span), [])
            args = tutor_args(asked_one, remembered[-3:] if memory != "none" else [])
            result = tutor(ids[asked_one.learner], args)
            remembered.append({"q": asked_one.question[:200], "a": result["text"][:200]})
            outcome.methods[result["method"]] += 1
            outcome.by_day.setdefault(asked_one.day, Counter())[result["method"]] += 1
        for day in range(max(a.day for a in asked) + 1):
            _, everyone = ledger.spent(learner_id=0, day=(START + timedelta(days=day)).date())
            outcome.tokens += everyone
    return outcome


def report_week(course: Course, options: argparse.Namespace) -> None:
    asked = simulated_week(course, learners=options.learners, days=options.days, seed=options.seed)
    distinct = len({(a.concept, a.question) for a in asked})
    print(f"\n== the answer cache over a simulated week: {options.learners} learners, "
          f"{options.days} days, seed {options.seed} ==")  # fmt: skip
    print(f"{len(asked)} questions asked ({distinct} distinct texts), "
          f"{sum(a.follow_up for a in asked)} of them follow-ups the same day")  # fmt: skip
    variants = [
        ("memory never cleared (before)", "kept", answer_cache_key),
        ("memory for one conversation (today's rule)", "day", answer_cache_key),
        ("no memory: the key alone", "none", answer_cache_key),
        ("baseline: exact-text key, no memory", "none", exact_text_key),
    ]
    outcomes = []
    for name, memory, key in variants:
        started = time.perf_counter()
        outcome = run_week(course, asked, memory=memory, key=key)
        outcomes.append(outcome)
        methods = ", ".join(f"{m} {n}" for m, n in sorted(outcome.methods.items()))
        per_day = " ".join(f"{outcome.hit_rate(d):.0%}" for d in sorted(outcome.by_day))
        print(f"  {name:48} hit rate {outcome.hit_rate():6.1%}  ({methods}); "
              f"model tokens {outcome.tokens:,}; by day {per_day}; "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    baseline = outcomes[-1].hit_rate()
    for (name, _, _), outcome in zip(variants[:-1], outcomes[:-1], strict=True):
        ratio = outcome.hit_rate() / baseline if baseline else float("inf")
        print(f"  ratio to the exact-text baseline, {name}: {ratio:.2f}x")


class CountingLlm:
    """The adapter, with every reply's usage kept."""

    def __init__(self, llm: Llm) -> None:
        self.llm = llm
        self.usages: list[tuple[LlmRequest, LlmUsage]] = []

    def complete(self, request: LlmRequest) -> LlmReply:
        reply = self.llm.complete(request)
        self.usages.append((request, reply.usage))
        return reply

    def close(self) -> None:
        self.llm.close()


def summarise(name: str, usages: list[tuple[LlmRequest, LlmUsage]]) -> None:
    def mean(values: list[int]) -> float:
        return statistics.fmean(values) if values else 0.0

    inputs = [u.input_tokens for _, u in usages]
    cached = [u.cached_tokens for _, u in usages]
    outputs = [u.output_tokens for _, u in usages]
    system = [len(r.system) // 4 for r, _ in usages]
    context = [len(r.context) // 4 for r, _ in usages]
    print(f"  {name}: {len(usages)} calls; per call: input {mean(inputs):.0f} tokens "
          f"(of which read from the prompt cache {mean(cached):.0f}; system prompt ~{mean(system):.0f}, "
          f"course context ~{mean(context):.0f}), output {mean(outputs):.0f}; "
          f"total {mean(inputs) + mean(outputs):.0f} (median {statistics.median(i + o for i, o in zip(inputs, outputs, strict=True)):.0f}, "
          f"max {max(i + o for i, o in zip(inputs, outputs, strict=True))}); "
          f"uncached input {mean([i - c for i, c in zip(inputs, cached, strict=True)]):.0f}")  # fmt: skip


def report_tokens(course: Course, options: argparse.Namespace) -> None:
    from tests.fakes.anthropic_api import API_KEY, FakeAnthropicApi
    from webhooks.langchain_llm import LangchainLlm

    print("\n== tokens per call, the real adapter against the fake Messages API "
          "(the fake counts 1 token per 4 characters of the JSON it gets) ==")  # fmt: skip
    bank = question_bank()
    with FakeAnthropicApi() as fake, scratch_database() as engine:
        llm = CountingLlm(LangchainLlm.anthropic(api_key=API_KEY, base_url=fake.base_url,
                                                 model="claude-sonnet-4-5", timeout=20, max_retries=2))  # fmt: skip
        clock = SimClock()
        with transaction(engine) as session:
            ada = learner_id_for(session, channel="bench", external_id="ada", now=START)
        ledger = SqlUsageLedger(engine)
        tutor = TutorPerformer(llm, lambda: {course.slug: course}, ledger,
                               SqlAnswerCache(engine, clock=clock), Budget(0, 0), clock)  # fmt: skip
        answered = 0
        for concept_id, questions in bank.items():
            for wordings in questions:
                args = tutor_args(Asked(1, 0, concept_id, wordings[0], "new", False), [])
                passages = retrieve(course, args)
                if passages:
                    fake.default_text = excerpt(passages[0].text, wordings[0], max_chars=420)
                result = tutor(ada, args)
                answered += result["method"] == "llm"
                if result["method"] != "llm":
                    print(f"  not by the model: {wordings[0]!r} ({result['method']}, "
                          f"fallback {result['fallback']!r}, nothing found {result['nothing_found']})")  # fmt: skip
        answers = list(llm.usages)
        system_chars = statistics.fmean(len(r.system) for r, _ in answers)
        prefixes = [(len(r.system) + len(r.context)) / 4 for r, _ in answers]
        print(f"  prompt caching: the part the same for every call is the system prompt, "
              f"~{system_chars / 4:,.0f} tokens; with a question's passages the cacheable prefix "
              f"is ~{statistics.fmean(prefixes):,.0f} tokens, over 1,024 in "
              f"{sum(p >= 1024 for p in prefixes)} of {len(prefixes)} calls. Anthropic caches no "
              "prefix under 1,024 tokens (Sonnet 4.5; 2,048 Sonnet 4.6; 4,096 Haiku 4.5); the "
              "fake imitates that minimum and the API's breakpoints (each cache_control mark)")  # fmt: skip
        summarise(
            f"an answered question ({answered} of {sum(map(len, bank.values()))} by the model)",
            answers,
        )
        grader = LlmGrader(llm, ledger, Budget(0, 0), clock)
        graded = 0
        for concept in course.concepts:
            points = list(concept.explain_back.key_points)
            covered = points[:2]
            fake.default_data = {"score": len(covered) / len(points), "covered": covered,
                                 "missed": points[2:], "misconception": None,
                                 "feedback": f"Good start. Now add: {points[-1]}."}  # fmt: skip
            args = {"question": concept.explain_back.prompt,
                    "reference": " ".join([concept.summary, *points]),
                    "answer": f"Basically {covered[0]}. Also, {covered[-1]}, I think.",
                    "key_points": points, "concept_id": concept.id}  # fmt: skip
            graded += grader.grade(ada, args)["method"] == "llm"
        summarise(f"a graded explanation ({graded} of {len(course.concepts)} by the model)",
                  llm.usages[len(answers):])  # fmt: skip
        rows = ledger.usage_of(learner_id=ada)
        print("  the ledger for the day: " + "; ".join(
            f"{r['purpose']} {r['calls']} calls, in {r['input_tokens']:,} (cache read "
            f"{r['cached_tokens']:,}), out {r['output_tokens']:,}" for r in rows))  # fmt: skip
        llm.close()


LATENCY_SCENARIOS = {
    "none": "no model configured (baseline)",
    "slow": "the model answers after 5 s",
    "refused": "the model is down: connection refused",
    "500": "the model is down: HTTP 500 on every call",
}


def start_server(workdir: Path, bot: Any, llm: dict[str, str]) -> Any:
    import os
    import subprocess

    from tests.fakes.telegram_api import BOT_TOKEN
    from tests.load import free_port, wait_until_up

    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{workdir}/pau.db",
           "PAU_LOG_LEVEL": "WARNING", "PAU_SECRET_KEY": "bench-secret-key-0123456789abcdef",
           "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "TELEGRAM_API_BASE_URL": bot.base_url, "TELEGRAM_PER_CHAT_RATE": "1000",
           "TELEGRAM_OVERALL_RATE": "100000", **llm}  # fmt: skip
    cli = [sys.executable, "-m", "webhooks.cli"]
    subprocess.run([*cli, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*cli, "content", "import", str(ROOT / "content")], cwd=ROOT, env=env,
                   check=True, capture_output=True)  # fmt: skip
    port = free_port()
    log = (workdir / "server.log").open("wb")
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until_up(port, server)
    except RuntimeError:
        print((workdir / "server.log").read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    server.port = port  # type: ignore[attr-defined]
    return server


WEBHOOK_SECRET = "bench-secret"
FIRST_USER = 810_000_000


def settle(bot: Any, quiet: float = 1.5, timeout: float = 60) -> None:
    """Until the fake Bot API has had no call for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = bot.calls
        if calls and time.monotonic() - calls[-1].timestamp > quiet:
            return
        time.sleep(0.1)


def first_signs(port: int, bot: Any, questions: list[str]) -> list[tuple[float, float, str]]:
    """(seconds to typing, seconds to the answer, the answer) for each question; the first is
    the server's first question (a cold start: the retrieval's index and models load)."""
    import httpx

    from tests.fakes.telegram_api import update_payload
    from tests.load import ONBOARDING

    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    update_ids = iter(range(1, 10**6))
    users = [FIRST_USER + n for n in range(len(questions))]
    signs = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for name, overrides in ONBOARDING:
            for user in users:
                payload = update_payload(
                    name, update_id=next(update_ids), user_id=user, **overrides
                )
                client.post("/webhooks/telegram", json=payload, headers=headers).raise_for_status()
        settle(bot)
        for user, question in zip(users, questions, strict=True):
            payload = update_payload("message_text", update_id=next(update_ids), user_id=user,
                                     text=question)  # fmt: skip
            posted = time.monotonic()
            client.post("/webhooks/telegram", json=payload, headers=headers).raise_for_status()

            def answered(calls: list[Any], user: int = user, posted: float = posted) -> bool:
                return any(c.method == "sendMessage" and c.chat_id == user
                           and c.timestamp >= posted for c in calls)  # fmt: skip

            calls = bot.wait_for(answered, timeout=90)
            mine = [c for c in calls if c.chat_id == user and c.timestamp >= posted]
            typing = next((c.timestamp for c in mine if c.method == "sendChatAction"), float("nan"))
            reply = next(c for c in mine if c.method == "sendMessage")
            signs.append((typing - posted, reply.timestamp - posted, str(reply.params.get("text"))))
            settle(bot, quiet=0.5)
    return signs


def report_latency(course: Course, options: argparse.Namespace) -> None:
    from tests.fakes.anthropic_api import API_KEY, FakeAnthropicApi
    from tests.fakes.llm_script import Error, Text
    from tests.fakes.telegram_api import FakeBotApi
    from tests.load import free_port, stop_process

    bank = question_bank()
    warm_up = "what is the forgetting curve?"
    questions = [qs[0][0] + "?" for qs in bank.values()][: options.questions]
    print(f"\n== the first sign of life: {len(questions)} learners, one question each, "
          "a real pau serve, the fake Bot API and the fake Messages API ==")  # fmt: skip
    print(f"{'':46} {'typing p50':>11} {'max':>7} {'answer p50':>11} {'max':>7}  answers")
    baseline = 0.0
    for scenario, label in LATENCY_SCENARIOS.items():
        if scenario not in options.scenarios.split(","):
            continue
        with FakeBotApi() as bot, FakeAnthropicApi() as model, \
                tempfile.TemporaryDirectory(prefix="pau-bench-tutor-") as workdir:  # fmt: skip
            if scenario == "slow":
                model.script(*(Text(model.default_text, delay=options.llm_delay),) * 200)
            elif scenario == "500":
                model.script(*(Error(500),) * 500)
            llm = {"PAU_LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": API_KEY,
                   "ANTHROPIC_BASE_URL": model.base_url}  # fmt: skip
            if scenario == "none":
                llm = {"PAU_LLM_PROVIDER": "none"}
            elif scenario == "refused":
                llm["ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{free_port()}"  # nobody listens
            server = start_server(Path(workdir), bot, llm)
            try:
                cold, *signs = first_signs(server.port, bot, [warm_up, *questions])
            finally:
                stop_process(server)
            calls_to_model = len(model.requests)
        typing = [t for t, _, _ in signs]
        answer = [a for _, a, _ in signs]
        by_model = sum(model.default_text in text for _, _, text in signs)
        if scenario == "none" or not baseline:
            baseline = statistics.median(answer)
        print(f"  {label:44} {statistics.median(typing) * 1000:>8.0f} ms {max(typing) * 1000:>4.0f} ms "
              f"{statistics.median(answer):>9.2f} s {max(answer):>5.2f} s  {by_model} from the model "
              f"({calls_to_model} requests reached it); answer p50 / baseline "
              f"{statistics.median(answer) / baseline:.1f}x; the server's first question "
              f"(not counted): typing {cold[0] * 1000:.0f} ms, answer {cold[1]:.2f} s")  # fmt: skip
        if options.verbose:
            for t, a, text in signs:
                print(f"      typing {t * 1000:.0f} ms, answer {a:.2f} s: {text[:90]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="week,tokens,latency")
    parser.add_argument("--questions", type=int, default=10, help="learners asking (latency)")
    parser.add_argument("--llm-delay", type=float, default=5.0, help="the slow model's seconds")
    parser.add_argument("--scenarios", default=",".join(LATENCY_SCENARIOS))
    parser.add_argument("--verbose", action="store_true", help="every answer (latency)")
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=15)
    options = parser.parse_args()
    course = load_course(DEMO_COURSE)
    parts = options.parts.split(",")
    if "week" in parts:
        report_week(course, options)
    if "tokens" in parts:
        report_tokens(course, options)
    if "latency" in parts:
        report_latency(course, options)


if __name__ == "__main__":
    main()
