#!/usr/bin/env python3
"""Soak benchmark: many churning clients and random client kills against the
virtual target, for minutes, checking every answer and sampling the server.

Not part of CI (it runs for ten minutes by default). Usage, from the
repository root:

    cargo build --release
    nice python3 bench/soak.py --duration 600 > soak.md

It starts `probeshare serve --probe sim` and worker processes that keep
`--connections` connections open between them, each connection running
sessions back to back: connect (from one of `--peers` loopback addresses,
so the per-peer connection limit is not what is measured), hello, open,
connect SWD, power-up, then a few hundred requests in pipelined groups of one
to four (DPIDR reads, writes and read-backs of the client's own RAM word,
some under lock/unlock), then either a clean end (disconnect, close) or an
abrupt reset (SO_LINGER 0) with requests still unanswered. Every
`--kill-every` seconds one worker is killed with SIGKILL (all its
connections die at once) and replaced.

Each client checks that every request is answered exactly once, in order,
with the right result. Every `--sample-every` seconds the server's resident
memory, open file descriptors (sockets among them) and threads are read
from /proc. The report (markdown, on stdout) has the samples, the totals
and every anomaly; the exit status is 1 if any request was answered wrongly,
twice, out of order or not at all, or if the server did not stop cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import IO, Any

SERVING_LINE = re.compile(r"Serving debug probe .* on (\S+):(\d+)\s*$")
DPIDR = 0x2BA01477  # the virtual target's SW-DP
CTRL_STAT, POWER_UP = 0x4, 0x50000000
CSW, TAR, DRW = 0x00, 0x04, 0x0C
CSW_WORD_NO_INCREMENT = 0x23000002
RAM = 0x20000000
ANSWER_TIMEOUT = 30.0
REPORT_EVERY = 1.0


@dataclass
class Totals:
    """What one worker counted; summed over workers for the report."""

    sessions_clean: int = 0
    sessions_reset: int = 0
    requests_sent: int = 0
    answered: int = 0
    abandoned: int = 0  # unanswered because the client reset its own connection
    out_of_order: int = 0  # an answer with another id than the oldest outstanding
    wrong_results: int = 0
    error_statuses: int = 0
    timeouts: int = 0  # a request not answered within ANSWER_TIMEOUT
    closed_early: int = 0  # the server closed a connection with requests outstanding
    extra_answers: int = 0  # bytes after the last answer of a clean session
    connect_failures: int = 0
    refusals: int = 0  # a connection refused by the server with a message

    def add(self, other: Totals) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class Expect:
    request_id: int
    name: str
    result: int | None = None  # checked when not None


@dataclass
class Session:
    """One connection's session; requests are numbered from 1."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    totals: Totals
    next_id: int = 1
    outstanding: list[Expect] = field(default_factory=list)

    def send(self, request: str, arguments: list[Any], result: int | None = None) -> None:
        line = json.dumps({"id": self.next_id, "request": request, "arguments": arguments})
        self.writer.write(line.encode() + b"\n")
        self.outstanding.append(Expect(self.next_id, request, result))
        self.next_id += 1
        self.totals.requests_sent += 1

    async def drain_answers(self) -> bool:
        """Reads the answer of every outstanding request; False if the
        session cannot go on."""
        await self.writer.drain()
        while self.outstanding:
            try:
                line = await asyncio.wait_for(self.reader.readline(), ANSWER_TIMEOUT)
            except asyncio.TimeoutError:
                self.totals.timeouts += len(self.outstanding)
                return False
            if not line:
                self.totals.closed_early += len(self.outstanding)
                return False
            answer = json.loads(line)
            expected = self.outstanding.pop(0)
            if answer.get("id") != expected.request_id:
                if answer.get("id") == -1:
                    self.totals.refusals += 1
                else:
                    self.totals.out_of_order += 1
                return False
            self.totals.answered += 1
            if answer.get("status") != 0:
                self.totals.error_statuses += 1
            elif expected.result is not None and answer.get("result") != expected.result:
                self.totals.wrong_results += 1
        return True


async def run_session(host: str, port: int, source: str, slot: int, rng: random.Random,
                      totals: Totals) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    except OSError:
        totals.connect_failures += 1
        await asyncio.sleep(0.1)
        return
    session = Session(reader, writer, totals)
    word = RAM + 4 * slot
    reset = rng.random() < 0.3
    try:
        for request, arguments in [("hello", [1]), ("open", []), ("connect", ["SWD"]),
                                   ("write_dp", [CTRL_STAT, POWER_UP]),
                                   ("write_ap", [CSW, CSW_WORD_NO_INCREMENT]),
                                   ("write_ap", [TAR, word])]:
            session.send(request, arguments)
            if not await session.drain_answers():
                return
        budget = rng.randint(100, 400)
        while session.next_id < budget:
            locked = rng.random() < 0.1
            if locked:
                session.send("lock", [])
            for _ in range(rng.randint(1, 4)):
                if rng.random() < 0.5:
                    session.send("read_dp", [0], DPIDR)
                else:
                    value = rng.getrandbits(32)
                    session.send("write_ap", [DRW, value])
                    session.send("read_ap", [DRW], value)
            if locked:
                session.send("unlock", [])
            if reset and session.next_id >= budget:
                break  # leave this group unanswered
            if not await session.drain_answers():
                return
        if reset:
            totals.abandoned += len(session.outstanding)
            totals.sessions_reset += 1
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        session.send("disconnect", [])
        session.send("close", [])
        if await session.drain_answers():
            # Half-close: the server answers what it has and closes; any
            # byte before its EOF would be an answer given twice.
            writer.write_eof()
            rest = await asyncio.wait_for(reader.read(), ANSWER_TIMEOUT)
            totals.extra_answers += len(rest) > 0
            totals.sessions_clean += 1
    except asyncio.TimeoutError:
        totals.timeouts += 1
    except (ConnectionError, OSError):
        totals.closed_early += len(session.outstanding)
    finally:
        writer.close()


async def worker_main(args: argparse.Namespace) -> None:
    totals = Totals()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    rng = random.Random(args.seed)

    async def slot_loop(slot: int) -> None:
        source = "127.0.0.%d" % (1 + slot % args.peers)
        slot_rng = random.Random(rng.getrandbits(64))
        while not stop.is_set():
            await run_session(args.host, args.port, source, slot, slot_rng, totals)

    async def report() -> None:
        while not stop.is_set():
            print(json.dumps(asdict(totals)), flush=True)
            try:
                await asyncio.wait_for(stop.wait(), REPORT_EVERY)
            except asyncio.TimeoutError:
                pass

    slots = [asyncio.create_task(slot_loop(args.first_slot + i)) for i in range(args.slots)]
    reporter = asyncio.create_task(report())
    await stop.wait()
    await asyncio.gather(*slots, return_exceptions=True)
    await reporter
    print(json.dumps(asdict(totals)), flush=True)


# --- the orchestrator --------------------------------------------------------


class Worker:
    """A worker process and the last totals it reported."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.totals = Totals()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.totals = Totals(**json.loads(line))


@dataclass
class Sample:
    seconds: float
    rss_kib: int
    fds: int
    sockets: int
    threads: int


def sample(pid: int, started: float) -> Sample:
    status = open("/proc/%d/status" % pid).read()

    def field_of(name: str) -> int:
        match = re.search(r"^%s:\s+(\d+)" % name, status, re.MULTILINE)
        return int(match.group(1)) if match else -1

    fds = os.listdir("/proc/%d/fd" % pid)
    sockets = 0
    for fd in fds:
        try:
            sockets += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass
    return Sample(time.monotonic() - started, field_of("VmRSS"), len(fds), sockets,
                  field_of("Threads"))


def start_server(binary: str) -> tuple[subprocess.Popen[bytes], int, list[str]]:
    server = subprocess.Popen([binary, "serve", "--probe", "sim", "--port", "0"],
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              env=dict(os.environ, RUST_LOG="info"))
    log: list[str] = []
    assert server.stderr is not None
    stderr: IO[bytes] = server.stderr
    port = None
    for raw in stderr:
        line = raw.decode(errors="replace").rstrip()
        log.append(line)
        match = SERVING_LINE.search(line)
        if match:
            port = int(match.group(2))
            break
    if port is None:
        raise SystemExit("the server did not start:\n" + "\n".join(log))

    def drain() -> None:
        for raw in stderr:
            log.append(raw.decode(errors="replace").rstrip())

    threading.Thread(target=drain, daemon=True).start()
    return server, port, log


def sanity_round_trip(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b'{"id":1,"request":"hello","arguments":[1]}\n'
                     b'{"id":2,"request":"open","arguments":[]}\n'
                     b'{"id":3,"request":"connect","arguments":["SWD"]}\n'
                     b'{"id":4,"request":"read_dp","arguments":[0]}\n')
        data = b""
        while data.count(b"\n") < 4:
            chunk = sock.recv(4096)
            if not chunk:
                return False
            data += chunk
    answers = [json.loads(line) for line in data.splitlines()]
    return [a["id"] for a in answers] == [1, 2, 3, 4] and answers[3].get("result") == DPIDR


def orchestrate(args: argparse.Namespace) -> int:
    server, port, log = start_server(args.binary)
    started = time.monotonic()
    rng = random.Random(args.seed)
    per_worker = args.connections // args.workers
    retired = Totals()
    kills = 0

    def spawn(index: int) -> Worker:
        first = index * per_worker
        return Worker([sys.executable, os.path.abspath(__file__), "--worker",
                       "--port", str(port), "--slots", str(per_worker),
                       "--first-slot", str(first), "--peers", str(args.peers),
                       "--seed", str(rng.getrandbits(32))])

    workers = [spawn(i) for i in range(args.workers)]
    samples = [sample(server.pid, started)]
    next_sample = started + args.sample_every
    next_kill = started + args.kill_every
    deadline = started + args.duration
    while time.monotonic() < deadline:
        now = time.monotonic()
        time.sleep(max(0.0, min(next_sample, next_kill, deadline) - now))
        now = time.monotonic()
        if now >= next_kill:
            victim = rng.randrange(len(workers))
            workers[victim].process.kill()
            workers[victim].process.wait()
            workers[victim].reader.join(timeout=5)
            retired.add(workers[victim].totals)
            workers[victim] = spawn(victim)
            kills += 1
            next_kill += args.kill_every
        if now >= next_sample:
            samples.append(sample(server.pid, started))
            next_sample += args.sample_every
    for worker in workers:
        worker.process.send_signal(signal.SIGTERM)
    totals = retired
    for worker in workers:
        try:
            worker.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
        worker.reader.join(timeout=5)
        totals.add(worker.totals)
    # Every client has gone: what the server holds now is its baseline.
    time.sleep(1.0)
    after = sample(server.pid, started)
    answered_after = sanity_round_trip(port)
    server.send_signal(signal.SIGTERM)
    try:
        exit_code = server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        exit_code = None
    report(args, samples, after, totals, kills, answered_after, exit_code, log)
    wrong = (totals.out_of_order + totals.wrong_results + totals.timeouts + totals.closed_early
             + totals.error_statuses + totals.extra_answers + totals.refusals)
    return 0 if wrong == 0 and answered_after and exit_code == 0 else 1


def report(args: argparse.Namespace, samples: list[Sample], after: Sample, totals: Totals,
           kills: int, answered_after: bool, exit_code: int | None, log: list[str]) -> None:
    print("## Soak: %d s, %d connections, %d workers, a kill every %g s\n"
          % (args.duration, args.connections, args.workers, args.kill_every))
    print("Command: `%s`\n" % " ".join(["python3", "bench/soak.py"] + sys.argv[1:]))
    print("| t (s) | RSS (MiB) | open fds | sockets | threads |")
    print("|---:|---:|---:|---:|---:|")
    for s in samples:
        print("| %.0f | %.1f | %d | %d | %d |" % (s.seconds, s.rss_kib / 1024, s.fds, s.sockets,
                                                  s.threads))
    print("| after (clients gone) | %.1f | %d | %d | %d |\n"
          % (after.rss_kib / 1024, after.fds, after.sockets, after.threads))
    warm = [s for s in samples if s.seconds >= args.warmup] or samples
    print("After %g s of warm-up: RSS %.1f-%.1f MiB, fds %d-%d, threads %d-%d.\n"
          % (args.warmup, min(s.rss_kib for s in warm) / 1024, max(s.rss_kib for s in warm) / 1024,
             min(s.fds for s in warm), max(s.fds for s in warm),
             min(s.threads for s in warm), max(s.threads for s in warm)))
    print("| count | value |")
    print("|---|---:|")
    for name, value in asdict(totals).items():
        print("| %s | %d |" % (name, value))
    unaccounted = totals.requests_sent - totals.answered - totals.abandoned
    print("| in flight in killed workers at their last report | %d |" % unaccounted)
    print("| worker kills | %d |" % kills)
    print("| answered after the soak | %s |" % answered_after)
    print("| server exit code | %s |" % exit_code)
    suspicious = [line for line in log if "panicked" in line or "ERROR" in line]
    print("\nServer log lines with ERROR or panicked: %d" % len(suspicious))
    for line in suspicious[:20]:
        print("    " + line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default="target/release/probeshare")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--peers", type=int, default=32,
                        help="loopback source addresses 127.0.0.1..N the clients spread over")
    parser.add_argument("--kill-every", type=float, default=15.0, help="seconds")
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--slots", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--first-slot", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker_main(args))
        return 0
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
