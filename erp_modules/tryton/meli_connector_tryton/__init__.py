"""The connector's Tryton module; trytond registers its classes from ``tryton.cfg``."""
