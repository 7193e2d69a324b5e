"""Drives a probeshare server through pyOCD's Python API, for tests/pyocd_e2e.rs.

Every mode opens one session on a generic Cortex-M (target "cortex_m") behind
the remote probe UID (remote:HOST:PORT), attaching without a reset, halts the
core (core registers are only reachable halted) and leaves it halted, so that
sessions running side by side disturb each other no more than that.

  roundtrip UID ADDRESS INPUT OUTPUT REGISTER VALUE
      Writes the bytes of file INPUT to memory at ADDRESS and reads as many
      back into file OUTPUT (the Rust test compares the two), then writes
      VALUE to core register REGISTER and prints "REGISTER = 0x........" as
      read back.

  soak UID ADDRESS SIZE INPUT OUTPUT REGISTER VALUE
      Over and over: writes SIZE random bytes at ADDRESS, reads them back,
      checks them and prints "round N START_NS END_NS ok" (CLOCK_MONOTONIC,
      as overlap.py, so the test can tell which rounds ran during another
      session). When a line (or end of file) arrives on stdin it ends with a
      roundtrip as above. Gives up after SOAK_LIMIT_S seconds so that it can
      never run forever. The rounds leave core registers alone
      (pyocd_rounds.py has sessions racing on them).

  rtt UID ADDRESS MESSAGES
      Writes MESSAGES messages of 1 to 40 random bytes, each as a `bytes`
      object, into a 1 KiB ring buffer at ADDRESS + 16 the way pyOCD's RTT
      down channel does (the bytes, split where the ring wraps, then the
      write offset as a word at ADDRESS), then reads the ring and the offset
      back and compares them with what was written; prints
      "rtt MESSAGES messages ok".

Any mismatch or error exits non-zero with a message on stderr.
"""

import argparse
import os
import select
import sys
import time

from pyocd.core.helpers import ConnectHelper

SOAK_LIMIT_S = 100


def open_session(uid):
    session = ConnectHelper.session_with_chosen_probe(
        unique_id=uid,
        target_override="cortex_m",
        blocking=False,
        options={"connect_mode": "attach", "resume_on_disconnect": False},
    )
    if session is None:
        sys.exit(f"no probe {uid}")
    return session


def roundtrip(target, address, input_path, output_path, register, value):
    with open(input_path, "rb") as f:
        data = f.read()
    target.write_memory_block8(address, data)
    read_back = bytes(target.read_memory_block8(address, len(data)))
    with open(output_path, "wb") as f:
        f.write(read_back)
    target.write_core_register(register, value)
    print(f"{register} = {target.read_core_register(register):#010x}")


def told_to_finish():
    readable, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(readable)


def soak_round(target, address, size, counter):
    data = os.urandom(size)
    target.write_memory_block8(address, data)
    read_back = bytes(target.read_memory_block8(address, size))
    if read_back != data:
        first = next(i for i, (a, b) in enumerate(zip(read_back, data)) if a != b)
        sys.exit(f"round {counter}: memory differs at {address + first:#x}")


RING_SIZE = 1024


def rtt(target, address, messages):
    ring = bytearray(RING_SIZE)
    target.write_memory_block8(address + 16, bytes(ring))
    offset = 0
    for _ in range(messages):
        message = os.urandom(1 + os.urandom(1)[0] % 40)
        first = min(len(message), RING_SIZE - offset)
        target.write_memory_block8(address + 16 + offset, message[:first])
        if first < len(message):
            target.write_memory_block8(address + 16, message[first:])
        for byte in message:
            ring[offset] = byte
            offset = (offset + 1) % RING_SIZE
        target.write32(address, offset)
    if target.read32(address) != offset:
        sys.exit("rtt: the write offset reads back wrong")
    if bytes(target.read_memory_block8(address + 16, RING_SIZE)) != bytes(ring):
        sys.exit("rtt: the ring reads back wrong")
    print(f"rtt {messages} messages ok")


NUMBERS = {"address", "size", "value", "messages"}


def positionals(parser, names):
    for name in names.split():
        parser.add_argument(name, type=(lambda s: int(s, 0)) if name in NUMBERS else str)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    positionals(modes.add_parser("roundtrip"), "uid address input output register value")
    positionals(modes.add_parser("soak"), "uid address size input output register value")
    positionals(modes.add_parser("rtt"), "uid address messages")
    args = parser.parse_args()

    with open_session(args.uid) as session:
        target = session.target
        target.halt()
        if args.mode == "rtt":
            rtt(target, args.address, args.messages)
            return
        if args.mode == "soak":
            deadline = time.monotonic() + SOAK_LIMIT_S
            rounds = 0
            while not told_to_finish():
                if time.monotonic() > deadline:
                    sys.exit(f"not told to finish within {SOAK_LIMIT_S} s")
                rounds += 1
                start = time.monotonic_ns()
                soak_round(target, args.address, args.size, rounds)
                print(f"round {rounds} {start} {time.monotonic_ns()} ok", flush=True)
        roundtrip(target, args.address, args.input, args.output, args.register, args.value)


if __name__ == "__main__":
    main()
