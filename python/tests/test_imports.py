"""pyOCD loads the plugin while pyOCD itself is being imported; any order of
imports must work (a cycle would break `import probeshare.pyocd_plugin` or
pyOCD's own start-up)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = (
    "from pyocd.probe.aggregator import PROBE_CLASSES; "
    "assert PROBE_CLASSES['probeshare'].__name__ == 'ProbeshareProbe'"
)


@pytest.mark.parametrize(
    "first",
    [
        "pyocd",
        "probeshare.pyocd_plugin",
        "probeshare.pyocd_plugin.probe",
    ],
)
def test_the_plugin_registers_whatever_is_imported_first(first: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {first}; {CHECK}"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
