"""One pyOCD client's side of bench/remote_feel.py: the workflow, timed step by step.

Run with a Python that has pyOCD (and, for `probeshare:` IDs, the probeshare
package): `remote_feel_client.py UID REPETITIONS SCRATCH_DIR` runs REPETITIONS
times, each in a fresh session:

  connect (session open, attaching), halt, read 17 core registers (r0-r12, sp,
  lr, pc, xpsr in one call, as commander's `reg` and GDB's `g` read them),
  read 4 KiB, write 1 KiB of bytes (then flush, so the write is known done),
  step, resume, disconnect;

and, in the same session after `halt`: 17 core registers one call each,
commander's `savemem` of 64 KiB and `loadmem` of 64 KiB (pyOCD's own command
code, through a CommandExecutionContext), checked byte-exact.

Prints one JSON line: {step: [seconds per repetition]}, plus "round_trips":
{step: [count]} of dependent round trips, read from the client itself: the
plugin's `round_trips` counter, or pyOCD's remote client's request count (it
waits for every request).
"""

import json
import os
import sys
import time

from pyocd.commands.execution_context import CommandExecutionContext
from pyocd.core.helpers import ConnectHelper

RAM = 0x20000000
REGISTERS = ["r%d" % n for n in range(13)] + ["sp", "lr", "pc", "xpsr"]
BLOCK = 64 * 1024


def counter(probe):
    """What counts the client's dependent round trips: the plugin's connection
    (its `round_trips`), or pyOCD's remote client itself (its request ids: it
    waits for every request). Kept past the session's close."""
    connection = getattr(probe, "_connection", None)
    return connection if hasattr(connection, "round_trips") else probe


def trips(counted):
    if hasattr(counted, "round_trips"):
        return counted.round_trips
    return getattr(counted, "_request_id", 0)


class Steps:
    def __init__(self):
        self.seconds = {}
        self.round_trips = {}
        self.probe = None

    def run(self, name, action):
        before = trips(self.probe) if self.probe is not None else 0
        start = time.perf_counter()
        result = action()
        self.seconds.setdefault(name, []).append(time.perf_counter() - start)
        if self.probe is not None:
            self.round_trips.setdefault(name, []).append(trips(self.probe) - before)
        return result


def once(uid, scratch, steps, pattern):
    def connect():
        session = ConnectHelper.session_with_chosen_probe(
            unique_id=uid, target_override="cortex_m", blocking=False,
            options={"connect_mode": "attach", "no_config": True})
        session.open()
        return session

    start = time.perf_counter()
    session = steps.run("connect", connect)
    steps.probe = counter(session.probe)
    # Everything the client did so far was the connect.
    steps.round_trips.setdefault("connect", []).append(trips(steps.probe))
    target = session.target
    steps.run("halt", target.halt)
    registers = steps.run("17 core registers", lambda: target.read_core_registers_raw(REGISTERS))
    assert len(registers) == 17
    block = steps.run("read 4 KiB", lambda: target.read_memory_block32(RAM, 1024))
    assert len(block) == 1024

    def write_bytes():
        target.write_memory_block8(RAM + 0x1000, pattern[:1024])
        target.flush()

    steps.run("write 1 KiB of bytes", write_bytes)
    steps.run("step", target.step)
    steps.run("resume", target.resume)
    steps.run("disconnect", session.close)
    steps.probe = None
    steps.seconds.setdefault("whole workflow", []).append(time.perf_counter() - start)

    # The rest in a session of its own, halted, not part of the workflow.
    session = connect()
    steps.probe = counter(session.probe)
    target = session.target
    target.halt()
    steps.run("17 core registers, one call each",
              lambda: [target.read_core_register(name) for name in REGISTERS])
    context = CommandExecutionContext(output_stream=open(os.devnull, "w"))
    context.attach_session(session)
    image = os.path.join(scratch, "image.bin")
    saved = os.path.join(scratch, "saved.bin")
    with open(image, "wb") as f:
        f.write(pattern)
    steps.run("loadmem 64 KiB",
              lambda: (context.process_command_line("loadmem %#x %s" % (RAM, image)), target.flush()))
    steps.run("savemem 64 KiB",
              lambda: context.process_command_line("savemem %#x %d %s" % (RAM, BLOCK, saved)))
    with open(saved, "rb") as f:
        if f.read() != pattern:
            raise SystemExit("savemem did not read back what loadmem wrote")
    steps.probe = None
    session.close()


def main():
    uid, repetitions, scratch = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    steps = Steps()
    for _ in range(repetitions):
        once(uid, scratch, steps, os.urandom(BLOCK))
    print(json.dumps({"seconds": steps.seconds, "round_trips": steps.round_trips}))


if __name__ == "__main__":
    main()
