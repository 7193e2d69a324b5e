"""labgrid support: the resource `ProbeshareProbe` and its driver `ProbeshareDriver`.

Importing this module registers both with labgrid's ``target_factory``; a
labgrid environment file loads it with ``imports: [probeshare.labgrid]``.
``probeshare export labgrid`` writes the exporter groups that describe each
probe of a farm as a `ProbeshareProbe`. labgrid is an optional dependency
(``pip install probeshare[labgrid]``); nothing else in the package imports
it.
"""

from .driver import ProbeshareDriver
from .resource import ProbeshareProbe

__all__ = ["ProbeshareDriver", "ProbeshareProbe"]
