"""Ports: what the core needs from the outside world, as ``typing.Protocol``\\ s, one module
per port.

Adapters (``adapters/``) implement them against ML, SQL and Redis; ``tests/fakes.py``
implements them in memory. Every contract an adapter must keep is in the docstrings.
"""
