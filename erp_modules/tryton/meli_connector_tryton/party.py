"""The ML buyer behind a party, so repeat buyers get one party."""

from trytond.model import fields
from trytond.pool import PoolMeta


class Party(metaclass=PoolMeta):
    __name__ = "party.party"

    meli_buyer_id = fields.Char("ML Buyer", readonly=True)
