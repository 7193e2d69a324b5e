"""The pyOCD probe plugin ``probeshare`` (entry point group ``pyocd.probe``)."""
