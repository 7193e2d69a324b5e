"""Probes for `pyocd list`: those of the servers named by the session
option ``probeshare.hosts``.

pyOCD asks every probe plugin for its probes without a unique ID. The stock
``remote`` plugin lists none, since it knows no server. This one lists one
probe per ``HOST:PORT`` in ``probeshare.hosts`` (a comma-separated string,
or a list in pyocd.yaml) whose server answers, with its served probe's
description as the server reports it; a server that does not answer is
logged and left out. So ``pyocd list -O probeshare.hosts=lab:5555,lab:5556``
shows the probes behind those ports, each with the unique ID
``probeshare:HOST:PORT`` that selects it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Type

from .. import protocol

if TYPE_CHECKING:
    from .probe import ProbeshareProbe

LOG = logging.getLogger(__name__)

HOSTS_OPTION = "probeshare.hosts"
#: Whether the plugin asks for memory handles (on unless set false).
MEMORY_HANDLES_OPTION = "probeshare.memory_handles"

#: A listing must not hang `pyocd list` on a server that does not answer.
LIST_TIMEOUT_S = 3.0

#: What a listed probe shows, read without opening it.
_LISTED_PROPERTIES = ("unique_id", "description", "vendor_name", "product_name")


def configured_hosts(value: Any) -> List[str]:
    """The ``HOST:PORT`` entries of the option's value."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _session_hosts() -> List[str]:
    from pyocd.core.session import Session

    return configured_hosts(Session.get_current().options.get(HOSTS_OPTION))


def query(address: str, timeout: float = LIST_TIMEOUT_S) -> Optional[Dict[str, Any]]:
    """The served probe's properties, or None if the server does not answer."""
    host, port = protocol.parse_address(address)
    try:
        connection = protocol.Connection(host, port, connect_timeout=timeout)
    except OSError as e:
        LOG.warning("probeshare server %s: %s", address, e)
        return None
    try:
        connection.set_timeout(timeout)
        hello = connection.send("hello", protocol.PROTOCOL_VERSION)
        pending = {name: connection.send("readprop", name) for name in _LISTED_PROPERTIES}
        connection.value(hello)
        return {name: connection.value(p) for name, p in pending.items()}
    except (OSError, protocol.ConnectionLost, protocol.ServerError) as e:
        LOG.warning("probeshare server %s: %s", address, e)
        return None
    finally:
        connection.close()


def listed_probes(cls: Type["ProbeshareProbe"]) -> List["ProbeshareProbe"]:
    probes = []
    for address in _session_hosts():
        properties = query(address)
        if properties is not None:
            probes.append(cls(address, listed=properties))
    return probes
