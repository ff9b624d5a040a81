"""Telegram webhook throughput: one `pau serve` process, the loopback fake Bot API, real HTTP.

For each backend (SQLite, PostgreSQL) it posts N updates (a /start from N different learners,
CONCURRENCY at a time) and measures:
  - accepted/s and p50/p99 time to the 200;
  - fully processed/s: until every reply (welcome + consent question) reached the fake Bot API;
with Telegram's own limits (30 msg/s per bot) and with the limits lifted. The baseline, in the
same run, is a bare FastAPI endpoint that only parses the JSON, served by uvicorn the same way.

    python bench/telegram_webhook.py [--updates 600] [--concurrency 20] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import BOT_TOKEN, FakeBotApi, update_payload  # noqa: E402
from tests.load import free_port, wait_until_up  # noqa: E402

SECRET = "bench-secret"
BARE_APP = """
import json
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
app = FastAPI()
@app.post("/webhooks/telegram")
async def hook(request: Request) -> JSONResponse:
    json.loads(await request.body())
    return JSONResponse({"ok": True})
@app.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}
"""


def start_pau(
    port: int, database_url: str, fake: FakeBotApi, lifted: bool, workdir: Path
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "PAU_LOG_LEVEL": "WARNING",
           "PAU_SECRET_KEY": "bench-secret-key-0123456789abcdef",
           "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
           "TELEGRAM_API_BASE_URL": fake.base_url,
           "TELEGRAM_PER_CHAT_RATE": "1000" if lifted else "1",
           "TELEGRAM_OVERALL_RATE": "100000" if lifted else "30"}  # fmt: skip
    python = sys.executable
    subprocess.run(
        [python, "-m", "webhooks.cli", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run([python, "-m", "webhooks.cli", "content", "import", str(ROOT / "content")], cwd=ROOT, env=env,
                   check=True, capture_output=True)  # fmt: skip
    process = subprocess.Popen([python, "-m", "webhooks.cli", "serve", "--port", str(port)], cwd=workdir, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_until_up(port, process)
    return process


def start_bare(port: int, workdir: Path, log_level: str = "warning") -> subprocess.Popen[bytes]:
    """The bare endpoint; `log_level="info"` turns uvicorn's access log on, as pau serve has it."""
    (workdir / "bare_app.py").write_text(BARE_APP)
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--log-level", log_level],
                               cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_until_up(port, process)
    return process


async def load(
    port: int, updates: int, concurrency: int, first_id: int
) -> tuple[float, list[float]]:
    """(seconds for all 200s, per-request latencies)."""
    payloads = [
        update_payload("command_start", update_id=first_id + n, user_id=5_000_000 + first_id + n)
        for n in range(updates)
    ]
    latencies: list[float] = []
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(payload)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                payload = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post("/webhooks/telegram", json=payload, headers=headers)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/test", help="'' to skip"
    )
    args = parser.parse_args()
    rows = []
    workdir = Path(tempfile.mkdtemp())
    port = free_port()
    bare = start_bare(port, workdir)
    try:
        seconds, latencies = asyncio.run(load(port, args.updates, args.concurrency, 1))
        rows.append(("bare FastAPI (parse only)", args.updates / seconds, None, latencies))
    finally:
        bare.terminate()
        bare.wait()
    backends = [("sqlite", f"sqlite:///{workdir}/bench.db")]
    if args.postgres:
        backends.append(("postgres", args.postgres))
    first_id = 1_000_000
    for name, url in backends:
        if name == "postgres":
            reset_postgres(url)
        for lifted in (False, True):
            with FakeBotApi() as fake:
                port = free_port()
                server = start_pau(port, url, fake, lifted, workdir)
                try:
                    started = time.perf_counter()
                    seconds, latencies = asyncio.run(
                        load(port, args.updates, args.concurrency, first_id)
                    )
                    expected = 2 * args.updates  # welcome + consent question for every learner
                    fake.wait_for(lambda calls, n=expected: sum(c.method == "sendMessage" and c.ok for c in calls) >= n,
                                  timeout=max(120, expected / 20))  # fmt: skip
                    processed = time.perf_counter() - started
                finally:
                    server.terminate()
                    server.wait()
            label = f"pau serve, {name}, " + (
                "limits lifted" if lifted else "Telegram limits (30/s)"
            )
            rows.append((label, args.updates / seconds, args.updates / processed, latencies))
            first_id += args.updates
    baseline = rows[0][1]
    print(f"{args.updates} updates, {args.concurrency} concurrent, one server process each")
    print(
        f"{'server':<44} {'accepted/s':>10} {'vs bare':>8} {'p50 ms':>7} {'p99 ms':>7} {'processed/s':>12}"
    )
    for label, accepted, processed, latencies in rows:
        done = f"{processed:>12.1f}" if processed else f"{'-':>12}"
        print(f"{label:<44} {accepted:>10.0f} {accepted / baseline:>8.2f} {percentile(latencies, 0.5):>7.1f} "
              f"{percentile(latencies, 0.99):>7.1f} {done}")  # fmt: skip
    print(f"median of all latencies, bare: {statistics.median(rows[0][3]) * 1000:.1f} ms")


def reset_postgres(url: str) -> None:
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401
    from storage.db import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    SQLModel.metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
