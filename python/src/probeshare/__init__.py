"""Python clients of a probeshare server.

- `probeshare.protocol`: the wire client (pyOCD's remote probe protocol with
  probeshare's extensions), pipelined; no pyOCD needed.
- `probeshare.pyocd_plugin`: the pyOCD probe plugin behind
  ``-u probeshare:HOST:PORT``.
"""

__version__ = "0.1.0"
