"""Load on the back end `chatkit-fix init` generates: many users chatting at once, then proof nothing was lost or mixed.

    python benchmarks/load.py                                # 50 users x 5 messages; SQLite, PostgreSQL; 1, 2 workers
    python benchmarks/load.py --store postgres --workers 4   # one store, one worker count
    python benchmarks/load.py --users 10 --messages 2 --no-mcp

For each store and each worker count it generates a project into a temporary folder (`init`'s defaults: JWT auth and
the MCP tool server), starts the built-in fake OpenAI API in a process of its own, then the MCP tool server (one
worker: its demo notes live in process memory) and the back end with uvicorn on 127.0.0.1 with that many workers (SQLite: one database file in WAL mode shared by the workers;
PostgreSQL: a fresh database on one throwaway cluster, started with the helper of tests/scaffold_support/postgres.py),
and lets every user, each with its own JWT and HTTP client, create a thread and add the remaining messages to it, all
users at the same time. It times each message from sending the request to the first streamed event and to the end of
the stream, and counts the CPU time every part used: the back end's workers, the MCP server, PostgreSQL's processes,
the fake OpenAI API and this process (the users' clients). They all share the machine's cores: on a 2-core machine the
load generator and the fakes take CPU the back end's second worker would otherwise have, which caps the scaling figure
(messages/s with N workers over messages/s with 1), and so does any other work on the machine.

Then it checks, through the API and in the database itself: no 5xx and no error event, every user's thread holds
each of their messages exactly once and one assistant answer to each (unique item ids, and with MCP the tool acted
for that user), every user lists only their own thread, and another user's thread id is "not found". It prints
throughput (messages per second over the whole run), the p50/p95/max time to the first event and to the end of the
stream, and the error counts. Exit 0 when every check passed, 1 when one failed, 2 when a store could not run.

Everything binds loopback; every server is stopped on exit; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import resource
import select
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the throwaway PostgreSQL cluster of the test suite

from chatkit_fix.scaffold import InitOptions, init_project
from chatkit_fix.verify.fake_openai import FAKE_API_KEY
from chatkit_fix.verify.processes import ProcessError, ServerProcess, start_uvicorn

JWT_SECRET = "load-benchmark-secret-0123456789-abcdefghijklmnop"
REQUEST_TIMEOUT = 120.0  # seconds, per request
RUN_TIMEOUT = 900.0  # seconds, for all users together
STARTUP_TIMEOUT = 60.0
WARMUP_USERS = 4
# One TLS setup for every client (the servers are plain HTTP): httpx builds one per client otherwise, reading the CA
# bundle, and that CPU time would count against the load generator.
CLIENT_TLS = ssl.create_default_context()


def token(user: str) -> str:
    return jwt.encode({"sub": user, "exp": int(time.time()) + 3600}, JWT_SECRET, algorithm="HS256")


def user_input(text: str) -> dict:
    return {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}


def message_text(user: str, index: int) -> str:
    return f"{user} message {index}"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation): the value below which `fraction` of the samples fall."""
    ordered = sorted(values)
    return ordered[min(max(1, math.ceil(fraction * len(ordered))), len(ordered)) - 1]


@dataclass
class Sample:
    user: str
    index: int
    status: int | None = None
    first_event: float | None = None  # seconds from sending to the first `data:` line
    total: float | None = None  # seconds from sending to the end of the stream
    events: list[dict] = field(default_factory=list)
    failure: str | None = None


@dataclass
class UserRun:
    user: str
    thread_id: str | None = None
    samples: list[Sample] = field(default_factory=list)


# ---- the load ---------------------------------------------------------------------------------------------------------


async def send(client: httpx.AsyncClient, body: dict, sample: Sample) -> None:
    started = time.perf_counter()
    try:
        async with client.stream("POST", "/chatkit", json=body) as response:
            sample.status = response.status_code
            if response.status_code != 200:
                await response.aread()
                sample.failure = f"HTTP {response.status_code}: {response.text[:200]}"
                return
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                if sample.first_event is None:
                    sample.first_event = time.perf_counter() - started
                sample.events.append(json.loads(line[len("data: ") :]))
        sample.total = time.perf_counter() - started
        errors = [event for event in sample.events if event.get("type") == "error"]
        if errors:
            sample.failure = f"error event: {errors[0]}"
        elif not any(done(event, "assistant_message") for event in sample.events):
            sample.failure = "stream ended without an assistant message"
    except (httpx.HTTPError, ValueError) as exc:
        sample.failure = f"{type(exc).__name__}: {exc}"


def done(event: dict, item_type: str) -> bool:
    return event.get("type") == "thread.item.done" and event.get("item", {}).get("type") == item_type


async def chat(base_url: str, user: str, messages: int, start: asyncio.Event) -> UserRun:
    """One user: a new thread with the first message, then the others one after another, as a person would."""
    run = UserRun(user)
    headers = {"Authorization": f"Bearer {token(user)}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT, verify=CLIENT_TLS) as client:
        await start.wait()
        for index in range(1, messages + 1):
            sample = Sample(user, index)
            run.samples.append(sample)
            text = message_text(user, index)
            if run.thread_id is None:
                await send(client, {"type": "threads.create", "params": {"input": user_input(text)}}, sample)
                created = [e for e in sample.events if e.get("type") == "thread.created"]
                if not created:
                    sample.failure = sample.failure or "no thread.created event"
                    break
                run.thread_id = created[0]["thread"]["id"]
            else:
                body = {"type": "threads.add_user_message", "params": {"thread_id": run.thread_id, "input": user_input(text)}}
                await send(client, body, sample)
    return run


async def load(base_url: str, users: list[str], messages: int) -> tuple[list[UserRun], float]:
    start = asyncio.Event()
    tasks = [asyncio.create_task(chat(base_url, user, messages, start)) for user in users]
    await asyncio.sleep(0.2)  # every client created and waiting
    began = time.perf_counter()
    start.set()
    runs = await asyncio.wait_for(asyncio.gather(*tasks), RUN_TIMEOUT)
    return list(runs), time.perf_counter() - began


def own_cpu_seconds() -> float:
    """CPU time of this process (the users' clients), to tell whether it was the bottleneck."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tree_cpu_seconds(root: int | None) -> float:
    """CPU time (user + system) of a running process and all its descendants, from /proc (0 where there is none)."""
    if root is None or not Path("/proc").is_dir():
        return 0.0
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue  # it exited meanwhile
    return total / CLOCK_TICKS


def postmaster_pid(database_url: str) -> int | None:
    """The PostgreSQL server listening on the URL's port, found by its command line."""
    port = database_url.rsplit(":", 1)[1].split("/", 1)[0]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if command[0].endswith(b"postgres") and f"-p {port}".encode() in b" ".join(command):
                return int(entry.name)
    return None


# ---- the checks -------------------------------------------------------------------------------------------------------


async def post_json(client: httpx.AsyncClient, user: str, body: dict) -> httpx.Response:
    return await client.post("/chatkit", json=body, headers={"Authorization": f"Bearer {token(user)}"})


async def check_user(client: httpx.AsyncClient, run: UserRun, other: UserRun, messages: int, mcp: bool) -> list[str]:
    user, problems = run.user, []
    if run.thread_id is None:
        return [f"{user}: no thread was created"]
    items_response = await post_json(
        client, user, {"type": "items.list", "params": {"thread_id": run.thread_id, "limit": 100, "order": "asc"}}
    )
    if items_response.status_code != 200:
        return [f"{user}: items.list answered {items_response.status_code}"]
    items = items_response.json()["data"]
    kinds = Counter(item["type"] for item in items)
    if kinds != Counter({"user_message": messages, "assistant_message": messages}):
        problems.append(f"{user}: thread holds {dict(kinds)}, expected {messages} user and {messages} assistant messages")
    ids = [item["id"] for item in items]
    if len(set(ids)) != len(ids):
        problems.append(f"{user}: duplicate item ids {[i for i, n in Counter(ids).items() if n > 1]}")
    sent = [
        "".join(part.get("text", "") for part in item["content"]) for item in items if item["type"] == "user_message"
    ]
    if sent != [message_text(user, index) for index in range(1, messages + 1)]:
        problems.append(f"{user}: stored user messages {sent} differ from the ones sent")
    answers = [
        "".join(part.get("text", "") for part in item["content"]) for item in items if item["type"] == "assistant_message"
    ]
    expected = (
        [f"Tool said: Saved note {index} for {user}: test" for index in range(1, messages + 1)]
        if mcp
        else [f"Echo: {message_text(user, index)}" for index in range(1, messages + 1)]
    )
    if answers != expected:
        problems.append(f"{user}: assistant answers {answers} differ from {expected}")

    listed = await post_json(client, user, {"type": "threads.list", "params": {"limit": 100, "order": "desc"}})
    if listed.status_code != 200 or [t["id"] for t in listed.json()["data"]] != [run.thread_id]:
        problems.append(f"{user}: threads.list shows {listed.text[:200]}, expected only {run.thread_id}")

    if other.thread_id is not None and other.user != user:
        foreign = await post_json(client, user, {"type": "threads.get_by_id", "params": {"thread_id": other.thread_id}})
        if foreign.status_code != 404:
            problems.append(f"{user}: get_by_id of {other.user}'s thread answered {foreign.status_code}")
        foreign_items = await post_json(
            client, user, {"type": "items.list", "params": {"thread_id": other.thread_id, "limit": 100}}
        )
        if foreign_items.status_code not in (200, 404) or (
            foreign_items.status_code == 200 and foreign_items.json()["data"]
        ):
            problems.append(f"{user}: items.list of {other.user}'s thread answered {foreign_items.text[:200]}")
    return problems


async def check_api(base_url: str, runs: list[UserRun], messages: int, mcp: bool) -> list[str]:
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT, limits=limits, verify=CLIENT_TLS) as client:
        others = runs[1:] + runs[:1]
        results = await asyncio.gather(*(check_user(client, r, o, messages, mcp) for r, o in zip(runs, others)))
    return [problem for problems in results for problem in problems]


def check_database(store: str, location: str, users: list[str], messages: int) -> list[str]:
    """Count rows in the database itself: one thread per user, each message and each answer stored once."""
    placeholders = ", ".join("?" for _ in users)
    if store == "sqlite":
        connection = sqlite3.connect(f"file:{location}?mode=ro", uri=True)
        try:
            threads = connection.execute(
                f"SELECT user_id, count(*) FROM threads WHERE user_id IN ({placeholders}) GROUP BY user_id", users
            ).fetchall()
            items = connection.execute(
                f"SELECT user_id, count(*), count(DISTINCT thread_id || ' ' || id) FROM items"
                f" WHERE user_id IN ({placeholders}) GROUP BY user_id",
                users,
            ).fetchall()
        finally:
            connection.close()
    else:
        import asyncpg

        async def query() -> tuple[list, list]:
            connection = await asyncpg.connect(location)
            try:
                threads = await connection.fetch(
                    "SELECT user_id, count(*) FROM chatkit_threads WHERE user_id = ANY($1) GROUP BY user_id", users
                )
                items = await connection.fetch(
                    "SELECT user_id, count(*), count(DISTINCT (thread_id, id)) FROM chatkit_items"
                    " WHERE user_id = ANY($1) GROUP BY user_id",
                    users,
                )
                return [tuple(r) for r in threads], [tuple(r) for r in items]
            finally:
                await connection.close()

        threads, items = asyncio.run(query())
    problems = []
    thread_counts = dict(threads)
    for user in users:
        if thread_counts.get(user) != 1:
            problems.append(f"database: {user} owns {thread_counts.get(user, 0)} threads, expected 1")
    item_counts = {user: (total, distinct) for user, total, distinct in items}
    for user in users:
        if item_counts.get(user) != (2 * messages, 2 * messages):
            problems.append(f"database: {user} has (rows, distinct ids) {item_counts.get(user)}, expected {2 * messages}")
    return problems


# ---- servers ----------------------------------------------------------------------------------------------------------


@dataclass
class FakeProcess:
    """The fake OpenAI API in a process of its own, so it does not share this process's interpreter lock with the
    users' clients."""

    base_url: str
    pid: int

    def env(self) -> dict[str, str]:
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": FAKE_API_KEY}


@contextmanager
def fake_openai_process() -> Iterator[FakeProcess]:
    process = subprocess.Popen([sys.executable, "-m", "chatkit_fix.verify.fake_openai"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], STARTUP_TIMEOUT)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            raise ProcessError(f"the fake OpenAI API did not start (exit code {process.poll()})")
        yield FakeProcess(line.split()[1], process.pid)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def backend_env(fake: FakeProcess, extra: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "CHATKIT_", "DATABASE_"))}
    env.update(fake.env())
    env.update({"OPENAI_AGENTS_DISABLE_TRACING": "1", "PYTHONDONTWRITEBYTECODE": "1", "CHATKIT_JWT_SECRET": JWT_SECRET})
    env.update(extra)
    return env


def wait_for_workers(server: ServerProcess, workers: int) -> None:
    """With --workers the port opens before the workers are up: wait until each one logged its start-up."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while server.log().count("Application startup complete") < workers:
        if not server.alive():
            raise ProcessError("the back end exited during start-up", server.log())
        if time.monotonic() > deadline:
            raise ProcessError(f"{workers} workers did not all start within {STARTUP_TIMEOUT:.0f}s", server.log())
        time.sleep(0.1)


@contextmanager
def postgres() -> Iterator[str]:
    from scaffold_support.postgres import temporary_postgres

    with temporary_postgres() as url:
        yield url


def fresh_database(server_url: str, name: str) -> str:
    from scaffold_support.postgres import fresh_database as create

    return create(server_url, name)


# ---- one store --------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    store: str
    workers: int
    users: int
    messages: int
    wall: float
    samples: list[Sample]
    problems: list[str]
    server_errors: int  # 5xx answers and tracebacks in the back end's log
    cpu: dict[str, float]  # CPU seconds per part during the load: back end, MCP, PostgreSQL, this process

    @property
    def throughput(self) -> float:
        return sum(1 for sample in self.samples if sample.failure is None) / self.wall


def run_store(store: str, args: argparse.Namespace, workers: int, cluster: str | None) -> Outcome:
    users = [f"load-user-{index:03d}" for index in range(args.users)]
    with tempfile.TemporaryDirectory(prefix=f"chatkit-load-{store}-") as folder, ExitStack() as stack:
        project = Path(folder)
        init_project(project, InitOptions(framework="none", store=store, auth="jwt", mcp=args.mcp))
        fake = stack.enter_context(fake_openai_process())
        extra: dict[str, str] = {}
        if store == "sqlite":
            location = str(project / "var" / "chatkit.sqlite3")
            extra["CHATKIT_SQLITE_PATH"] = location
        else:
            assert cluster is not None
            location = fresh_database(cluster, f"load_{workers}_workers")
            extra["DATABASE_URL"] = location
        tools = None
        worker_args = ["--workers", str(workers), "--no-access-log"]
        if args.mcp:
            # One worker: the generated tool server keeps its demo notes in process memory.
            tools = stack.enter_context(
                start_uvicorn("backend.mcp_tools:app", project, env=backend_env(fake, {}), name="mcp-tools",
                              inherit_env=False, timeout=STARTUP_TIMEOUT, extra_args=["--no-access-log"])
            )
            extra["CHATKIT_MCP_URL"] = f"{tools.url}/mcp"
        backend = stack.enter_context(
            start_uvicorn("backend.main:app", project, env=backend_env(fake, extra), name=f"backend-{store}",
                          inherit_env=False, timeout=STARTUP_TIMEOUT, extra_args=worker_args)
        )
        wait_for_workers(backend, workers)
        warmup = [f"warmup-{index}" for index in range(max(WARMUP_USERS, 4 * workers))]
        asyncio.run(load(backend.url, warmup, 1))  # imports, pools and first connections in every worker

        parts = {
            "back end": lambda: tree_cpu_seconds(backend.pid),
            "MCP server": lambda: tree_cpu_seconds(tools.pid if tools else None),
            "PostgreSQL": lambda: tree_cpu_seconds(postmaster_pid(location) if store == "postgres" else None),
            "fake OpenAI": lambda: tree_cpu_seconds(fake.pid),
            "load generator": own_cpu_seconds,
        }
        before = {name: read() for name, read in parts.items()}
        runs, wall = asyncio.run(load(backend.url, users, args.messages))
        cpu = {name: read() - before[name] for name, read in parts.items()}
        samples = [sample for run in runs for sample in run.samples]
        problems = asyncio.run(check_api(backend.url, runs, args.messages, args.mcp))
        problems += check_database(store, location, users, args.messages)
        log = backend.log()
        server_errors = sum(1 for s in samples if s.status is not None and s.status >= 500)
        server_errors += log.count("Traceback (most recent call last)")
        if server_errors:
            problems.append(f"back end log ({log.count('Traceback')} tracebacks), last lines:\n" + log[-3000:])
        return Outcome(store, workers, len(users), args.messages, wall, samples, problems, server_errors, cpu)


# ---- report -----------------------------------------------------------------------------------------------------------


def milliseconds(values: list[float], fraction: float | None = None) -> str:
    if not values:
        return "n/a"
    value = max(values) if fraction is None else percentile(values, fraction)
    return f"{value * 1000:,.0f} ms"


def report(outcomes: list[Outcome], args: argparse.Namespace) -> None:
    cores = os.cpu_count() or 1
    print(f"\nLoad on the generated back end: {args.users} users x {args.messages} messages, all users at once;"
          f" MCP tool server {'on' if args.mcp else 'off'}; the fake OpenAI API answers at once.")
    print(f"{platform.machine()}, {cores} CPUs, Python {platform.python_version()}, {platform.system()}; load average"
          f" before the run {os.getloadavg()[0]:.1f} (other work on the machine takes CPU too)\n")
    print("| store | workers | messages | wall | throughput | first event p50 | p95 | full answer p50 | p95 "
          "| 5xx | other failures | checks |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for outcome in outcomes:
        ok = [s for s in outcome.samples if s.failure is None]
        first = [s.first_event for s in ok if s.first_event is not None]
        total = [s.total for s in ok if s.total is not None]
        fivexx = sum(1 for s in outcome.samples if s.status is not None and s.status >= 500)
        failures = sum(1 for s in outcome.samples if s.failure is not None) - fivexx
        missing = outcome.users * outcome.messages - len(outcome.samples)
        print(
            f"| {outcome.store} | {outcome.workers} | {len(ok)}/{outcome.users * outcome.messages} "
            f"| {outcome.wall:.1f} s | {outcome.throughput:.1f} msg/s "
            f"| {milliseconds(first, 0.50)} | {milliseconds(first, 0.95)} "
            f"| {milliseconds(total, 0.50)} | {milliseconds(total, 0.95)} "
            f"| {fivexx} | {failures + missing} | {'PASS' if not outcome.problems else 'FAIL'} |"
        )
    names = list(outcomes[0].cpu) if outcomes else []
    print("\nCPU time per message (milliseconds) and how busy the machine's cores were:\n")
    print("| store | workers | " + " | ".join(names) + " | all cores busy |")
    print("|---|---:|" + "---:|" * len(names) + "---:|")
    for outcome in outcomes:
        done = max(1, sum(1 for s in outcome.samples if s.failure is None))
        per_message = " | ".join(f"{outcome.cpu[name] / done * 1000:.0f}" for name in names)
        busy = sum(outcome.cpu.values()) / (outcome.wall * cores)
        print(f"| {outcome.store} | {outcome.workers} | {per_message} | {busy:.0%} |")
    print()
    for store in dict.fromkeys(outcome.store for outcome in outcomes):
        by_workers = {outcome.workers: outcome for outcome in outcomes if outcome.store == store}
        if 1 in by_workers:
            for workers, outcome in sorted(by_workers.items()):
                if workers > 1:
                    print(f"{store}: {workers} workers give {outcome.throughput / by_workers[1].throughput:.2f}x the "
                          f"messages/s of 1 worker ({by_workers[1].throughput:.1f} -> {outcome.throughput:.1f}); "
                          f"{scaling_ceiling(outcome, cores)}")
    for outcome in outcomes:
        failed = [s for s in outcome.samples if s.failure is not None]
        for sample in failed[:5]:
            print(f"{outcome.store}/{outcome.workers}: {sample.user} message {sample.index}: {sample.failure}")
        for problem in outcome.problems[:20]:
            print(f"{outcome.store}/{outcome.workers}: {problem}")
        if not outcome.problems and not failed:
            print(f"{outcome.store}/{outcome.workers} workers: every message stored exactly once with one answer, "
                  "unique ids, every user sees only their own thread, other users' threads are not found, no 5xx, "
                  "no traceback in the log")


def scaling_ceiling(outcome: Outcome, cores: int) -> str:
    """The best ratio these CPU costs allow on this machine, were nothing else running: one worker can use at most one
    core, N workers at most N, and every other part's CPU time comes out of the same cores."""
    done = max(1, sum(1 for s in outcome.samples if s.failure is None))
    backend = outcome.cpu["back end"] / done
    everything = sum(outcome.cpu.values()) / done
    one_worker = min(1 / backend, cores / everything)
    n_workers = min(outcome.workers / backend, cores / everything)
    return (f"with {everything * 1000:.0f} ms of CPU per message on {cores} cores ({backend * 1000:.0f} ms in the back "
            f"end), an otherwise idle machine allows at most {n_workers / one_worker:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    parser.add_argument("--messages", type=int, default=5, help="messages per user, the first creates the thread (5)")
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--workers", default="1,2",
                        help="uvicorn worker counts of the back end to run, comma-separated (default 1,2)")
    parser.add_argument("--mcp", action=argparse.BooleanOptionalAction, default=True,
                        help="generate and run the MCP tool server, as `init` does by default (--no-mcp: without)")
    args = parser.parse_args(argv)
    if args.users < 2 or args.messages < 1 or args.users > 1000 or args.messages > 100:
        parser.error("--users must be 2..1000 and --messages 1..100")
    try:
        worker_counts = [int(count) for count in args.workers.split(",")]
    except ValueError:
        parser.error(f"--workers takes counts like 1,2 not {args.workers!r}")
    if not worker_counts or min(worker_counts) < 1 or max(worker_counts) > 32:
        parser.error("--workers counts must be 1..32")
    stores = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    outcomes, unavailable = [], []
    for store in stores:
        try:
            with ExitStack() as stack:
                cluster = stack.enter_context(postgres()) if store == "postgres" else None
                for workers in worker_counts:
                    print(f"{store}: {args.users} users x {args.messages} messages on {workers} worker(s)...",
                          flush=True)
                    outcomes.append(run_store(store, args, workers, cluster))
        except ProcessError as exc:
            print(f"{store}: could not run: {exc}", file=sys.stderr)
            unavailable.append(store)
        except Exception as exc:  # PostgresUnavailable and friends: say why, go on with the other store
            if type(exc).__name__ != "PostgresUnavailable":
                raise
            print(f"{store}: could not run: {exc}", file=sys.stderr)
            unavailable.append(store)
    if outcomes:
        report(outcomes, args)
    if any(outcome.problems for outcome in outcomes):
        return 1
    return 2 if unavailable else 0


if __name__ == "__main__":
    sys.exit(main())
