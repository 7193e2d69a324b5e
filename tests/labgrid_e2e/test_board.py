"""A labgrid test of a probeshare farm (run by tests/labgrid_e2e.rs).

It runs with labgrid's pytest plugin (``--lg-env env.yaml``) while the places
board-a and board-b are acquired: the driver reserves each probe with a
probeshare session, drives the virtual target, and nobody else gets in.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from intelhex import IntelHex
from pyocd.core.helpers import ConnectHelper

from probeshare.labgrid import ProbeshareDriver
from probeshare.management import Management

RAM = 0x20000000


@pytest.fixture
def probe(target: Any) -> ProbeshareDriver:
    driver: ProbeshareDriver = target.get_driver(ProbeshareDriver)
    return driver


def labgrid_client(*args: str, user: str) -> subprocess.CompletedProcess[str]:
    client = Path(sys.executable).parent / "labgrid-client"
    return subprocess.run(
        [str(client), *args],
        env={**os.environ, "LG_USERNAME": user},
        capture_output=True,
        text=True,
        timeout=60,
    )


def outside_pyocd(driver: ProbeshareDriver) -> Any:
    """An unmodified pyOCD client on the probe's own port, as another CI job
    would connect."""
    uid = f"remote:{driver.probe.host}:{driver.probe.port}"
    return ConnectHelper.session_with_chosen_probe(
        unique_id=uid, blocking=False, auto_open=False, target_override="cortex_m"
    )


def elf_image(address: int, data: bytes) -> bytes:
    """A minimal 32-bit little-endian ARM executable: one PT_LOAD segment of
    `data` at `address`, no sections (pyOCD loads ELF files by segment)."""
    header_size, segment_header_size = 52, 32
    offset = header_size + segment_header_size
    ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    header = ident + struct.pack(
        "<HHIIIIIHHHHHH",
        2,  # ET_EXEC
        40,  # EM_ARM
        1,
        address,  # entry
        header_size,  # program headers follow the header
        0,  # no section headers
        0x05000000,  # EABI version 5
        header_size,
        segment_header_size,
        1,
        40,
        0,
        0,
    )
    segment = struct.pack("<IIIIIIII", 1, offset, address, address, len(data), len(data), 7, 4)
    return header + segment + data


def test_memory_written_is_read_back(probe: ProbeshareDriver) -> None:
    data = os.urandom(256)
    probe.write_memory(RAM + 0x100, data)
    assert probe.read_memory(RAM + 0x100, len(data)) == data


def test_halt_resume_and_reset_to_the_reset_vector(probe: ProbeshareDriver) -> None:
    probe.halt()
    reset_vector = int.from_bytes(probe.read_memory(0x4, 4), "little")
    probe.resume()
    probe.reset(halt=True)
    core = probe.pyocd_session.target
    assert core.read_core_register("pc") == reset_vector & ~1
    probe.resume()
    probe.reset()
    assert not core.is_halted()


def test_binary_hex_and_elf_images_load_into_ram(
    probe: ProbeshareDriver, tmp_path: Path
) -> None:
    image = os.urandom(1024)
    binary = tmp_path / "image.bin"
    binary.write_bytes(image)
    probe.flash(str(binary), base_address=RAM + 0x1000)
    assert probe.read_memory(RAM + 0x1000, len(image)) == image

    hex_image = os.urandom(512)
    hexfile = IntelHex()
    hexfile.frombytes(hex_image, offset=RAM + 0x2000)
    hexfile.write_hex_file(str(tmp_path / "image.hex"))
    probe.flash(str(tmp_path / "image.hex"))
    assert probe.read_memory(RAM + 0x2000, len(hex_image)) == hex_image

    elf_data = os.urandom(768)
    (tmp_path / "image.elf").write_bytes(elf_image(RAM + 0x2800, elf_data))
    probe.flash(str(tmp_path / "image.elf"))
    assert probe.read_memory(RAM + 0x2800, len(elf_data)) == elf_data


def test_the_two_places_are_two_probes(env: Any, probe: ProbeshareDriver) -> None:
    other: ProbeshareDriver = env.get_target("second").get_driver(ProbeshareDriver)
    assert other.probe.serial != probe.probe.serial
    mine, theirs = os.urandom(64), os.urandom(64)
    probe.write_memory(RAM + 0x3000, mine)
    other.write_memory(RAM + 0x3000, theirs)
    assert probe.read_memory(RAM + 0x3000, 64) == mine
    assert other.read_memory(RAM + 0x3000, 64) == theirs


def test_the_session_keeps_everyone_else_off_the_probe(probe: ProbeshareDriver) -> None:
    assert probe.probe.management is not None
    reservation = probe.reservation
    assert reservation is not None
    assert probe.uid == f"probeshare:{probe.probe.host}:{reservation.port}"
    [open_session] = Management(probe.probe.management).sessions(probe.probe.serial)
    assert open_session.session == reservation.session
    assert open_session.holder.startswith(f"{socket.gethostname()}/ci-job ")
    assert "labgrid place board-a" in open_session.holder

    outsider = outside_pyocd(probe)
    with pytest.raises(Exception, match="reserved by .*ci-job"):
        outsider.open()


def test_a_second_acquisition_is_refused_while_the_place_is_held(probe: ProbeshareDriver) -> None:
    refused = labgrid_client("-p", "board-a", "acquire", user="other-job")
    assert refused.returncode != 0
    assert "already acquired" in refused.stderr + refused.stdout


def test_deactivation_closes_the_session(target: Any, probe: ProbeshareDriver) -> None:
    assert probe.probe.management is not None
    management = Management(probe.probe.management)
    target.deactivate(probe)
    assert probe.reservation is None
    assert management.sessions(probe.probe.serial) == []
    outsider = outside_pyocd(probe)
    outsider.open()
    try:
        assert len(outsider.target.read_memory_block8(RAM, 4)) == 4
    finally:
        outsider.close()
