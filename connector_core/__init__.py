"""The pure domain of the MercadoLibre <-> ERP connector.

Nothing in this package performs I/O or imports anything but the standard library and attrs
(an import-linter contract checks it). Adapters implement the ports in :mod:`connector_core.ports`;
the use cases in :mod:`connector_core.services` are written against those ports only.
"""
