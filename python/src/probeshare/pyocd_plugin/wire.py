"""What a plugin session knows of the wire protocol without asking.

pyOCD reads the probe's `wire_protocol` before and after it connects, and
again while connecting and disconnecting; each read is a round trip for
its stock client. Three facts spare most of them:

- The read `open` sends along with `hello` answers pyOCD's first question
  when it says the wire is down (unless a `connect` or `disconnect` went
  out since): pyOCD then connects, which counts this client. When it says
  the wire is up it is read again: the server answered it before this
  client's `open` had run, and only a client that has opened is counted as
  connected by reading the wire up (docs/protocol.md, Sharing, rule 3);
  without that count the wire would go down under it when the client that
  brought it up leaves.
- A wire seen up (after `open`) stays up until this client sends `connect`
  or `disconnect`; later reads need no round trip.
- After a `connect` that succeeded, the protocol follows from the request
  when it named one, or when the probe supports only one (the server
  connects no other, and a wire another client brought up is one of
  those).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from pyocd.probe.debug_probe import DebugProbe

from ..protocol import Pending


class WireState:
    def __init__(self) -> None:
        #: The last `connect` or `disconnect` sent.
        self.change: Optional[Pending] = None
        #: The protocol that `connect` named ("DEFAULT" included).
        self.asked: Optional[str] = None
        #: The protocol known to be up for this client; None: ask.
        self.known: Any = None
        self._early: Optional[Pending] = None

    def read_early(self, pending: Pending) -> None:
        """The `wire_protocol` read sent with `open`."""
        self._early = pending

    def take_early_read(self) -> Optional[Pending]:
        """The early read, once, if nothing changed the wire since."""
        early, self._early = self._early, None
        return early if self.change is None else None

    def changing(self, request: str, args: Sequence[Any], pending: Pending) -> None:
        """A `connect` or `disconnect` went out."""
        self.asked = str(args[0]) if request == "connect" and args else None
        self.known = None
        self.change = pending

    def connected(self, supported: Sequence[str]) -> None:
        """The last change succeeded; `supported` are the probe's protocols."""
        if self.asked is None:
            return
        if self.asked != "DEFAULT":
            self.known = DebugProbe.Protocol[self.asked]
            return
        real = [name for name in supported if name != "DEFAULT"]
        if len(real) == 1:
            self.known = DebugProbe.Protocol[real[0]]

    def seen(self, name: Optional[str]) -> Any:
        """The server's answer; a wire up is remembered."""
        if name is None:
            return None
        self.known = DebugProbe.Protocol[name]
        return self.known
