"""Events on a connection of their own (docs/protocol.md, "Events").

`session.events` opens a second connection to the probe port, sends
`subscribe` for every kind, and reads the stream on a daemon thread,
calling the callbacks registered with `on(kind, callback)` (kind: an event
kind such as ``"target"``, or ``"*"`` for all) for each event line.
`on_halt` and `on_reset` are `target` events whose ``what`` is ``halted``
or ``reset``, excluding the stream's opening ``current`` lines (they say
how things are, not that something happened). Callbacks run on the reader
thread: keep them short; an exception in one is logged and the stream
goes on.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from .errors import ConnectionClosed
from .wire import Wire

LOG = logging.getLogger(__name__)

KINDS = ["probe", "client", "lock", "session", "target"]
ALL = "*"


@dataclass(frozen=True)
class Event:
    """One event line: `kind` (its ``event``), `what`, and every field."""

    kind: str
    what: Optional[str]
    probe: Optional[str]
    time: str
    current: bool
    fields: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, line: Dict[str, Any]) -> "Event":
        return cls(
            kind=str(line.get("event")),
            what=None if line.get("what") is None else str(line["what"]),
            probe=None if line.get("probe") is None else str(line["probe"]),
            time=str(line.get("time", "")),
            current=bool(line.get("current", False)),
            fields=dict(line),
        )


Callback = Callable[[Event], None]


class Events:
    """`session.events`: callbacks for the probe's events."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._wire = Wire(host, port, timeout, [])
        answer = self._wire.call("subscribe", KINDS)
        self.probe = str(answer["probe"])
        self._callbacks: Dict[str, List[Callback]] = {}
        self._lock = threading.Lock()
        self._closed = False
        #: Why the stream ended (None while it runs).
        self.ended: Optional[str] = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"probeshare events of {self.probe}")
        self._thread.start()

    def on(self, kind: str, callback: Callback) -> None:
        """Calls `callback` for every event of `kind` (``"*"``: of any kind)."""
        with self._lock:
            self._callbacks.setdefault(kind, []).append(callback)

    def on_halt(self, callback: Callback) -> None:
        """Calls `callback` whenever the core halts."""
        self.on("target", _when_happens("halted", callback))

    def on_reset(self, callback: Callback) -> None:
        """Calls `callback` whenever the core is reset."""
        self.on("target", _when_happens("reset", callback))

    def _run(self) -> None:
        try:
            for line in self._wire.lines():
                try:
                    event = Event.from_json(json.loads(line))
                except (ValueError, TypeError, AttributeError):
                    LOG.warning("not an event line: %r", line[:200])
                    continue
                self._dispatch(event)
            self.ended = "the server closed the stream"
        except ConnectionClosed as closed:
            self.ended = "closed" if self._closed else str(closed)

    def _dispatch(self, event: Event) -> None:
        with self._lock:
            callbacks = self._callbacks.get(event.kind, []) + self._callbacks.get(ALL, [])
        for callback in callbacks:
            try:
                callback(event)
            except Exception:  # a callback's bug must not end the stream
                LOG.exception("event callback %r failed on %s", callback, event)

    def close(self) -> None:
        self._closed = True
        self._wire.close()
        self._thread.join(5.0)


def _when_happens(what: str, callback: Callback) -> Callback:
    def filtered(event: Event) -> None:
        if event.what == what and not event.current:
            callback(event)

    return filtered
