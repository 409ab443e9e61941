"""Tryton's own checks of the module: views, access, XML, fields, menus."""

from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class MeliConnectorTestCase(CompanyTestMixin, ModuleTestCase):
    "The connector's Tryton module"
    module = "meli_connector"
    extras = ("product_kit",)


del ModuleTestCase
