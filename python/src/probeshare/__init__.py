"""Python clients of a probeshare server.

- `probeshare.protocol`: the wire client (pyOCD's remote probe protocol with
  probeshare's extensions), pipelined; no pyOCD needed.
- `probeshare.pyocd_plugin`: the pyOCD probe plugin behind
  ``-u probeshare:HOST:PORT``.
- `probeshare.management`: sessions through the management interface
  (standard library only).
- `probeshare.session`: a session library to script a probe (`Session`,
  `AsyncSession`), spawning the server if asked.
- `probeshare.labgrid`: labgrid's resource and driver for probeshare probes
  (needs the extra ``labgrid``; the only module that imports labgrid).
"""

__version__ = "0.1.0"
