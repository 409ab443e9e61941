"""MercadoLibre's sites: the one table of what the connector knows about each.

``currency`` is the site's own: costs, pricing rules and price steps are in it.
``auth_host`` is where a seller of the site authorises an application (None: the connector
knows no authorization host for it, and cannot link its accounts by OAuth).
"""

from collections.abc import Mapping

from attrs import frozen


@frozen
class Site:
    id: str
    currency: str
    auth_host: str | None = None


def _table(*sites: Site) -> Mapping[str, Site]:
    return {site.id: site for site in sites}


SITES: Mapping[str, Site] = _table(
    Site("MLA", "ARS", "auth.mercadolibre.com.ar"),
    Site("MLB", "BRL", "auth.mercadolivre.com.br"),
    Site("MLM", "MXN", "auth.mercadolibre.com.mx"),
    Site("MLC", "CLP", "auth.mercadolibre.cl"),
    Site("MCO", "COP", "auth.mercadolibre.com.co"),
    Site("MLU", "UYU", "auth.mercadolibre.com.uy"),
    Site("MLV", "VES", "auth.mercadolibre.com.ve"),
    Site("MPA", "USD", "auth.mercadolibre.com.pa"),
    Site("MPE", "PEN", "auth.mercadolibre.com.pe"),
    Site("MRD", "DOP", "auth.mercadolibre.com.do"),
    Site("MCR", "CRC", "auth.mercadolibre.com.cr"),
    Site("MEC", "USD", "auth.mercadolibre.com.ec"),
    Site("MBO", "BOB"),
    Site("MPY", "PYG"),
    Site("MGT", "GTQ"),
    Site("MHN", "HNL"),
    Site("MNI", "NIO"),
    Site("MSV", "USD"),
)
