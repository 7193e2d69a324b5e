"""One pyOCD Python API session doing rounds of checked work beside other
processes, for tests/pyocd_e2e/overlapping.rs (overlap.py: the barrier, the
quota and the printed rounds).

  pyocd_rounds.py UID --dir DIR --name NAME --peers P[,P...] --quota N
                  [--halt] [--words ADDRESS] [--halfwords ADDRESS]
                  [--bytes ADDRESS] [--register NAME]

Opens a session on the generic Cortex-M behind UID (attach, no reset),
halts the core first with --halt (once is enough for all processes), then
each round writes random data and reads it back through each work given:

  --words      64 words as one block at ADDRESS
  --halfwords  4 halfwords, one access each, at ADDRESS (2 mod 4)
  --bytes      7 bytes at ADDRESS (odd): pyOCD mixes byte, halfword and
               word accesses for them
  --register   a core register (needs the core halted)
"""

import argparse
import os
import random
import sys
from typing import Any, Callable, Optional

from overlap import Peers, add_round_arguments, first_difference, run_rounds
from pyocd.core.helpers import ConnectHelper
from pyocd.core.target import Target

LIMIT_S = 90
WORDS = 64
HALFWORDS = 4
BYTES = 7

Work = Callable[[Target], Optional[str]]


def number(text: str) -> int:
    return int(text, 0)


def words(address: int) -> Work:
    def work(target: Target) -> Optional[str]:
        data = [random.getrandbits(32) for _ in range(WORDS)]
        target.write_memory_block32(address, data)
        return first_difference(data, list(target.read_memory_block32(address, WORDS)), address, 4)

    return work


def halfwords(address: int) -> Work:
    def work(target: Target) -> Optional[str]:
        data = [random.getrandbits(16) for _ in range(HALFWORDS)]
        for i, value in enumerate(data):
            target.write_memory(address + 2 * i, value, 16)
        read = [target.read_memory(address + 2 * i, 16) for i in range(HALFWORDS)]
        return first_difference(data, read, address, 2)

    return work


def bytes_(address: int) -> Work:
    def work(target: Target) -> Optional[str]:
        data = list(os.urandom(BYTES))
        target.write_memory_block8(address, data)
        return first_difference(data, list(target.read_memory_block8(address, BYTES)), address, 1)

    return work


def register(name: str) -> Work:
    def work(target: Target) -> Optional[str]:
        value = random.getrandbits(32)
        target.write_core_register(name, value)
        read = target.read_core_register(name)
        return None if read == value else f"{name} read {read:#010x}, wrote {value:#010x}"

    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uid")
    add_round_arguments(parser)
    parser.add_argument("--halt", action="store_true")
    parser.add_argument("--words", type=number)
    parser.add_argument("--halfwords", type=number)
    parser.add_argument("--bytes", type=number)
    parser.add_argument("--register")
    args = parser.parse_args()
    chosen: list[tuple[Callable[[Any], Work], Any]] = [
        (words, args.words),
        (halfwords, args.halfwords),
        (bytes_, args.bytes),
        (register, args.register),
    ]
    works = [make(arg) for make, arg in chosen if arg is not None]

    with Peers(args.dir, args.name, args.peers, LIMIT_S) as peers:
        session = ConnectHelper.session_with_chosen_probe(
            unique_id=args.uid,
            target_override="cortex_m",
            blocking=False,
            options={"connect_mode": "attach", "resume_on_disconnect": False},
        )
        if session is None:
            sys.exit(f"no probe {args.uid}")
        with session:
            target = session.target
            if args.halt:
                target.halt()

            def one_round() -> Optional[str]:
                wrong = [w for w in (work(target) for work in works) if w is not None]
                return "; ".join(wrong) or None

            run_rounds(peers, args.quota, one_round)


if __name__ == "__main__":
    main()
