"""Time to the webhook's 200 while 20 learners' explain-backs are being graded.

One real `pau serve` (SQLite, the embedded default) behind the loopback fake Bot API. Twenty-one
Telegram learners are brought to an explain-back (one of them explains first, so the grader's model
is loaded before anything is timed). Then wrk sends new learners' /start for DURATION seconds
(CONCURRENCY connections, every request a new learner and update id), and 0.3 s in, the twenty
send their explanations: the figures are wrk's p50/p99 time to 200, next to the same wrk load on
the same server with nothing being graded (the baseline, measured in the same run), and how long
until all twenty feedbacks were sent. Needs Debian's `wrk`.

`--code PATH` runs the server from another source tree, e.g. the release before commands:

    git worktree add /tmp/pau-before 25918e4
    python bench/webhook_under_grading.py --code /tmp/pau-before
    python bench/webhook_under_grading.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.telegram_webhook import percentile  # noqa: E402
from tests.fakes.telegram_api import BOT_TOKEN, FakeBotApi, update_payload  # noqa: E402
from tests.load import free_port, wait_until_up  # noqa: E402

SECRET = "bench-secret"
OPENERS = [
    "Forgetting is fastest right after learning, then it slows down.",
    "We lose most of what we learn in the first hours and days.",
    "Memory fades steeply at first and then levels off.",
    "Right after a lesson the forgetting is quickest.",
]
ENDINGS = [
    "Each review makes the memory fade more slowly.",
    "Relearning is faster than learning.",
    "So review at the right moments instead of giving up.",
    "Savings mean the memory was weakened, not erased.",
    "Spacing out reviews flattens it.",
]
EXPLANATIONS = [f"{opener} {ending}" for opener in OPENERS for ending in ENDINGS]  # 20 different
TO_EXPLAIN_BACK = [  # (recorded update, overrides) from /start to the second session's explain-back
    ("command_start", {"text": "/start"}), ("callback_query", {"data": "yes"}),
    ("message_text", {"text": "Ada"}), ("callback_query", {"data": "course:science-of-learning"}),
    ("callback_query", {"data": "level:new"}), ("callback_query", {"data": "time:morning"}),
    ("message_text", {"text": "Berlin"}), ("callback_query", {"data": "no"}),
    ("callback_query", {"data": "continue"}), ("message_text", {"text": "1"}),
    ("message_text", {"text": "skip"}), ("callback_query", {"data": "cmd:more"}),
    ("callback_query", {"data": "continue"}), ("message_text", {"text": "1"}),
]  # fmt: skip


class Updates:
    def __init__(self) -> None:
        self.next_id = 1

    def make(self, name: str, user_id: int, **overrides: Any) -> dict[str, Any]:
        self.next_id += 1
        return update_payload(name, update_id=self.next_id, user_id=user_id, **overrides)


def start_server(code: Path, workdir: Path, fake: FakeBotApi) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(code), "DATABASE_URL": f"sqlite:///{workdir}/pau.db",
           "PAU_LOG_LEVEL": "WARNING", "PAU_SECRET_KEY": "bench-secret-key-0123456789abcdef",
           "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
           "TELEGRAM_API_BASE_URL": fake.base_url, "TELEGRAM_PER_CHAT_RATE": "1000",
           "TELEGRAM_OVERALL_RATE": "100000"}  # fmt: skip
    cli = [sys.executable, "-m", "webhooks.cli"]
    subprocess.run([*cli, "db", "upgrade"], cwd=code, env=env, check=True, capture_output=True)
    subprocess.run([*cli, "content", "import", str(code / "content")], cwd=code, env=env,
                   check=True, capture_output=True)  # fmt: skip
    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], cwd=code, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_until_up(port, server)
    server.port = port  # type: ignore[attr-defined]
    return server


def texts_to(calls: list[Any], user_id: int) -> list[str]:
    """(The fake hands its calls to a wait_for predicate; its own helpers would deadlock there.)"""
    return [str(c.params.get("text", "")) for c in calls
            if c.method == "sendMessage" and c.chat_id == user_id]  # fmt: skip


def got_explain_prompt(calls: list[Any], user_id: int) -> bool:
    return any("Explain it back" in text for text in texts_to(calls, user_id))


def got_feedback(calls: list[Any], user_id: int) -> bool:
    words = ("explanation", "key points", "covered")
    return any(any(w in text for w in words) for text in texts_to(calls, user_id))


async def post(client: httpx.AsyncClient, payload: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = await client.post("/webhooks/telegram", json=payload,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})  # fmt: skip
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


WRK_SCRIPT = """
local template = [[TEMPLATE]]
local base = 0
local counter = 0
function setup(thread)
  thread:set("offset", thread_number)
  thread_number = (thread_number or 0) + 1
end
function init(args)
  base = tonumber(args[1]) + (offset or 0) * 1000000
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = "SECRET"
end
function request()
  counter = counter + 1
  local body = template:gsub("987654321987", tostring(base + counter))
  body = body:gsub("123456789123", tostring(base + counter))
  return wrk.format(nil, "/webhooks/telegram", nil, body)
end
function done(summary, latency, requests)
  io.write(string.format('{"p50": %f, "p99": %f, "max": %f, "requests": %d, "non2xx": %d}\\n',
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests, summary.errors.status))
end
"""


def wrk_script(workdir: Path) -> Path:
    """A wrk script whose every request is a /start from a new learner, with a new update id."""
    template = json.dumps(update_payload("command_start", update_id=123456789123,
                                         user_id=987654321987, text="/start"))  # fmt: skip
    script = workdir / "newcomers.lua"
    script.write_text(WRK_SCRIPT.replace("TEMPLATE", template).replace("SECRET", SECRET))
    return script


async def newcomers(
    port: int, script: Path, base: int, seconds: int, connections: int
) -> dict[str, Any]:
    """wrk's figures (ms) for new learners' /start, `connections` at a time for `seconds`."""
    wrk = await asyncio.create_subprocess_exec(
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script),
        f"http://127.0.0.1:{port}", "--", str(base), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, _ = await wrk.communicate()
    figures: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
    assert figures["non2xx"] == 0, figures
    return figures


async def run(
    port: int, fake: FakeBotApi, script: Path, seconds: int, connections: int
) -> dict[str, Any]:
    updates = Updates()
    learners = [7_000_000 + n for n in range(21)]
    limits = httpx.Limits(max_connections=25)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60
    ) as client:
        for name, overrides in TO_EXPLAIN_BACK:  # everybody's step, in order, learner by learner
            for user in learners:
                await post(client, updates.make(name, user, **overrides))
        fake.wait_for(
            lambda calls: all(got_explain_prompt(calls, u) for u in learners), timeout=300
        )
        warm_up = "The forgetting curve shows memory loss over time, and reviews help."
        await post(client, updates.make("message_text", learners[0], text=warm_up))
        fake.wait_for(lambda calls: got_feedback(calls, learners[0]), timeout=120)

        idle = await newcomers(port, script, 10_000_000, seconds, connections)  # the baseline

        graded = learners[1:]
        load = asyncio.create_task(newcomers(port, script, 20_000_000, seconds, connections))
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        explanation_latencies = await asyncio.gather(*(
            post(client, updates.make("message_text", user, text=text))
            for user, text in zip(graded, EXPLANATIONS, strict=True)
        ))  # fmt: skip
        busy = await load
        await asyncio.to_thread(fake.wait_for, lambda calls: all(got_feedback(calls, u) for u in graded),
                                timeout=300)  # fmt: skip
        all_graded = time.perf_counter() - started
    return {"idle": idle, "busy": busy, "explanations": list(explanation_latencies),
            "all_graded": all_graded}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--code", type=Path, default=ROOT, help="the source tree to serve")
    parser.add_argument("--duration", type=int, default=4, help="seconds of wrk load")
    parser.add_argument("--connections", type=int, default=10)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp())
    with FakeBotApi() as fake:
        server = start_server(args.code.resolve(), workdir, fake)
        try:
            script = wrk_script(workdir)
            figures = asyncio.run(run(server.port, fake, script, args.duration, args.connections))  # type: ignore[attr-defined]
        finally:
            server.terminate()
            server.wait()
    idle, busy, mine = figures["idle"], figures["busy"], figures["explanations"]
    print(f"code: {args.code}  (wrk: new learners' /start, {args.connections} connections, "
          f"{args.duration} s)")  # fmt: skip
    print(f"{'while':<40} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, run_figures in (("nothing is graded (baseline)", idle),
                               ("20 explain-backs are graded", busy)):  # fmt: skip
        print(f"{label:<40} {run_figures['requests']:>9} {run_figures['p50']:>8.1f} "
              f"{run_figures['p99']:>8.1f} {run_figures['max']:>8.1f}")  # fmt: skip
    print(f"{'  the 20 explain-back webhooks (httpx)':<40} {len(mine):>9} "
          f"{percentile(mine, 0.5):>8.1f} {percentile(mine, 0.99):>8.1f} {max(mine) * 1000:>8.1f}")  # fmt: skip
    print(f"p99 under grading / baseline p99: {busy['p99'] / idle['p99']:.2f}   "
          f"p50 ratio: {busy['p50'] / idle['p50']:.2f}")  # fmt: skip
    print(f"all 20 feedbacks sent {figures['all_graded']:.2f} s after the explanations")


if __name__ == "__main__":
    main()
