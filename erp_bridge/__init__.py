"""What an ERP calls: stock and price changes, accounted orders, and the order event feed.

The same operations are served over HTTP by ``webhook_app`` (``/erp/*``, CONTRACT §5) and as
plain Python functions by :class:`erp_bridge.hooks.ErpBridge` (CONTRACT §6) for an ERP module,
such as an Odoo addon, that imports the connector. Both validate through
:mod:`erp_bridge.payloads` and run the core's use cases; the slow work (talking to ML) happens
in jobs, so every call returns quickly.
"""

from erp_bridge.hooks import ErpBridge, EventPage

__all__ = ["ErpBridge", "EventPage"]
