"""One openocd-python session against a probeshare DAP port, for
tests/openocd_e2e.rs: the library spawns OpenOCD itself
(`Session.start_sync`) with one self-contained board file, as its users do.

  openocd_python.py CONFIG OPENOCD_BINARY TCL_PORT

Halts the core, writes words and bytes and reads them back through
`memory`, round-trips a core register and reads the PC through
`registers`, closes the session, and checks that the OpenOCD it spawned is
gone and its Tcl port closed. Prints one `name = value` line per result for
the Rust test; any failure exits non-zero with a message on stderr.
"""

import socket
import sys
import time

import psutil
from openocd import Session

WORDS_AT = 0x20000600
WORDS = [0x11223344, 0xCAFEF00D, 0x0BADC0DE, 0xFFFFFFFF]
BYTES_AT = 0x20000701
BYTES = [0xA1, 0xB2, 0xC3]
REGISTER = "r3"
REGISTER_VALUE = 0x5EED1234
# How long the closed OpenOCD may take to disappear (it is reaped on close:
# this only covers a slow exit).
GONE_DEADLINE_S = 10


def openocd_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children() if p.name().startswith("openocd")]


def check(name: str, got: object, expected: object) -> None:
    print(f"{name} = {got}", flush=True)
    if got != expected:
        sys.exit(f"{name}: got {got}, expected {expected}")


def main() -> None:
    config, binary, tcl_port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Session.start_sync(config, openocd_bin=binary, tcl_port=tcl_port, timeout=30) as session:
        spawned = openocd_children()
        check("openocd processes", len(spawned), 1)
        state = session.target.halt()
        check("state", state.state, "halted")
        session.memory.write_u32(WORDS_AT, WORDS)
        check("words", session.memory.read_u32(WORDS_AT, len(WORDS)), WORDS)
        session.memory.write_u8(BYTES_AT, BYTES)
        check("bytes", session.memory.read_u8(BYTES_AT, len(BYTES)), BYTES)
        # The bytes went where they belong within their word.
        word = session.memory.read_u32(BYTES_AT - 1, 1)[0]
        check("bytes as a word", word >> 8, 0xC3B2A1)
        session.registers.write(REGISTER, REGISTER_VALUE)
        check(REGISTER, hex(session.registers.read(REGISTER)), hex(REGISTER_VALUE))
        print(f"pc = {session.registers.pc():#010x}", flush=True)
    deadline = time.monotonic() + GONE_DEADLINE_S
    while any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in spawned):
        if time.monotonic() > deadline:
            sys.exit(f"OpenOCD still running {GONE_DEADLINE_S} s after the session closed")
        time.sleep(0.05)
    print(f"openocd gone = {spawned[0].pid}", flush=True)
    try:
        socket.create_connection(("127.0.0.1", tcl_port), timeout=5).close()
        sys.exit(f"the Tcl port {tcl_port} still accepts connections after the session closed")
    except ConnectionRefusedError:
        print("tcl port closed", flush=True)


if __name__ == "__main__":
    main()
