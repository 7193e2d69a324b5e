"""probeshare.session against a real `probeshare serve --probe sim`:
starting and stopping the server, every probe subsystem, typed errors."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from session_support import free_port, server_binary

from probeshare.session import (
    AsyncSession,
    ConnectionClosed,
    GeneralError,
    ProbeshareError,
    ServerStartError,
    Session,
    StatusError,
    TargetState,
    TransferFault,
)
from probeshare.session.process import ServerProcess
from probeshare.session.target import DHCSR, S_HALT

RAM = 0x20000000
DFSR = 0xE000ED30
DFSR_HALTED = 1 << 0
UNMAPPED = 0x50000000
SIM_DPIDR = 0x2BA01477
AHB_AP_IDR = 0x24770011


@pytest.fixture
def sim() -> Iterator[Session]:
    """A session on a server it spawned; after the test, whatever it did,
    the server must be gone."""
    session = Session.start(probe="sim", binary=server_binary())
    process = session.process
    assert process is not None and process.poll() is None
    try:
        yield session
    finally:
        session.close()
        assert process.poll() is not None, "close() left the server running"


def test_start_learns_the_port_the_server_picked(sim: Session) -> None:
    assert sim.port != 0
    assert sim.server is not None
    assert f"on 127.0.0.1:{sim.port}" in sim.server.output().decode()


def test_dap_reads_the_debug_port_and_access_port(sim: Session) -> None:
    assert sim.dap.dpidr() == SIM_DPIDR
    assert sim.dap.read_ap(0xFC) == AHB_AP_IDR
    csw = sim.dap.read_ap(0x00)
    sim.dap.write_ap(0x00, (csw & ~0x37) | 0x2)  # CSW: 32-bit, no increment
    sim.dap.write_ap(0x04, RAM + 0x40)  # TAR
    sim.dap.write_ap(0x0C, 0x600DF00D)  # DRW
    sim.dap.flush()
    assert sim.memory.read32(RAM + 0x40) == 0x600DF00D


def test_memory_of_every_width_reads_back(sim: Session) -> None:
    memory = sim.memory
    memory.write32(RAM, 0x12345678)
    assert (memory.read32(RAM), memory.read16(RAM + 2), memory.read8(RAM + 1)) == (
        0x12345678, 0x1234, 0x56)
    memory.write16(RAM + 4, 0xBEEF)
    memory.write8(RAM + 7, 0xA5)
    assert memory.read32(RAM + 4) == 0xA500BEEF


def test_blocks_larger_than_one_request_read_back(sim: Session) -> None:
    words = [(i * 2654435761) & 0xFFFFFFFF for i in range(20000)]  # two requests each way
    sim.memory.write_block32(RAM + 0x1000, words)
    assert sim.memory.read_block32(RAM + 0x1000, len(words)) == words
    data = bytes((i * 7) & 0xFF for i in range(333))
    sim.memory.write_bytes(RAM + 0x101, data)  # unaligned at both ends
    assert sim.memory.read_bytes(RAM + 0x101, len(data)) == data


def test_target_halts_steps_resumes_and_resets(sim: Session) -> None:
    target = sim.target
    assert target.state() == TargetState.RUNNING
    target.halt()
    assert target.state() == TargetState.HALTED
    sim.memory.write32(DFSR, 0x1F)  # clears the write-one-to-clear reasons
    target.step()
    assert sim.memory.read32(DFSR) & DFSR_HALTED, "no debug halt recorded by the step"
    assert target.state() == TargetState.HALTED
    target.resume()
    assert target.state() == TargetState.RUNNING
    target.reset(halt=True)
    assert target.state() == TargetState.HALTED
    reset_vector = sim.memory.read32(4) & ~1
    assert sim.registers.pc() == reset_vector
    target.reset()
    assert target.state() == TargetState.RUNNING


def test_registers_read_and_write(sim: Session) -> None:
    sim.target.reset(halt=True)
    registers = sim.registers
    registers.write("r3", 0xCAFE0003)
    registers.write("R7", 0x7)
    everything = registers.read_all()
    assert everything["r3"] == 0xCAFE0003 and everything["r7"] == 7
    assert everything["sp"] == registers.sp() == sim.memory.read32(0)  # initial SP
    assert everything["pc"] == registers.pc()
    assert everything["lr"] == registers.lr()
    assert registers.xpsr() & (1 << 24), "Thumb bit clear in xPSR"
    with pytest.raises(ProbeshareError, match="unknown core register"):
        registers.read("r99")


def test_status_codes_become_typed_exceptions(sim: Session) -> None:
    with pytest.raises(TransferFault) as fault:
        sim.memory.read32(UNMAPPED)
    assert (fault.value.status, fault.value.request) == (12, "read_mem")
    with pytest.raises(GeneralError, match="invalid handle") as general:
        sim.command("read_mem", 999, RAM, 32)
    assert general.value.status == 1
    # A write's error comes with the next collection point.
    sim.memory.write32(UNMAPPED, 1)
    with pytest.raises(TransferFault):
        sim.memory.flush()
    assert isinstance(fault.value, StatusError) and isinstance(fault.value, ProbeshareError)
    # The session is still usable after them.
    sim.memory.write32(RAM + 8, 0x5AFE)
    assert sim.memory.read32(RAM + 8) == 0x5AFE


def test_command_sends_a_raw_request(sim: Session) -> None:
    assert sim.command("readprop", "vendor_name")
    assert sim.command("probeshare_features", ["memory_handles"]) == ["memory_handles"]


def test_a_failing_block_still_stops_the_server() -> None:
    with pytest.raises(RuntimeError):
        with Session.start(probe="sim", binary=server_binary()) as session:
            process = session.process
            raise RuntimeError("the test failed")
    assert process is not None and process.poll() is not None


def test_a_server_that_exits_at_once_is_reported_with_its_output() -> None:
    with pytest.raises(ServerStartError, match="no-such-option"):
        Session.start(probe="sim", binary=server_binary(), extra_args=["--no-such-option"])


def test_a_server_that_ignores_sigterm_is_killed_after_five_seconds(tmp_path: Path) -> None:
    stubborn = tmp_path / "stubborn"
    stubborn.write_text(
        f"#!{sys.executable}\n"
        "import signal, socket, sys\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "listener = socket.create_server(('127.0.0.1', 0))\n"
        "print('Serving debug probe fake (stubborn) on 127.0.0.1:%d'"
        " % listener.getsockname()[1], flush=True)\n"
        "while True:\n"
        "    listener.accept()[0].close()\n"
    )
    stubborn.chmod(0o755)
    server = ServerProcess([str(stubborn), "serve"], 0, timeout=20.0)
    try:
        assert server.running and server.port != 0
        began = time.monotonic()
        server.stop()
        assert time.monotonic() - began >= 4.9
        assert server.popen.returncode == -signal.SIGKILL
    finally:
        server.popen.kill()  # it would outlive a failed test: it ignores SIGTERM
        server.popen.wait()


def test_start_on_a_given_port_and_connect_to_a_running_server() -> None:
    port = free_port()
    with Session.start(probe="sim", port=port, binary=server_binary()) as spawned:
        assert spawned.port == port
        with Session.connect("127.0.0.1", port) as attached:
            assert attached.process is None
            assert attached.dap.dpidr() == SIM_DPIDR
        assert spawned.process is not None and spawned.process.poll() is None
    with pytest.raises(ConnectionClosed, match=f"cannot connect to 127.0.0.1:{port}"):
        Session.connect("127.0.0.1", port, timeout=2.0)


def test_asyncio_variant_drives_the_target() -> None:
    async def scenario() -> None:
        async with await AsyncSession.start(probe="sim", binary=server_binary()) as session:
            target = await session.target()
            await target.halt()
            memory = await session.memory()
            assert await memory.read32(DHCSR) & S_HALT
            for i in range(8):
                await memory.write32(RAM + 4 * i, 0x1000 + i)
            # Tasks overlapping on one connection each get their own answer.
            values = await asyncio.gather(*(memory.read32(RAM + 4 * i) for i in range(8)))
            assert values == [0x1000 + i for i in range(8)]
            assert await session.command("readprop", "unique_id") == "sim"
            process = session.sync.process
            assert process is not None and process.poll() is None
        assert process.poll() is not None

    asyncio.run(scenario())
