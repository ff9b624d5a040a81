"""The nudge sweep's cost as the learners grow: 1,000 due learners among 10,000, 100,000 and
1,000,000, on SQLite and PostgreSQL, in one run (issue 10's benchmark).

The sweep (storage/nudge_sweep.py) reads `WHERE next_nudge_at <= now ORDER BY next_nudge_at
LIMIT n` on the partial index ix_learner_next_nudge (DESIGN.md §7), so its time should follow the
due learners, not all of them: the times of one backend should be close, whatever the size.

Each backend gets a database of its own, made by the app's Alembic migrations (a temporary SQLite
file; on PostgreSQL a database pau_bench_sweep_<pid> created beside --postgres and dropped at the
end), with the demo course imported. The learners are bulk-inserted by SQL (a recursive CTE on
SQLite, generate_series on PostgreSQL), all consented with reminders on, a daily time and a time
zone, an active enrollment in the demo course, `nudge_state` and `motivation` '{}', their last
message yesterday; one in ten has reminders off and no next_nudge_at (never looked at), the others
are due at some minute of the next day. Then exactly 1,000 of them, spread over the whole table,
are made due (next_nudge_at in the last hour); at the fixed clock (a Wednesday, 12:00 UTC) every
one of their time zones is past their daily time and outside quiet hours, so the policy sends
each the daily reminder: every sweep must queue 1,000 nudge events, and the bench checks it does.

The sizes are measured by growing one database (10,000 learners, measured; up to 100,000,
measured; ...). Each repetition times `sweep(session, now=..., limit=1000)` inside
`storage.db.transaction` (the real write path: claim, move next_nudge_at on, queue the events,
commit), after the same 1,000 learners were put back in their due state and the queued events
deleted; on PostgreSQL (whose autovacuum may be off) VACUUM ANALYZE then runs, off the clock, so
every repetition meets the same table. The table shows the median and the spread; the ratio is to
the smallest size's median on the same backend, measured in the same run; the statements one sweep
sent; and the sweep's SELECT of due learners timed alone (the only part that could grow with all
learners: the rest is per due learner, by primary key). The query plan of that SELECT, recorded as
the sweep sent it, follows for every size: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL,
and at the largest size EXPLAIN (ANALYZE, BUFFERS) (rolled back) and the generic plan PostgreSQL
may cache for it once psycopg has prepared it.

    python bench/sweep.py [--sizes 10000,100000,1000000] [--backends sqlite,postgres]
        [--repeat 7] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

About 2 minutes with the defaults on a quiet 2-core machine, half of it loading the learners. The
sweep is CPU-bound (Python and round trips): other busy processes show in its times, so run it on
a quiet machine; the load average before and after is printed with the table.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel.sql.sqltypes import UTCDateTime

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch_database import scratch_postgres  # noqa: E402
from core.content_loader import load_course  # noqa: E402
from core.learner import Profile  # noqa: E402
from core.motivation import MotivationState  # noqa: E402
from core.nudges import Facts, NudgeKind, NudgeState, decide  # noqa: E402
from storage.content_repo import import_course  # noqa: E402
from storage.db import make_engine, transaction  # noqa: E402
from storage.learner_store import INBOUND_TABLE, LEARNER_TABLE  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.nudge_sweep import Outcome, sweep  # noqa: E402

COURSE = load_course(ROOT / "content" / "science-of-learning")
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday: no weekly recap
JOINED = NOW - timedelta(days=30)
YESTERDAY = NOW - timedelta(days=1)  # their last message: not silent for days, not chatting now
DUE = 1000
# (time zone, daily time): at NOW each reminder time came within the last hour, outside quiet hours
HABITS = (
    ("UTC", "11:30"),
    ("Europe/Berlin", "12:15"),
    ("Europe/Lisbon", "11:00"),
    ("Africa/Nairobi", "14:30"),
    ("Asia/Kolkata", "17:00"),
    ("America/Sao_Paulo", "07:00"),  # inside quiet hours: reminded at 08:00 local, 11:00 UTC
)
NEVER = 5  # learner ids ending in 5: reminders off, next_nudge_at NULL
DAY_MINUTES = 1439  # the others are due at NOW + 1 .. 1439 minutes


def habits_due() -> None:
    """Every habit gets the daily reminder at NOW from the policy itself (checked before loading
    a million learners who would get nothing)."""
    for zone, daily in HABITS:
        profile = Profile(consented=True, course_slug=COURSE.slug, daily_time=daily,
                          timezone=zone, nudges=True)  # fmt: skip
        facts = Facts(profile, NudgeState(), MotivationState(), last_seen=YESTERDAY)
        decision = decide(facts, NOW)
        if decision.nudge is None or decision.nudge.kind != NudgeKind.DAILY:
            raise SystemExit(f"{zone} at {daily}: no daily reminder at {NOW}: {decision.reason}")


def later_at(learner_id: int) -> datetime:
    """A not-yet-due learner's next look, as the bulk insert computes it."""
    return NOW + timedelta(minutes=1 + learner_id % DAY_MINUTES)


def due_ids(size: int) -> list[int]:
    """DUE learners spread evenly over ids 1..size, none of those who are never looked at."""
    ids = [1 + number * size // DUE for number in range(DUE)]
    return [i + 1 if i % 10 == NEVER else i for i in ids]


def _case(cases: list[str]) -> str:
    quoted = " ".join(f"WHEN {n} THEN '{value}'" for n, value in enumerate(cases))
    return f"CASE i % {len(cases)} {quoted} END"


COLUMNS = (
    "id, channel, external_id, consented_at, name, level, daily_time, timezone, nudges, language,"
    " paused, stopped, unreachable, created_at, last_inbound_at, motivation, fsrs_fit_reviews,"
    " reviews_logged, nudge_state, next_nudge_at"
)


def _learner_row(dialect: str) -> str:
    """Learner i's values for COLUMNS, in SQL (so a million rows never pass through Python)."""
    no = "0" if dialect == "sqlite" else "false"
    if dialect == "sqlite":  # later_at(i), in the text form SQLite keeps UTCDateTime in
        later = f"datetime(:now, '+' || (1 + i % {DAY_MINUTES}) || ' minutes') || '.000000'"
    else:
        later = f"CAST(:now AS timestamptz) + (1 + i % {DAY_MINUTES}) * interval '1 minute'"
    return (
        "i, 'telegram', 'bench-' || i, :joined, 'Learner', 'beginner',"
        f" {_case([daily for _, daily in HABITS])}, {_case([zone for zone, _ in HABITS])},"
        f" i % 10 <> {NEVER}, 'en', {no}, {no}, {no}, :joined, :yesterday, '{{}}', 0, 0, '{{}}',"
        f" CASE WHEN i % 10 = {NEVER} THEN NULL ELSE {later} END"
    )


def _for_each_id(dialect: str, row: str) -> str:
    """SELECT `row` for every learner id i from :first to :last."""
    if dialect == "sqlite":
        return (
            "WITH RECURSIVE number(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM number"
            f" WHERE i < :last) SELECT {row} FROM number"
        )
    return f"SELECT {row} FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) i"


def _moments(statement: str) -> sa.TextClause:
    """The statement with its moments bound as UTCDateTime (SQLite's stored text form)."""
    names = [name for name in ("now", "joined", "yesterday") if f":{name}" in statement]
    return sa.text(statement).bindparams(*(sa.bindparam(n, type_=UTCDateTime()) for n in names))


def load(engine: Engine, first: int, last: int) -> tuple[float, float]:
    """Insert learners first..last with their enrollments; (seconds for each)."""
    dialect = engine.dialect.name
    learners = f"INSERT INTO learner ({COLUMNS}) " + _for_each_id(dialect, _learner_row(dialect))
    active = "1" if dialect == "sqlite" else "true"
    enrollments = (
        "INSERT INTO enrollment (learner_id, course_slug, active, progress, stats, enrolled_at) "
        + _for_each_id(dialect, f"i, :course, {active}, '{{}}', '{{}}', :joined")
    )
    moments = {"now": NOW, "joined": JOINED, "yesterday": YESTERDAY}
    span = {"first": first, "last": last}
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(_moments(learners), {**span, **moments})
        if dialect == "postgresql":  # ids were given: the sequence moves past them
            connection.execute(
                sa.text("SELECT setval(pg_get_serial_sequence('learner', 'id'), :last)"), span
            )
    middle = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(_moments(enrollments), {**span, "course": COURSE.slug, "joined": JOINED})
    return middle - started, time.perf_counter() - middle


def due_at(number: int) -> datetime:
    return NOW - timedelta(minutes=1 + number % 60)  # due within the last hour


def set_next_nudge(engine: Engine, moments: dict[int, datetime]) -> None:
    if not moments:
        return
    statement = (
        sa.update(LEARNER_TABLE)
        .where(LEARNER_TABLE.c.id == sa.bindparam("learner"))
        .values(next_nudge_at=sa.bindparam("at"))
    )
    with engine.begin() as connection:
        connection.execute(statement, [{"learner": i, "at": at} for i, at in moments.items()])


def back_to_due(engine: Engine, due: list[int]) -> None:
    """The state before a sweep: these learners due, no nudge queued for anyone."""
    with engine.begin() as connection:
        connection.execute(sa.delete(INBOUND_TABLE))
    set_next_nudge(engine, {learner: due_at(n) for n, learner in enumerate(due)})
    tidy(engine)


def tidy(engine: Engine) -> None:
    """PostgreSQL: dead rows gone and statistics fresh (what autovacuum would do), off the clock."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE) learner, enrollment, inbound_message")


@dataclass
class Recording:
    """What one sweep sent to the database: its SELECT of due learners, how many statements."""

    select: tuple[str, Any] = ("", None)  # (statement, parameters) as the driver got them
    statements: int = 0


@contextmanager
def recording(engine: Engine) -> Iterator[Recording]:
    seen = Recording()

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.statements += 1
        if (
            not seen.select[0]
            and statement.startswith("SELECT")
            and "next_nudge_at <=" in statement
        ):
            seen.select = (statement, parameters)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def timed_sweep(engine: Engine) -> tuple[float, list[Outcome], Recording]:
    with recording(engine) as seen:
        started = time.perf_counter()
        with transaction(engine) as session:
            outcomes = sweep(session, now=NOW, limit=DUE)
        seconds = time.perf_counter() - started
    return seconds, outcomes, seen


def check(engine: Engine, outcomes: list[Outcome]) -> int:
    """The sweep did the work it should: DUE daily reminders queued, each once."""
    queued = sum(outcome.queued for outcome in outcomes)
    kinds = Counter(str(o.decision.nudge.kind) if o.decision.nudge else "-" for o in outcomes)
    with engine.connect() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(INBOUND_TABLE)).scalar()
    if len(outcomes) != DUE or queued != DUE or stored != DUE or kinds != {"daily": DUE}:
        reasons = Counter(outcome.decision.reason for outcome in outcomes).most_common(5)
        raise SystemExit(f"the sweep did not queue {DUE} daily reminders: {len(outcomes)} looked "
                         f"at, {queued} queued, {stored} events stored, kinds {dict(kinds)}, "
                         f"reasons {reasons}")  # fmt: skip
    return queued


def select_alone(engine: Engine, select: tuple[str, Any], repeat: int) -> float:
    """The sweep's SELECT by itself, all rows fetched, rolled back (the part that could grow with
    all learners): the median, in seconds."""
    times = []
    for _ in range(repeat):
        with engine.connect() as connection:
            started = time.perf_counter()
            rows = connection.exec_driver_sql(*select).fetchall()
            times.append(time.perf_counter() - started)
            assert len(rows) == DUE
    return statistics.median(times)


def plan(engine: Engine, select: tuple[str, Any], explain: str = "EXPLAIN") -> list[str]:
    if engine.dialect.name == "sqlite":
        explain = "EXPLAIN QUERY PLAN"
    statement, parameters = select
    with engine.connect() as connection:  # never committed: ANALYZE's row locks go away
        rows = connection.exec_driver_sql(f"{explain} {statement}", parameters).all()
    return [str(row[-1]) for row in rows]


def generic_plan(engine: Engine, select: tuple[str, Any]) -> list[str]:
    """PostgreSQL's plan once the statement is prepared and its plan cached for any parameters
    (psycopg prepares a statement run 5 times on a connection; the server may then keep a
    generic plan, which cannot know how few learners are due)."""
    statement, parameters = select
    names = re.findall(r"%\((\w+)\)s", statement)
    numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", statement)
    values = ", ".join(f"'{parameters[name]}'" for name in names)
    with engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql(f"PREPARE due_learners AS {numbered}")
        rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE due_learners({values})").all()
        connection.exec_driver_sql("DEALLOCATE due_learners")
        connection.exec_driver_sql("RESET plan_cache_mode")
    return [str(row[0]) for row in rows]


@dataclass
class Measure:
    backend: str
    learners: int
    due: int
    queued: int
    statements: int
    times: list[float]
    select_s: float
    plans: list[str] = field(default_factory=list)
    select_sql: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def count_due(engine: Engine) -> int:
    with engine.connect() as connection:
        query = sa.select(sa.func.count()).where(LEARNER_TABLE.c.next_nudge_at <= NOW)
        return int(connection.execute(query).scalar_one())


def measure_size(engine: Engine, backend: str, size: int, repeat: int, last: bool) -> Measure:
    """`repeat` sweeps of the same DUE learners among `size`, then the plans of their SELECT."""
    due = due_ids(size)
    times = []
    for _ in range(repeat):
        back_to_due(engine, due)
        seconds, outcomes, seen = timed_sweep(engine)
        queued = check(engine, outcomes)
        times.append(seconds)
    back_to_due(engine, due)
    measure = Measure(backend, size, count_due(engine), queued, seen.statements, times,
                      select_alone(engine, seen.select, repeat), plan(engine, seen.select),
                      select_sql=" ".join(seen.select[0].split()))  # fmt: skip
    if last and backend == "postgres":
        measure.plans += ["", "EXPLAIN (ANALYZE, BUFFERS):"]
        measure.plans += plan(engine, seen.select, "EXPLAIN (ANALYZE, BUFFERS)")
        measure.plans += ["", "generic plan (prepared, plan_cache_mode = force_generic_plan):"]
        measure.plans += generic_plan(engine, seen.select)
    return measure


def run_backend(backend: str, url: str, sizes: list[int], repeat: int) -> list[Measure]:
    """One database grown through `sizes`, each measured."""
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as session:
        import_course(session, course=COURSE, now=JOINED)
    measures: list[Measure] = []
    loaded = 0
    for size in sizes:
        learners_s, enrollments_s = load(engine, loaded + 1, size)
        print(f"{backend}: {size - loaded:,} learners loaded in {learners_s:.1f} s, their "
              f"enrollments in {enrollments_s:.1f} s ({size:,} in all)", flush=True)  # fmt: skip
        if loaded:  # the previous size's due learners are due later, like the others
            set_next_nudge(engine, {i: later_at(i) for i in due_ids(loaded)})
        loaded = size
        measure = measure_size(engine, backend, size, repeat, size == sizes[-1])
        measures.append(measure)
        shown = ", ".join(f"{t:.3f}" for t in measure.times)
        print(f"{backend}: {size:,} learners, {measure.queued} queued each time: sweeps {shown} s",
              flush=True)  # fmt: skip
    engine.dispose()
    return measures


def report(measures: list[Measure], repeat: int, load_before: float) -> None:
    print(f"\nnudge sweep, {DUE:,} due learners (limit {DUE:,}), median of {repeat} sweeps each; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (the sweep is "
          "CPU-bound: other processes show in its times)")  # fmt: skip
    header = (f"{'backend':<9} {'learners':>10} {'due':>5} {'queued':>6} {'sweep s':>8} "
              f"{'min-max s':>12} {'learners/s':>10} {'vs smallest':>11} {'statements':>10} "
              f"{'select ms':>9}")  # fmt: skip
    print(header)
    print("-" * len(header))
    baselines: dict[str, float] = {}
    for m in measures:
        baseline = baselines.setdefault(m.backend, m.median)
        spread = f"{min(m.times):.3f}-{max(m.times):.3f}"
        print(f"{m.backend:<9} {m.learners:>10,} {m.due:>5} {m.queued:>6} {m.median:>8.3f} "
              f"{spread:>12} {m.due / m.median:>10.0f} {m.median / baseline:>11.2f} "
              f"{m.statements:>10} {m.select_s * 1000:>9.1f}")  # fmt: skip
    print("\nlearners/s: due learners swept per second; vs smallest: this median / the smallest "
          "size's on the same backend;\nstatements: sent by one sweep; select ms: the sweep's "
          "SELECT of due learners alone, all rows fetched")  # fmt: skip
    shown: set[str] = set()
    for m in measures:
        if m.backend not in shown:
            shown.add(m.backend)
            print(f"\n{m.backend}: the sweep's select: SELECT … "
                  f"{m.select_sql[m.select_sql.index('FROM learner') :]}")  # fmt: skip
        what = "EXPLAIN QUERY PLAN" if m.backend == "sqlite" else "EXPLAIN"
        print(f"\n{m.backend}, {m.learners:,} learners, {what}:")
        for line in m.plans:
            print(f"  {line}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="learners, ascending")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--repeat", type=int, default=7, help="sweeps timed per size")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server's URL: a database of our own is created beside "
                        "it and dropped")  # fmt: skip
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    backends = [name.strip() for name in args.backends.split(",")]
    if sizes[0] < 10 * DUE or set(backends) - {"sqlite", "postgres"}:
        parser.error(f"sizes of {10 * DUE:,} learners or more; backends sqlite and/or postgres")
    habits_due()
    load_before = os.getloadavg()[0]
    measures = []
    if "sqlite" in backends:
        workdir = Path(tempfile.mkdtemp(prefix="pau-bench-sweep-"))
        try:
            measures += run_backend("sqlite", f"sqlite:///{workdir}/bench.db", sizes, args.repeat)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    if "postgres" in backends:
        with scratch_postgres(args.postgres, "pau_bench_sweep") as url:
            measures += run_backend("postgres", url, sizes, args.repeat)
    report(measures, args.repeat, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
