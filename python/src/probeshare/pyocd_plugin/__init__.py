"""The pyOCD probe plugin ``probeshare`` (entry point group ``pyocd.probe``).

``pyocd ... -u probeshare:HOST:PORT`` and
``ConnectHelper.session_with_chosen_probe(unique_id="probeshare:HOST:PORT")``
select a probe served by a probeshare server at HOST:PORT. The probe class
is `probe.ProbeshareProbe`; `pyocd list -O probeshare.hosts=HOST:PORT,...`
lists the probes of those servers (`listing`).
"""

# pyOCD loads its probe plugins while it is first imported, and so imports
# this package's `plugin` module from within that import. Importing pyOCD
# first here means whichever of pyOCD and this package is imported first,
# pyOCD is complete before `probe` needs it.
import pyocd  # noqa: F401

from .plugin import ProbesharePlugin
from .probe import ProbeshareProbe

__all__ = ["ProbesharePlugin", "ProbeshareProbe"]
