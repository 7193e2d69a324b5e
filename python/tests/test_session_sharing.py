"""probeshare.session with other clients: events of what another process
does to the target, and sessions (reservations) through the management
interface refusing outsiders with the holder's name."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Iterator, List

import pytest
from session_support import free_port, run_client, server_binary, wait_until

from probeshare.session import Event, ProbeError, ProbeshareError, Session, TargetState

# A second client, in a process of its own, doing one thing to the target.
OTHER_CLIENT = """
import sys
from probeshare.session import Session
with Session.connect("127.0.0.1", int(sys.argv[1])) as other:
    getattr(other.target, sys.argv[2])()
"""


def closed_after(session: Session) -> Iterator[Session]:
    process = session.process
    try:
        yield session
    finally:
        session.close()
        assert process is not None and process.poll() is not None, "the server outlived close()"


@pytest.fixture
def sim() -> Iterator[Session]:
    yield from closed_after(Session.start(probe="sim", binary=server_binary()))


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[Session]:
    """`serve --config` with one virtual target and a management interface
    (whose port must be given: the configuration refuses port 0)."""
    config = tmp_path / "farm.toml"
    config.write_text(
        f'[management]\nlisten = "127.0.0.1:{free_port()}"\n'
        f'[[probe]]\nserial = "sim:bench"\nport = {free_port()}\n'
    )
    yield from closed_after(Session.start(config=config, binary=server_binary()))


class Collected:
    def __init__(self) -> None:
        self.events: List[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def whats(self) -> List[str]:
        with self._lock:
            return [str(e.what) for e in self.events]


def test_events_tell_of_a_halt_and_a_reset_another_process_caused(sim: Session) -> None:
    # Connected ourselves, we keep the wire up between the other clients,
    # so the server's view of the target carries over from one to the next.
    assert sim.target.state() == TargetState.RUNNING
    halts, resets, targets = Collected(), Collected(), Collected()
    sim.events.on_halt(halts)
    sim.events.on_reset(resets)
    sim.events.on("target", targets)
    done = run_client(OTHER_CLIENT, str(sim.port), "halt")
    assert done.returncode == 0, done.stderr
    wait_until("a halted event", lambda: halts.whats() == ["halted"])
    assert halts.events[0].probe == "sim" and not halts.events[0].current
    assert halts.events[0].fields["dhcsr"] & (1 << 17)
    done = run_client(OTHER_CLIENT, str(sim.port), "reset")
    assert done.returncode == 0, done.stderr
    wait_until("a reset event", lambda: "reset" in resets.whats())
    assert sim.target.state() == TargetState.RUNNING
    wait_until("running after the reset", lambda: targets.whats()[-1:] == ["running"])
    assert halts.whats() == ["halted"], "a halt reported that nobody caused"


def test_client_events_name_the_other_connection(sim: Session) -> None:
    clients = Collected()
    sim.events.on("client", clients)
    with Session.connect(sim.host, sim.port) as other:
        wait_until("joined", lambda: "joined" in clients.whats())
        assert other.dap.dpidr()
    wait_until("left", lambda: "left" in clients.whats())
    assert all(e.fields["front_end"] == "pyocd" for e in clients.events)


def test_sessions_need_a_management_interface(sim: Session) -> None:
    with pytest.raises(ProbeshareError, match="no management interface"):
        sim.sessions.open("sim", holder="nobody")


def test_a_reserved_probe_refuses_outsiders_with_the_holders_name(farm: Session) -> None:
    assert farm.management is not None
    with farm.sessions.open("sim:bench", holder="ci-job-17", ttl_secs=60) as reserved:
        assert reserved.grant.holder == "ci-job-17" and reserved.port not in (0, farm.port)
        # This library's own connection, on the probe's port, is an outsider.
        with pytest.raises(ProbeError, match="probe reserved by ci-job-17 until ") as refused:
            farm.dap.dpidr()
        assert refused.value.status == 3
        # So is a stock pyOCD.
        pyocd = run_client(
            "import sys; from pyocd.__main__ import main; sys.exit(main())",
            "commander", "-u", f"remote:127.0.0.1:{farm.port}", "-t", "cortex_m",
            "-c", "read32 0x20000000",
        )
        assert pyocd.returncode != 0
        assert "probe reserved by ci-job-17" in pyocd.stdout + pyocd.stderr
        # The session's port lets its clients in.
        with reserved.client() as inside:
            inside.memory.write32(0x20000000, 0x5E55)
            assert inside.memory.read32(0x20000000) == 0x5E55
        assert [s.session for s in farm.sessions.list("sim:bench")] == [reserved.grant.session]
    assert farm.sessions.list("sim:bench") == []
    assert farm.memory.read32(0x20000000) == 0x5E55


def test_session_commands_connect_erase_disconnect_and_stop(farm: Session) -> None:
    reserved = farm.sessions.open("sim:bench", holder="flasher", ttl_secs=60)
    try:
        with reserved.client() as inside:
            inside.memory.write32(0, 0x12345678)  # code memory
            assert inside.memory.read32(0) == 0x12345678
        assert reserved.connect() == 0x2BA01477
        assert reserved.erase() == "nordic-ctrl-ap"
        with reserved.client() as inside:
            assert inside.memory.read_block32(0, 4) == [0xFFFFFFFF] * 4
        reserved.disconnect()
        with pytest.raises(ProbeshareError, match="not connected") as not_connected:
            reserved.disconnect()
        assert getattr(not_connected.value, "status") == 1
        expires = reserved.grant.expires
        assert reserved.renew(3600).expires > expires  # RFC 3339 UTC: ordered as text
        reserved.stop()
        wait_until("the session to end", lambda: farm.sessions.list("sim:bench") == [])
        assert farm.dap.dpidr() == 0x2BA01477  # no longer refused
    finally:
        reserved.close()
