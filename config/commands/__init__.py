"""Subcommand modules; each defines ``register(subparsers)`` and sets ``handler`` on its parser.

A handler takes the parsed ``argparse.Namespace`` and returns the exit code. Bad input raises
:class:`connector_core.domain.errors.InvalidInput` (printed as one line, exit code 2).
"""
