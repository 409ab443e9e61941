"""Tryton records for the module's tests: a company, the mug and its kit, an ML account, and
helpers to receive stock and to run the queued tasks as Tryton does after a commit."""

import random
from decimal import Decimal

from trytond.pool import Pool
from trytond.transaction import Transaction

from .connector_world import ACCOUNT, KIT, MUG


def location(code):
    location, = Pool().get("stock.location").search([("code", "=", code)])
    return location


def setup_catalog():
    """The company (to use inside ``set_company``), the mug (average cost, list price
    7000) and the kit of two mugs, sold by a manual-invoicing sale configuration."""
    pool = Pool()
    Category = pool.get("product.category")
    Uom = pool.get("product.uom")
    Template = pool.get("product.template")
    Product = pool.get("product.product")
    Component = pool.get("product.component")
    Configuration = pool.get("sale.configuration")

    config = Configuration(1)
    config.sale_invoice_method = "manual"
    config.save()
    unit, = Uom.search([("name", "=", "Unit")])
    category = Category(name="Goods", accounting=True)
    category.save()

    def product(name, code, kind, **values):
        template = Template(name=name, type=kind, default_uom=unit, salable=True,
                            sale_uom=unit, list_price=Decimal("7000"), account_category=category,
                            **values)
        template.save()
        variant = Product(template=template, suffix_code=code)
        variant.save()
        return variant

    mug = product("Mug", MUG, "goods", cost_price_method="average")
    kit = product("Two mugs", KIT, "kit")
    Component(parent_template=kit.template, product=mug, quantity=2, unit=unit).save()
    return mug, kit


def create_account(company, mode, url=None, token=None):
    Account = Pool().get("meli.account")
    Party = Pool().get("party.party")
    party = Party(name="MercadoLibre customer", addresses=[Pool().get("party.address")()])
    party.save()
    warehouse = location("WH")
    account = Account(name=ACCOUNT, company=company, mode=mode, connector_url=url,
                      connector_token=token, warehouses=[warehouse], sale_warehouse=warehouse,
                      party=party)
    account.save()
    return account


def receive(product, quantity, unit_price, company):
    """Stock arrives from a supplier into the warehouse (a done move)."""
    Move = Pool().get("stock.move")
    move = Move(product=product, quantity=quantity, unit=product.default_uom,
                from_location=location("SUP"), to_location=location("STO"),
                company=company, unit_price=Decimal(unit_price), currency=company.currency)
    move.save()
    Move.do([move])
    return move


def run_tasks(shuffle=True):
    """Run the queued tasks as the dispatcher does after a commit; in a random order, since
    neither the dispatcher nor a worker keeps the order they were queued in."""
    Queue = Pool().get("ir.queue")
    transaction = Transaction()
    while transaction.tasks:
        tasks = list(transaction.tasks)
        transaction.tasks.clear()
        if shuffle:
            random.shuffle(tasks)
        for task_id in tasks:
            Queue(task_id).run()
