"""The installed package is the one under test."""

import probeshare


def test_package_version_is_set() -> None:
    assert probeshare.__version__ == "0.1.0"
