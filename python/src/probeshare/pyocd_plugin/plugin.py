"""`ProbesharePlugin`, what pyOCD's entry point ``pyocd.probe: probeshare``
names: it registers `probe.ProbeshareProbe` under the name ``probeshare``
and adds the plugin's session options."""

from __future__ import annotations

from typing import Any, List

from pyocd.core.options import OptionInfo
from pyocd.core.plugin import Plugin

from .listing import HOSTS_OPTION, MEMORY_HANDLES_OPTION


class ProbesharePlugin(Plugin):  # type: ignore[misc]
    """Registers `ProbeshareProbe` under the name ``probeshare``."""

    def load(self) -> Any:
        from .probe import ProbeshareProbe

        return ProbeshareProbe

    @property
    def name(self) -> str:
        return "probeshare"

    @property
    def description(self) -> str:
        return "Pipelining client for probeshare servers"

    @property
    def options(self) -> List[Any]:
        return [
            OptionInfo(
                HOSTS_OPTION,
                (str, list),
                None,
                "Servers whose probes `pyocd list` shows: HOST:PORT entries, comma-separated.",
            ),
            OptionInfo(
                MEMORY_HANDLES_OPTION,
                bool,
                True,
                "Ask a probeshare server for memory handles (one request per memory block) "
                "rather than moving memory with AP register requests.",
            ),
        ]
