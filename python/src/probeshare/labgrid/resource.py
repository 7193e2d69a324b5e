"""`ProbeshareProbe`: a probe served by a probeshare server, as labgrid sees it.

labgrid's exporter exports the class by name with the parameters of the
exporter file (``probeshare export labgrid`` writes them); the coordinator
hands them to clients, which build this resource from them once this module
is imported.
"""

from __future__ import annotations

from typing import Optional

import attr
from labgrid.factory import target_factory
from labgrid.resource import Resource


@target_factory.reg_resource
@attr.s(eq=False)
class ProbeshareProbe(Resource):  # type: ignore[misc]
    """One probe port of a probeshare server.

    - `host`, `port`: where the probe is served (pyOCD's
      ``probeshare:HOST:PORT`` or ``remote:HOST:PORT``);
    - `serial`: the probe's id in the server's management interface
      (``GET /probes``), the configuration entry's ``serial``;
    - `dap_port`: its CMSIS-DAP over TCP port for OpenOCD, if it has one;
    - `management`: ``HOST:PORT`` of the server's management interface,
      where `ProbeshareDriver` opens a session for the place's holder; without
      it the driver connects to the probe port as any client would.
    """

    host: str = attr.ib(validator=attr.validators.instance_of(str))
    port: int = attr.ib(validator=attr.validators.instance_of(int))
    serial: str = attr.ib(validator=attr.validators.instance_of(str))
    dap_port: Optional[int] = attr.ib(
        default=None, validator=attr.validators.optional(attr.validators.instance_of(int))
    )
    management: Optional[str] = attr.ib(
        default=None, validator=attr.validators.optional(attr.validators.instance_of(str))
    )

    @property
    def uid(self) -> str:
        """pyOCD's unique id of the probe port, through the probeshare plugin."""
        return f"probeshare:{self.host}:{self.port}"
