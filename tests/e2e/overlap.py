"""Rounds of debug work that provably overlap those of other processes.

Shared by pyocd_rounds.py (pyOCD's Python API) and gdb_rounds.py (GDB's
embedded Python); only the standard library. Processes that run side by side
signal each other with empty files NAME.SIGNAL in one directory:

  ready     the session is open: nobody starts a round before all are ready
  started   the first round has begun (its start time is printed already)
  done      the quota of counted rounds is reached
  finished  the last round ended: nobody closes its session before that
  gone      the process is exiting, for whatever reason

A round counts toward the quota only if it begins after every peer has
started, and a process stops only after a round that began once every peer
was done. So the quota of counted rounds of each process lies inside every
peer's first and last round, which the Rust test checks from the printed
times (CLOCK_MONOTONIC, one clock for all processes on Linux):

  round N START_NS END_NS ok
  round N START_NS END_NS wrong WHAT
  round N START_NS END_NS error EXCEPTION: MESSAGE

A wrong value or an exception fails the round, not the process: it goes on,
so that the test sees the failures of every process, until MAX_FAILED
rounds failed. A process gives up (exit status 1) then, at its deadline, or
as soon as a peer is gone early; so do its peers when they see it gone.
"""

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Optional

POLL_S = 0.005
MAX_FAILED = 20

# What a round returns: None when it passed, else what was wrong.
Round = Callable[[], Optional[str]]


class Peers:
    def __init__(self, directory: Path, name: str, peers: list[str], limit_s: float) -> None:
        self.directory = directory
        self.name = name
        self.peers = peers
        self.deadline = time.monotonic() + limit_s

    def __enter__(self) -> "Peers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.signal("gone")

    def signal(self, what: str) -> None:
        (self.directory / f"{self.name}.{what}").touch()

    def all(self, what: str) -> bool:
        return all((self.directory / f"{peer}.{what}").exists() for peer in self.peers)

    def gone(self) -> list[str]:
        return [peer for peer in self.peers if (self.directory / f"{peer}.gone").exists()]

    def wait_all(self, what: str) -> None:
        while not self.all(what):
            # A peer may signal and go between the two looks: look again.
            if self.gone() and not self.all(what):
                sys.exit(f"{self.name}: {', '.join(self.gone())} gone before signalling {what}")
            self.check_deadline(f"waiting for {what}")
            time.sleep(POLL_S)

    def check_peers(self) -> None:
        """Gives up when a peer is gone before this process finished."""
        if self.gone():
            sys.exit(f"{self.name}: {', '.join(self.gone())} gone early")

    def check_deadline(self, doing: str) -> None:
        if time.monotonic() > self.deadline:
            sys.exit(f"{self.name}: deadline passed {doing}")


def add_round_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every round script takes: where the signal files are,
    its own name, the peers it waits for, and its quota of rounds."""
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--peers", type=lambda s: s.split(","), required=True)
    parser.add_argument("--quota", type=int, required=True)


def run_rounds(peers: Peers, quota: int, one_round: Round) -> None:
    """Runs one_round over and over as the module docstring says."""
    peers.signal("ready")
    peers.wait_all("ready")
    number = counted = failed = 0
    counting = done = last = False
    while not last:
        last = done and peers.all("done")
        counting = counting or peers.all("started")
        number += 1
        start = time.monotonic_ns()
        if number == 1:
            peers.signal("started")
        try:
            wrong = one_round()
            outcome = "ok" if wrong is None else f"wrong {wrong}"
        except Exception as e:  # reported per round; the Rust test fails on it
            outcome = f"error {type(e).__name__}: {e}".replace("\n", " ")
        print(f"round {number} {start} {time.monotonic_ns()} {outcome}", flush=True)
        counted += counting
        failed += outcome != "ok"
        if failed >= MAX_FAILED:
            sys.exit(f"{peers.name}: gave up after {failed} failed rounds")
        peers.check_peers()
        if counted >= quota and not done:
            peers.signal("done")
            done = True
        peers.check_deadline(f"in round {number}")
    peers.signal("finished")
    peers.wait_all("finished")


def first_difference(written: list[int], read: list[int], address: int, step: int) -> Optional[str]:
    """None when equal, else where and how read differs from written."""
    for i, (w, r) in enumerate(zip(written, read)):
        if w != r:
            return f"at {address + i * step:#x}: read {r:#x}, wrote {w:#x}"
    if len(written) != len(read):
        return f"read {len(read)} values, wrote {len(written)}"
    return None
