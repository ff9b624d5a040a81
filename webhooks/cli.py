"""The `pau` command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from core.content_loader import CourseReading, find_course_folders, read_course
from core.errors import ConfigurationError, ContentError
from storage.content_repo import import_course
from storage.db import make_engine, transaction, utcnow
from storage.migrate import upgrade
from webhooks import content_drafts, metrics, nudge_report, terminal_chat
from webhooks.config import get_settings
from webhooks.container import build, check_settings
from webhooks.logs import configure_logging, uvicorn_log_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pau", description="PAU, the learning assistant in your chat app."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="run the web app (webhooks, health) with the scheduler"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--no-scheduler", action="store_true", help="leave background jobs to `pau worker`"
    )

    commands.add_parser(
        "worker", help="run the background jobs only: processing, commands, delivery, nudges"
    )

    chat = commands.add_parser(
        "chat", help="chat with PAU in this terminal (reads piped input too)"
    )
    chat.add_argument("--user", default="local", help="which terminal learner you are")
    chat.add_argument(
        "--at",
        metavar="ISO-TIME",
        help="the chat's clock starts at this time, e.g. 2026-12-01T07:00+01:00 (without an "
        "offset it is UTC); in the chat, `clock +1d` moves it on, nudges included",
    )

    nudge = commands.add_parser(
        "nudge", help="run one nudge sweep as of a given time: who gets what, and why"
    )
    nudge.add_argument(
        "--at",
        metavar="ISO-TIME",
        help="the sweep's time, e.g. 2026-12-02T08:30+01:00; without an offset it is UTC "
        "(default: now)",
    )
    nudge.add_argument(
        "--dry-run", action="store_true", help="only say what would go out; write nothing"
    )
    nudge.add_argument(
        "--all",
        action="store_true",
        dest="everyone",
        help="also list every learner who is not due, with the reason",
    )

    content = commands.add_parser("content", help="check or import courses, draft new content")
    content_actions = content.add_subparsers(dest="action", required=True)
    for action, about in (
        ("check", "validate courses and list their drafts"),
        ("import", "import courses into the database (drafts left out)"),
    ):
        content_actions.add_parser(action, help=about).add_argument("path", type=Path)
    content_drafts.add_parsers(content_actions)

    grade = commands.add_parser("grade", help="grade explain-back answers offline")
    grading = grade.add_mutually_exclusive_group(required=True)
    grading.add_argument(
        "--batch",
        type=Path,
        metavar="FILE.jsonl",
        help='lines {"question", "reference", "answer"[, "key_points"]}; "-" for stdin',
    )
    grading.add_argument(
        "--report",
        type=Path,
        metavar="FILE.jsonl",
        help='score a file of human-scored answers (also a "score" per line) and print how '
        "well the grader and naive baselines agree with it",
    )
    grade.add_argument(
        "--grader",
        choices=["offline", "llm"],
        default="offline",
        help="with --batch: the offline grader (default) or the configured model, falling back "
        'to the offline grader line by line (each line says "method" and "fallback")',
    )

    telegram = commands.add_parser("telegram", help="Telegram bot set-up")
    telegram_actions = telegram.add_subparsers(dest="action", required=True)
    set_webhook = telegram_actions.add_parser(
        "set-webhook", help="register URL as the bot's webhook"
    )
    set_webhook.add_argument("url", help="the public https URL of POST /webhooks/telegram")

    admin = commands.add_parser("admin", help="admin page accounts")
    admin_actions = admin.add_subparsers(dest="action", required=True)
    create_user = admin_actions.add_parser(
        "create-user", help="create a staff account (password prompted, or the first line of stdin)"
    )
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--role", required=True, choices=["admin", "mentor"])
    create_user.add_argument("--name", default="")

    database = commands.add_parser("db", help="database migrations")
    database.add_argument("action", choices=["upgrade"])

    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.pau_log_level, debug_logs=settings.pau_debug_logs)
    if args.command in ("serve", "worker", "chat", "nudge"):
        try:
            check_settings(settings)
        except ConfigurationError as error:
            print(f"pau: {error}", file=sys.stderr)
            return 2
    if args.command == "serve":
        return _serve(args.host, args.port, scheduler=not args.no_scheduler)
    if args.command == "worker":
        return asyncio.run(_worker())
    if args.command == "chat":
        return asyncio.run(terminal_chat.chat(args.user, args.at))
    if args.command == "nudge":
        return asyncio.run(
            nudge_report.sweep_and_report(args.at, dry_run=args.dry_run, everyone=args.everyone)
        )
    if args.command == "content" and args.action.startswith("draft-"):
        return content_drafts.run(args, settings)
    if args.command == "content":
        return _content(args.action, args.path)
    if args.command == "grade":
        return _grade(args.batch, args.grader) if args.batch else _grade_report(args.report)
    if args.command == "telegram":
        return asyncio.run(_set_telegram_webhook(args.url))
    if args.command == "admin":
        return _create_staff_user(args.email, args.role, args.name)
    upgrade(settings.database_url)
    print(f"database is up to date ({_safe_url(settings.database_url)})")
    return 0


def _safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def _serve(host: str, port: int, *, scheduler: bool) -> int:
    import uvicorn

    from webhooks.app import create_app

    try:
        uvicorn.run(
            create_app(scheduler=scheduler), host=host, port=port, log_config=uvicorn_log_config()
        )
    finally:  # its counters stay in PROMETHEUS_MULTIPROC_DIR; the folder is emptied by whoever
        metrics.process_exiting()  # starts the whole set (README "Logs and metrics")
    return 0


async def _worker() -> int:
    from scheduler.jobs import start_scheduler

    pau = build(get_settings())
    jobs = start_scheduler(pau)
    try:
        await asyncio.Event().wait()
    finally:
        jobs.shutdown(wait=False)
        await pau.stop_channels()
        pau.close()
        metrics.process_exiting()
    return 0


async def _set_telegram_webhook(url: str) -> int:
    from bot.telegram import make_bot, register_webhook

    settings = get_settings()
    token, secret = settings.telegram_bot_token, settings.telegram_webhook_secret
    if (
        token is None
        or secret is None
        or not token.get_secret_value()
        or not secret.get_secret_value()
    ):
        print("Set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first.", file=sys.stderr)
        return 2
    if not url.startswith("https://") and "127.0.0.1" not in url and "localhost" not in url:
        print("Telegram only calls https URLs.", file=sys.stderr)
        return 2
    bot = make_bot(token.get_secret_value(), settings.telegram_api_base_url)
    async with bot:
        await register_webhook(bot, url, secret.get_secret_value())
        info = await bot.get_webhook_info()
    print(f"webhook set: {info.url} (pending updates: {info.pending_update_count})")
    return 0


def _grade(path: Path, grader: str = "offline") -> int:
    """One JSON line out per line in, in order, on standard output."""
    from core.grading.batch import grade_lines

    if str(path) != "-" and not path.exists():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    if grader == "llm":
        return _grade_with_llm(path)
    with sys.stdin if str(path) == "-" else path.open(encoding="utf-8") as lines:
        for line in grade_lines(lines):
            print(line, flush=True)
    return 0


def _grade_with_llm(path: Path) -> int:
    """The batch graded by the configured model (no budget: an author's run); tokens on stderr."""
    from core.tutor.budget import Budget
    from core.tutor.grading import LlmGrader
    from core.tutor.grading_batch import TallyLedger, llm_grade_lines
    from webhooks.llm_setup import make_llm

    llm = make_llm(get_settings())
    if llm is None:
        print(
            "pau: --grader llm needs a model: set ANTHROPIC_API_KEY, or PAU_LLM_PROVIDER=openai "
            "with PAU_LLM_BASE_URL and PAU_LLM_MODEL",
            file=sys.stderr,
        )
        return 1
    ledger = TallyLedger()
    grading = LlmGrader(llm, ledger, Budget(per_learner=0, overall=0), utcnow)
    try:
        with sys.stdin if str(path) == "-" else path.open(encoding="utf-8") as lines:
            for line in llm_grade_lines(grading, lines):
                print(line, flush=True)
    finally:
        llm.close()
    used = ledger.total
    print(f"tokens used: {used.input_tokens} in, {used.output_tokens} out", file=sys.stderr)
    return 0


def _grade_report(path: Path) -> int:
    """The figures of bench/grader_quality.py for an author's own labelled answers."""
    from core.grading.encoder import encoder_available
    from core.grading.evaluation import BadFile, evaluate, load, score_rows

    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    try:
        rows = load(path)
    except BadFile as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    if not rows:
        print(f"{path}: no answers to score", file=sys.stderr)
        return 1
    if not encoder_available():
        print("the embedding model is not installed: words-only grader and word recall only")
    scores, ms = score_rows(rows, semantic=encoder_available())
    print(f"{path}: {len(rows)} answers, scored against score / full marks")
    print(evaluate(rows, scores, ms).table())
    return 0


def _create_staff_user(email: str, role: str, name: str) -> int:
    """`pau admin create-user`: the password is asked twice on a terminal, else it is the first
    line of standard input (for scripts)."""
    from storage import staff as staff_repo
    from webhooks.admin.auth import MIN_PASSWORD_CHARS, hash_password

    email = staff_repo.normal_email(email)
    if "@" not in email:
        print(f"pau: {email!r} is not an e-mail address", file=sys.stderr)
        return 1
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("pau: the passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_CHARS:
        print(f"pau: the password needs at least {MIN_PASSWORD_CHARS} characters", file=sys.stderr)
        return 1
    settings = get_settings()
    if settings.is_sqlite:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            if staff_repo.staff_by_email(session, email=email) is not None:
                print(f"pau: there is already an account for {email}", file=sys.stderr)
                return 1
            staff_repo.create_staff(
                session, email=email, name=name, role=role,
                password_hash=hash_password(password), now=utcnow(),
            )  # fmt: skip
    finally:
        engine.dispose()
    print(f"Created {role} {email}")
    return 0


def _content(action: str, path: Path) -> int:
    if not path.exists():
        print(f"{path}: no such file or folder", file=sys.stderr)
        return 2
    folders = find_course_folders(path)
    if not folders:
        print(f"{path}:1: no course.yaml here or in its folders", file=sys.stderr)
        return 1
    readings: list[CourseReading] = []
    failed = False
    for folder in folders:
        try:
            readings.append(read_course(folder))
        except ContentError as error:
            failed = True
            for problem in error.problems:
                print(problem, file=sys.stderr)
    if failed:
        return 1
    if action == "check":
        for reading in readings:
            course = reading.course
            items = sum(len(c.quiz) for c in course.concepts)
            print(f"ok: {course.slug}: {len(course.concepts)} concepts, {items} quiz items")
            for line in content_drafts.draft_summary(reading):
                print(line)
        return 0
    settings = get_settings()
    if settings.is_sqlite:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with transaction(engine) as session:
        for reading in readings:  # reading.course is what learners get: no drafts
            result = import_course(session, course=reading.course, now=utcnow())
            revision = f"revision {result.revision}, {result.concepts} concepts"
            left_out = f", {len(reading.drafts)} drafts left out" if reading.drafts else ""
            print(f"{result.outcome}: {result.slug} ({revision}{left_out})")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
