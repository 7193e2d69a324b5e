"""probeshare.labgrid without a coordinator: a labgrid environment naming a
`ProbeshareProbe` directly, against a real farm with a management interface.

The whole chain through labgrid's coordinator, exporter and pytest plugin is
tests/labgrid_e2e.rs.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

labgrid = pytest.importorskip("labgrid", reason="labgrid is the optional extra `labgrid`")

from pyocd.core.helpers import ConnectHelper  # noqa: E402

from probeshare import protocol  # noqa: E402
from probeshare.labgrid import ProbeshareDriver, ProbeshareProbe  # noqa: E402
from probeshare.management import Management, ManagementError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


class Farm:
    """`probeshare serve --config` with one virtual target and management."""

    def __init__(self, directory: Path) -> None:
        binary = Path(os.environ.get("PROBESHARE_BIN", REPO / "target/debug/probeshare"))
        if not binary.exists():
            pytest.fail(f"no probeshare binary at {binary}: build it or set PROBESHARE_BIN")
        self.port = free_port()
        self.management = f"127.0.0.1:{free_port()}"
        self.serial = "sim:unit"
        config = directory / "farm.toml"
        config.write_text(
            f'[management]\nlisten = "{self.management}"\n'
            f'[[probe]]\nserial = "{self.serial}"\nport = {self.port}\n'
        )
        self.log = open(directory / "serve.log", "w")
        self.process = subprocess.Popen(
            [str(binary), "serve", "--config", str(config)], stdout=self.log, stderr=self.log
        )
        management_port = int(self.management.rsplit(":", 1)[1])
        wait_until(
            "the farm to serve",
            lambda: self.process.poll() is None and accepts(self.port) and accepts(management_port),
        )

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self.log.close()

    def sessions(self) -> list[Any]:
        return Management(self.management).sessions(self.serial)

    def environment(self, directory: Path, **driver: Any) -> Any:
        """A labgrid environment with this farm's probe and a driver with
        the attributes `driver`."""
        lines = [
            "targets:",
            "  main:",
            "    resources:",
            "      ProbeshareProbe:",
            '        host: "127.0.0.1"',
            f"        port: {self.port}",
            f'        serial: "{self.serial}"',
            f'        management: "{self.management}"',
            "    drivers:",
            "      ProbeshareDriver:",
            *(f"        {key}: {value!r}" for key, value in driver.items()),
            "imports:",
            "  - probeshare.labgrid",
        ]
        if not driver:
            lines[lines.index("      ProbeshareDriver:")] += " {}"
        path = directory / "env.yaml"
        path.write_text("\n".join(lines) + "\n")
        return labgrid.Environment(str(path))


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[Farm]:
    farm = Farm(tmp_path)
    try:
        yield farm
    finally:
        farm.stop()


def outside_client(port: int) -> Any:
    return ConnectHelper.session_with_chosen_probe(
        unique_id=f"remote:127.0.0.1:{port}",
        blocking=False,
        auto_open=False,
        target_override="cortex_m",
    )


def test_the_rest_of_the_package_does_not_import_labgrid() -> None:
    # pyOCD first: it loads the plugin through its entry point.
    check = (
        "import sys, pyocd.core.helpers, probeshare, probeshare.protocol, "
        "probeshare.management, probeshare.pyocd_plugin, probeshare.pyocd_plugin.probe\n"
        "loaded = [m for m in sys.modules if m == 'labgrid' or m.startswith('labgrid.')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True)


def test_exported_parameters_build_the_resource(tmp_path: Path) -> None:
    # What labgrid's client does with an exporter entry's parameters.
    env = labgrid.Environment(str(_empty_environment(tmp_path)))
    target = env.get_target()
    params = {"host": "lab1", "port": 5601, "serial": "0240000032044e45", "dap_port": 5701}
    resource = labgrid.factory.target_factory.make_resource(
        target, "ProbeshareProbe", "ProbeshareProbe", params
    )
    assert isinstance(resource, ProbeshareProbe)
    assert resource.uid == "probeshare:lab1:5601"
    assert (resource.dap_port, resource.management) == (5701, None)
    with pytest.raises(labgrid.exceptions.InvalidConfigError, match="ProbeshareProbe"):
        labgrid.factory.target_factory.make_resource(
            target, "ProbeshareProbe", "other", {**params, "port": "5601"}
        )


def _empty_environment(directory: Path) -> Path:
    path = directory / "empty.yaml"
    path.write_text("targets:\n  main: {}\nimports:\n  - probeshare.labgrid\n")
    return path


def test_activation_reserves_the_probe_for_this_user_until_deactivation(
    farm: Farm, tmp_path: Path
) -> None:
    target = farm.environment(tmp_path).get_target()
    driver: ProbeshareDriver = target.get_driver(ProbeshareDriver)
    try:
        [session] = farm.sessions()
        assert session.holder == f"{socket.gethostname()}/{getpass.getuser()} (labgrid)"
        assert driver.reservation == session
        assert driver.uid == f"probeshare:127.0.0.1:{session.port}"
        driver.write_memory(0x20000000, b"labgrid!")
        assert driver.read_memory(0x20000000, 8) == b"labgrid!"
        with pytest.raises(Exception, match="reserved by .*labgrid"):
            outside_client(farm.port).open()
    finally:
        target.deactivate(driver)
    assert farm.sessions() == []
    assert driver.uid == f"probeshare:127.0.0.1:{farm.port}"
    outsider = outside_client(farm.port)
    outsider.open()
    outsider.close()


def test_the_session_is_renewed_while_the_driver_is_active(farm: Farm, tmp_path: Path) -> None:
    target = farm.environment(tmp_path, session_ttl=3).get_target()
    driver: ProbeshareDriver = target.get_driver(ProbeshareDriver)
    try:
        [first] = farm.sessions()
        # Renewed every third of its time to live: it outlives it.
        wait_until("a renewal", lambda: farm.sessions()[0].expires > first.expires)
        wait_until("a second renewal", lambda: farm.sessions()[0].expires > first.expires)
        assert farm.sessions()[0].session == first.session
        assert driver.read_memory(0x0, 4)
    finally:
        target.deactivate(driver)


def test_activation_is_refused_while_another_client_uses_the_probe(
    farm: Farm, tmp_path: Path
) -> None:
    outsider = outside_client(farm.port)
    outsider.open()
    try:
        target = farm.environment(tmp_path).get_target()
        with pytest.raises(ManagementError) as refused:
            target.get_driver(ProbeshareDriver)
        assert refused.value.status == 409
        assert refused.value.answer["clients"], refused.value.answer
        assert farm.sessions() == []
        assert len(outsider.target.read_memory_block8(0x20000000, 4)) == 4
    finally:
        outsider.close()


def test_preempt_takes_the_probe_from_its_other_clients(farm: Farm, tmp_path: Path) -> None:
    # A wire client rather than pyOCD's: pyOCD's remote client spins on a
    # connection the server closed.
    outsider = protocol.Connection("127.0.0.1", farm.port)
    try:
        outsider.call("hello", 1)
        outsider.call("open")
        target = farm.environment(tmp_path, preempt=True).get_target()
        driver: ProbeshareDriver = target.get_driver(ProbeshareDriver)
        try:
            assert driver.reservation is not None
            assert [s.session for s in farm.sessions()] == [driver.reservation.session]
            with pytest.raises((protocol.ServerError, protocol.ConnectionLost)):
                outsider.call("read_dp", 0)
            assert driver.read_memory(0x0, 4)
        finally:
            target.deactivate(driver)
    finally:
        outsider.close()
