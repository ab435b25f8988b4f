"""The Messanger benchmark: `python -m bench` (see bench/cli.py and docs/performance.md).

Kept empty on purpose: `python -m bench.relay` imports this package before it monkey-patches.
"""
