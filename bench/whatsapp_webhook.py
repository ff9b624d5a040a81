"""WhatsApp webhook throughput: one `pau serve` process, the loopback fake Graph API, real HTTP.

Issue 9's benchmark. N signed deliveries, a "hi" from N different learners (business-scoped user
ids "US.<20 digits>", distinct wamids), are built beforehand (wrk cannot compute HMACs) and
Debian's `wrk` posts each of them once (a Lua script: every thread owns its share and stops when
it is answered; THREADS threads, CONNECTIONS connections, at most DURATION seconds) to:

    bare      a FastAPI endpoint that only checks X-Hub-Signature-256 with pywa's validator over
              the raw body and answers 200 (uvicorn with pau serve's flags), the baseline: the
              same deliveries BARE_ROUNDS times (one round is over in a fraction of a second),
              the median round shown;
    sqlite    `pau serve` on a fresh SQLite file;
    postgres  `pau serve` on a fresh PostgreSQL database of its own (--postgres URL: a database
              named pau_bench_wa_<pid>_<hex> is created there and dropped at the end).

`pau serve` talks to the fake Graph API (tests/fakes/graph_api.py) that enforces Meta's 80 msg/s
(sends beyond it in any sliding second are answered 130429), with WHATSAPP_RATE=80. Figures:

  - accepted/s, p50/p99: wrk's requests per second and latency to the 200;
  - processed/s: N ÷ the time from the first request until every stored webhook item is parsed,
    every event processed and every learner's replies (welcome + consent question) reached the
    fake; with 2 messages a learner and 80 msg/s that is at most 40 learners a second;
  - outbound msg/s: accepted sends ÷ the time between the first and the last, next to the most
    sends the fake saw in any one second (max_rate_overall, refused attempts included) and the
    130429 answers PAU got (each retried: "lost" counts what never arrived);
  - lost: replies missing (a learner with fewer messages than the warm-up learner got);
    duplicated: messages beyond that, or the same body twice to one learner (each such send is
    listed with its arrival times; PAU's "outcome unknown" retries show in its log);
  - the ratio of accepted/s to the bare endpoint's, measured in the same run.

A warm-up learner writes first (not timed) so the server has loaded its content and templates; the
number of messages it gets is the expected count per learner. Each server's log goes to a file;
its warnings and errors are summed up at the end.

    python bench/whatsapp_webhook.py [--requests 1500] [--connections 32] [--threads 2]
        [--duration 60] [--bare-rounds 5] [--keep]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

wrk's own Requests/sec would count its whole -d (it sleeps that long even when every thread is
done), so the script times the first request and the last answer on CLOCK_MONOTONIC, and the
bench ends wrk with SIGINT once every thread is done. Requests already on the wire when a thread's
share is answered are re-deliveries of its first deliveries: they are counted and must change
nothing (PAU answers them as duplicates).

Loopback only (127.0.0.1). With the defaults it takes about a minute per backend: the 3,000
replies of 1,500 learners need ~38 s at 80 msg/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.scratch_database import scratch_postgres  # noqa: E402
from storage.db import make_engine  # noqa: E402
from tests.fakes.graph_api import PHONE_ID, TOKEN, FakeGraphApi  # noqa: E402
from tests.load import (  # noqa: E402
    free_port,
    stop_process,
    wait_until_up,
)
from tests.whatsapp_payloads import APP_SECRET, VERIFY_TOKEN, encoded, sign, text_delivery  # noqa: E402

RATE = 80  # Meta's default throughput per number, enforced by the fake and configured in PAU
FIRST_USER = 10**19  # user ids "US." + 20 digits
WARMUP_USER = f"US.{FIRST_USER - 1}"
BARE_APP = """
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pywa.utils import webhook_updates_validator
SECRET = {secret!r}
app = FastAPI()
@app.post("/webhooks/whatsapp")
async def hook(request: Request) -> JSONResponse:
    body = await request.body()
    signature = request.headers.get("X-Hub-Signature-256")
    if not signature:
        return JSONResponse({{"ok": False}}, status_code=401)
    if not webhook_updates_validator(app_secret=SECRET, request_body=body, x_hub_signature=signature):
        return JSONResponse({{"ok": False}}, status_code=403)
    return JSONResponse({{"ok": True}})
@app.get("/healthz")
def health() -> dict[str, str]:
    return {{"status": "ok"}}
"""
# Each thread owns the lines j with j % threads == its id, in order; it stops once that many of
# its requests were answered. Requests its other connections had already sent by then go round
# again from its first line (re-deliveries, which PAU must recognise: counted, never lost).
WRK_SCRIPT = """
local ffi = require("ffi")  -- wrk's own clock ends with -d, not when the threads stop
ffi.cdef[[ typedef struct { long sec; long nsec; } pau_ts; int clock_gettime(int, pau_ts *); ]]
local ts = ffi.new("pau_ts")
local function now()  -- CLOCK_MONOTONIC, as Python's time.monotonic()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.sec) + tonumber(ts.nsec) / 1e9
end
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  reqs = {}
  local n = 0
  for line in io.lines(path) do
    if n % nthreads == id then
      local space = line:find(" ", 1, true)
      local headers = {["Content-Type"] = "application/json",
                       ["X-Hub-Signature-256"] = line:sub(1, space - 1)}
      table.insert(reqs, wrk.format("POST", "/webhooks/whatsapp", headers, line:sub(space + 1)))
    end
    n = n + 1
  end
  share, sent, answered, ok, non2xx, stored, dups = #reqs, 0, 0, 0, 0, 0, 0
  first, last = 0, 0
end
function request()
  if sent == 0 then first = now() end
  sent = sent + 1
  return reqs[((sent - 1) % share) + 1]
end
function response(status, headers, body)
  answered = answered + 1
  if status == 200 then
    ok = ok + 1
    if body:find('"stored":1', 1, true) then stored = stored + 1 end
    if body:find('"duplicates":1', 1, true) then dups = dups + 1 end
  else
    non2xx = non2xx + 1
  end
  if answered >= share then
    last = now()
    io.write("WRK-THREAD-DONE\\n")  -- the bench then ends wrk's -d sleep with SIGINT
    io.flush()
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  local sum = {ok = 0, non2xx = 0, stored = 0, dups = 0}
  local sent_by, first, last, unfinished = {}, math.huge, 0, false
  for _, t in ipairs(threads) do
    first, last = math.min(first, t:get("first")), math.max(last, t:get("last"))
    if t:get("last") == 0 then unfinished = true end  -- stopped by -d
    for key, _ in pairs(sum) do sum[key] = sum[key] + t:get(key) end
    table.insert(sent_by, tostring(t:get("sent")))
  end
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "seconds": %f, "p50": %f, "p99": %f, "max": %f, ' ..
    '"ok": %d, "non2xx": %d, "stored": %d, "duplicates": %d, "socket_errors": %d, ' ..
    '"timeouts": %d, "sent_by_thread": [%s], "first": %f, "last": %f}\\n',
    summary.requests, (unfinished and summary.duration / 1e6 or last - first), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, sum.ok, sum.non2xx, sum.stored, sum.dups,
    e.connect + e.read + e.write, e.timeout, table.concat(sent_by, ","), first, last))
end
"""


@dataclass
class Row:
    backend: str
    wrk: dict[str, Any]
    processed_per_s: float | None = None
    outbound: dict[str, Any] = field(default_factory=dict)
    lost: int | None = None
    duplicated: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def accepted_per_s(self) -> float:
        return float(self.wrk["ok"]) / float(self.wrk["seconds"])


def user_id(number: int) -> str:
    return f"US.{FIRST_USER + number}"


def build_requests(workdir: Path, count: int) -> tuple[Path, Path, list[str]]:
    """(data file: one 'signature body' line per delivery, the Lua script, the user ids)."""
    run = uuid.uuid4().hex[:8].upper()
    users, lines = [], []
    for number in range(count):
        user = user_id(number)
        body = encoded(text_delivery("hi", user_id=user, wa_id=None,
                                     wamid=f"wamid.BENCH{run}{number:08d}"))  # fmt: skip
        assert b"\n" not in body
        users.append(user)
        lines.append(f"{sign(body)} {body.decode()}")
    data = workdir / "deliveries.txt"
    data.write_text("\n".join(lines) + "\n")
    script = workdir / "deliveries.lua"
    script.write_text(WRK_SCRIPT)
    return data, script, users


def run_wrk(
    port: int, data: Path, script: Path, args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
               "--timeout", "30s", "--latency", "-s", str(script),
               f"http://127.0.0.1:{port}/webhooks/whatsapp", "--", str(data), str(args.threads)]  # fmt: skip
    wrk = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wrk.stdout is not None and wrk.stderr is not None
    output, finished = [], 0
    for line in wrk.stdout:  # wrk sleeps for all of -d unless interrupted: SIGINT when done
        output.append(line)
        if line.startswith("WRK-THREAD-DONE"):
            finished += 1
            if finished == args.threads:
                wrk.send_signal(signal.SIGINT)
    returncode, errors = wrk.wait(timeout=60), wrk.stderr.read()
    stdout = "".join(output)
    log.write_text(" ".join(command) + "\n" + stdout + errors)
    lines = [line for line in stdout.splitlines() if line.startswith("WRK ")]
    if returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({returncode}): {errors.strip()[:500]}")
    figures: dict[str, Any] = json.loads(lines[-1][4:])
    return figures


def sent_users(users: list[str], figures: dict[str, Any], threads: int) -> list[str]:
    """The learners whose delivery wrk sent at least once (all of them, unless time ran out)."""
    sent_by = figures["sent_by_thread"]
    return [user for j, user in enumerate(users) if j // threads < sent_by[j % threads]]


def start_bare(port: int, workdir: Path, log: Path) -> subprocess.Popen[bytes]:
    (workdir / "bare_whatsapp.py").write_text(BARE_APP.format(secret=APP_SECRET))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_whatsapp:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_until_up(port, process)
    return process


def pau_env(database_url: str, fake: FakeGraphApi) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url,
            "PAU_LOG_LEVEL": "WARNING", "PAU_SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "WHATSAPP_PHONE_ID": PHONE_ID, "WHATSAPP_TOKEN": TOKEN,
            "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "WHATSAPP_API_BASE_URL": fake.base_url, "WHATSAPP_RATE": str(RATE),
            "WHATSAPP_PER_RECIPIENT_RATE": "1",
            # the default is relative to the working directory, and the server runs elsewhere
            "WHATSAPP_TEMPLATES": str(ROOT / "prompts" / "whatsapp_templates.yaml")}  # fmt: skip


def start_pau(
    port: int, database_url: str, fake: FakeGraphApi, workdir: Path, log: Path
) -> subprocess.Popen[bytes]:
    env, python = pau_env(database_url, fake), sys.executable
    for step in (["db", "upgrade"], ["content", "import", str(ROOT / "content")]):
        subprocess.run([python, "-m", "webhooks.cli", *step], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            [python, "-m", "webhooks.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_until_up(port, process)
    return process


def counts(engine: sa.Engine) -> dict[str, int]:
    queries = {
        "items": "SELECT count(*) FROM webhook_item WHERE channel = 'whatsapp'",
        "items_waiting": "SELECT count(*) FROM webhook_item WHERE channel = 'whatsapp'"
        " AND processed_at IS NULL",
        "items_set_aside": "SELECT count(*) FROM webhook_item WHERE channel = 'whatsapp'"
        " AND error IS NOT NULL",
        "events_waiting": "SELECT count(*) FROM inbound_message WHERE processed_at IS NULL"
        " AND channel = 'whatsapp'",
        "events_failed": "SELECT count(*) FROM inbound_message WHERE error IS NOT NULL",
        "outbox_pending": "SELECT count(*) FROM outbox WHERE channel = 'whatsapp'"
        " AND status = 'pending'",
        "outbox_failed": "SELECT count(*) FROM outbox WHERE channel = 'whatsapp'"
        " AND status = 'failed'",
        "outbox_unknown": "SELECT count(*) FROM outbox WHERE outcome_unknown",
        "learners": "SELECT count(*) FROM learner",
    }
    with engine.connect() as connection:
        return {
            key: int(connection.execute(sa.text(sql)).scalar_one()) for key, sql in queries.items()
        }


def post_one(port: int, user: str) -> int:
    body = encoded(text_delivery("hi", user_id=user, wa_id=None, wamid="wamid.BENCHWARMUP"))
    headers = {"content-type": "application/json", "X-Hub-Signature-256": sign(body)}
    response = httpx.post(f"http://127.0.0.1:{port}/webhooks/whatsapp", content=body,
                          headers=headers, timeout=30)  # fmt: skip
    return response.status_code


def pau_run(
    backend: str, database_url: str, data: Path, script: Path, users: list[str],
    args: argparse.Namespace, workdir: Path,
) -> Row:  # fmt: skip
    log = workdir / f"pau-{backend}.log"
    with FakeGraphApi(rate_per_second=RATE) as fake:
        port = free_port()
        server = start_pau(port, database_url, fake, workdir, log)
        engine = make_engine(database_url)
        try:
            assert post_one(port, WARMUP_USER) == 200
            fake.wait_for(lambda calls: len([c for c in calls if c.recipient == WARMUP_USER and c.ok])
                          >= 1, timeout=60)  # fmt: skip
            time.sleep(1.5)  # the rest of the warm-up's replies, then a quiet second for the rate
            expected = len(fake.messages(WARMUP_USER))
            fake.reset()
            started = time.monotonic()
            figures = run_wrk(port, data, script, args, workdir / f"wrk-{backend}.txt")
            loaded = time.monotonic()
            started = figures["first"] or started  # wrk's first request, on the same clock
            learners = sent_users(users, figures, args.threads)
            target = expected * len(learners)
            deadline = loaded + max(120.0, 3 * target / RATE)
            milestones: dict[str, float] = {}
            state = counts(engine)
            while time.monotonic() < deadline:
                now = time.monotonic()
                if state["items"] >= len(learners) and not state["items_waiting"]:
                    milestones.setdefault("parsed", now)
                    if not state["events_waiting"]:
                        milestones.setdefault("replies written", now)
                sent = len([c for c in fake.calls if c.kind == "message" and c.ok])
                if (
                    "replies written" in milestones
                    and not state["outbox_pending"]
                    and sent >= target
                ):
                    milestones["all sent"] = now
                    break
                time.sleep(0.2)
                state = counts(engine)
            time.sleep(1.0)  # anything sent twice would arrive now
            state = counts(engine)
        finally:
            stop_process(server, timeout=20)
            engine.dispose()
        calls = [c for c in fake.calls if c.kind == "message"]
    row = Row(backend, figures)
    done_at = milestones.get("all sent")
    row.processed_per_s = len(learners) / (done_at - started) if done_at else None
    if not done_at:
        row.notes.append(
            f"not all replies arrived within {deadline - loaded:.0f} s after the load: {state}"
        )
    for name, at in milestones.items():
        row.notes.append(f"{name} {at - started:.1f} s after the first request")
    accepted = [c for c in calls if c.ok]
    refused = Counter(c.error_code for c in calls if not c.ok)
    span = accepted[-1].timestamp - accepted[0].timestamp if len(accepted) > 1 else 0.0
    row.outbound = {
        "sent": len(accepted),
        "rate": (len(accepted) - 1) / span if span else None,
        "max_1s": fake.max_rate_overall(),
        "max_1s_accepted": fake.max_rate_overall(accepted_only=True),
        "refused": dict(refused),
    }
    if len(accepted) >= 10:  # the steady part, without the first and the last sends
        low, high = accepted[len(accepted) // 10], accepted[len(accepted) * 9 // 10]
        middle = (len(accepted) * 9 // 10 - len(accepted) // 10) / (high.timestamp - low.timestamp)
        buckets = Counter(int((c.timestamp - started) // 5) for c in accepted)
        profile = " ".join(f"{buckets[b] / 5:.0f}" for b in range(max(buckets) + 1))
        row.notes.append(f"outbound: the middle 80% of sends at {middle:.1f} msg/s; msg/s in each "
                         f"5 s from the first request: {profile}")  # fmt: skip
    per_user = Counter(c.recipient for c in accepted)
    bodies = Counter((c.recipient, json.dumps(c.body, sort_keys=True)) for c in accepted)
    row.lost = sum(max(0, expected - per_user[user]) for user in learners)
    same_twice = sum(n - 1 for n in bodies.values() if n > 1)
    row.duplicated = max(sum(max(0, per_user[user] - expected) for user in learners), same_twice)
    for (user, body), n in bodies.items():
        if n > 1:
            at = [f"{c.timestamp - started:.2f}" for c in accepted
                  if c.recipient == user and json.dumps(c.body, sort_keys=True) == body]  # fmt: skip
            row.notes.append(f"sent {n} times to {user}: {body[:80]}… arrived at {', '.join(at)} s")
    strangers = set(per_user) - set(learners)
    if strangers:
        row.notes.append(
            f"{len(strangers)} recipients that wrk did not count as sent: {sorted(strangers)[:3]}"
        )
    row.notes.append(f"{expected} messages per learner (the warm-up learner's); {len(learners)} learners; "
                     f"database at the end: {state}")  # fmt: skip
    if figures["requests"] > len(learners):
        row.notes.append(f"{figures['requests'] - len(learners)} re-deliveries (a connection's "
                         f"request after its thread's share), {figures['duplicates']} answered "
                         "as duplicates")  # fmt: skip
    row.notes += log_summary(log)
    return row


def log_summary(log: Path) -> list[str]:
    """Warnings and errors in a server's log, grouped with timestamps and numbers left out."""
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    flagged = [line for line in text if re.search(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback", line)]
    if not flagged:
        return [f"log {log.name}: {len(text)} lines, no warnings or errors"]
    kinds: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for line in flagged:
        kind = re.sub(r"\d+", "N", re.sub(r"^[\d-]+ [\d:,]+ ", "", line))[:150]
        kinds[kind] += 1
        examples.setdefault(kind, line)
    lines = [f"log {log.name}: {len(flagged)} warning/error lines of {len(text)}:"]
    return lines + [f"    {n} × {examples[kind][:220]}" for kind, n in kinds.most_common(6)]


def bare_run(data: Path, script: Path, args: argparse.Namespace, workdir: Path) -> Row:
    """The same deliveries, `--bare-rounds` times over (the bare endpoint keeps no state, and
    one round is over in a fraction of a second): the round with the median accepted/s."""
    port = free_port()
    log = workdir / "bare.log"
    server = start_bare(port, workdir, log)
    try:
        rounds = [run_wrk(port, data, script, args, workdir / f"wrk-bare-{n}.txt")
                  for n in range(args.bare_rounds)]  # fmt: skip
    finally:
        stop_process(server, timeout=20)
    rounds.sort(key=lambda figures: figures["ok"] / figures["seconds"])
    rates = ", ".join(f"{f['ok'] / f['seconds']:.0f}" for f in rounds)
    row = Row("bare FastAPI (signature only)", rounds[len(rounds) // 2], notes=log_summary(log))
    row.notes.insert(0, f"accepted/s of its {len(rounds)} rounds: {rates} (the median is shown)")
    return row


def show(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def report(rows: list[Row], args: argparse.Namespace) -> None:
    baseline = rows[0].accepted_per_s
    print(f"\n{args.requests} signed deliveries (a 'hi' from as many new learners), wrk -t{args.threads} "
          f"-c{args.connections} (each delivery once, at most {args.duration} s), one server process each; "
          f"fake Graph API at {RATE} msg/s")  # fmt: skip
    header = (f"{'backend':<30} {'accepted/s':>10} {'vs bare':>8} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'non-2xx':>7} {'processed/s':>11} {'out msg/s':>9} {'max/1s':>6} {'130429':>6} "
              f"{'lost':>5} {'dup':>4}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for row in rows:
        w, out = row.wrk, row.outbound
        non2xx = int(w["non2xx"]) + int(w["socket_errors"]) + int(w["timeouts"])
        print(f"{row.backend:<30} {row.accepted_per_s:>10.0f} {row.accepted_per_s / baseline:>8.3f} "
              f"{w['p50']:>7.1f} {w['p99']:>7.1f} {non2xx:>7} {show(row.processed_per_s, '.1f'):>11} "
              f"{show(out.get('rate'), '.1f'):>9} {show(out.get('max_1s'), 'd'):>6} "
              f"{show(out.get('refused', {}).get(130429, 0) if out else None, 'd'):>6} "
              f"{show(row.lost, 'd'):>5} {show(row.duplicated, 'd'):>4}")  # fmt: skip
    print(
        "\naccepted/s: wrk's 200s per second; processed/s: learners whose replies all reached the fake,"
    )
    print(
        "per second from the first request; out msg/s: accepted sends / (last - first); max/1s: the most"
    )
    print(
        "sends (refused too) in any sliding second at the fake; 130429: throughput refusals PAU retried."
    )
    for row in rows:
        w = row.wrk
        print(f"\n{row.backend}: wrk {w['requests']} requests in {w['seconds']:.2f} s, {w['ok']} × 200 "
              f"({w['stored']} stored, {w['duplicates']} duplicates), {w['non2xx']} non-2xx, "
              f"{w['socket_errors']} socket errors, {w['timeouts']} timeouts, max {w['max']:.1f} ms")  # fmt: skip
        if row.outbound:
            out = row.outbound
            print(f"  outbound: {out['sent']} sent, max in 1 s {out['max_1s']} "
                  f"(accepted only {out['max_1s_accepted']}), refused by code {out['refused']}")  # fmt: skip
        for note in row.notes:
            print(f"  {note}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=1500, help="deliveries (learners) per server"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=60, help="wrk's time limit, seconds")
    parser.add_argument("--postgres", default="", help="a PostgreSQL server's URL; a database of "
                        "our own is created beside it and dropped (default: SQLite only)")  # fmt: skip
    parser.add_argument(
        "--bare-rounds", type=int, default=5, help="rounds against the bare endpoint"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (logs, wrk output)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: this benchmark needs Debian's wrk (apt-get install -y wrk)",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    workdir = Path(tempfile.mkdtemp(prefix="pau-bench-wa-"))
    data, script, users = build_requests(workdir, args.requests)
    rows = [bare_run(data, script, args, workdir)]
    rows.append(
        pau_run("sqlite", f"sqlite:///{workdir}/bench.db", data, script, users, args, workdir)
    )
    if args.postgres:
        with scratch_postgres(args.postgres, "pau_bench_wa") as url:
            rows.append(pau_run("postgres", url, data, script, users, args, workdir))
    report(rows, args)
    if args.keep:
        print(f"\nlogs and wrk output: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
