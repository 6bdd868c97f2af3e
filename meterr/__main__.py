"""`python -m meterr`: the same as the `meterr` command."""

from __future__ import annotations

from meterr.cli import main

main()
