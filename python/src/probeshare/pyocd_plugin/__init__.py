"""The pyOCD probe plugin ``probeshare`` (entry point group ``pyocd.probe``).

``pyocd ... -u probeshare:HOST:PORT`` and
``ConnectHelper.session_with_chosen_probe(unique_id="probeshare:HOST:PORT")``
select a probe served by a probeshare server at HOST:PORT. The probe class
is `probe.ProbeshareProbe`; `pyocd list -O probeshare.hosts=HOST:PORT,...`
lists the probes of those servers (`listing`).
"""

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
