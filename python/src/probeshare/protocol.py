"""The wire client: pyOCD's remote probe protocol (docs/protocol.md of the
probeshare repository), with requests sent without waiting and their
responses collected in order."""
