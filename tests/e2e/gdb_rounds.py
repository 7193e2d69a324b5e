"""A GDB session stepping the target through `pyocd gdbserver`, in rounds
beside other processes (overlap.py), for tests/pyocd_e2e/overlapping.rs.
GDB's embedded Python runs it; the arguments come in sys.argv, set first:

  gdb-multiarch -nx -batch -ex "python import sys; sys.argv = ['gdb_rounds.py', ...]" \\
      -x gdb_rounds.py

  gdb_rounds.py PORT --dir DIR --name NAME --peers P[,P...] --quota N
                --address ADDRESS --register NAME

Each round writes 4 random words at ADDRESS and a random value to the core
register, steps one instruction (which drops GDB's caches), then checks
both as `info registers` and `x/4wx` show them and `x/16xb` agrees.
"""

import argparse
import random
import sys
from pathlib import Path
from typing import Optional

import gdb  # type: ignore

sys.path.insert(0, str(Path(__file__).parent))
from overlap import Peers, add_round_arguments, first_difference, run_rounds  # noqa: E402

LIMIT_S = 90
WORDS = 4


def run(command: str) -> str:
    return str(gdb.execute(command, to_string=True))


def register_value(registers: str, name: str) -> Optional[int]:
    """The value of `name` in the output of `info registers`."""
    for line in registers.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == name:
            return int(fields[1], 16)
    return None


def dumped(output: str) -> list[int]:
    """The values of an `x/...x` dump, in order (`ADDRESS:  V V ...` lines)."""
    return [int(v, 16) for line in output.splitlines() for v in line.split(":", 1)[1].split()]


def one_round(address: int, register: str) -> Optional[str]:
    words = [random.getrandbits(32) for _ in range(WORDS)]
    value = random.getrandbits(32)
    for i, word in enumerate(words):
        run(f"set {{unsigned int}}{address + 4 * i:#x} = {word:#x}")
    run(f"set ${register} = {value:#x}")
    run("stepi")
    registers = run("info registers")
    read = register_value(registers, register)
    if read != value:
        shown = "none" if read is None else f"{read:#010x}"
        return f"{register} read {shown}, wrote {value:#010x}; info registers: {registers!r}"
    as_words = dumped(run(f"x/{WORDS}wx {address:#x}"))
    as_bytes = dumped(run(f"x/{4 * WORDS}xb {address:#x}"))
    bytes_ = [b for w in words for b in w.to_bytes(4, "little")]
    return first_difference(words, as_words, address, 4) or first_difference(bytes_, as_bytes, address, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    add_round_arguments(parser)
    parser.add_argument("--address", type=lambda s: int(s, 0), required=True)
    parser.add_argument("--register", required=True)
    args = parser.parse_args()

    with Peers(args.dir, args.name, args.peers, LIMIT_S) as peers:
        # Without a program GDB takes the host's ABI, GNU/Linux, and steps
        # with breakpoints; a bare-metal ABI makes it ask for real steps.
        run("set osabi none")
        # Connecting halts the core (pyOCD's GDB server does on attach).
        run(f"target remote 127.0.0.1:{args.port}")
        run("set confirm off")
        run_rounds(peers, args.quota, lambda: one_round(args.address, args.register))
        run("detach")


main()
