"""The ERP's prices, the pricing rules and competitors' prices in SQL
(:class:`~connector_core.ports.prices.PriceRepository`)."""

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, or_, select, tuple_

from adapters.sql.base import (
    Repo,
    chunks,
    insert_for,
    variation_key,
)
from adapters.sql.rows.catalog import CompetitorPriceRow, ErpPriceRow, PricingRuleRow
from connector_core.domain.mapping import Listing
from connector_core.domain.prices import ErpPrice
from connector_core.domain.pricing import PricingPolicy, PricingRule


def _rule_from_row(row: PricingRuleRow) -> PricingRule:
    return PricingRule(min_markup=row.min_markup, target_markup=row.target_markup,
                       max_price=row.max_price, max_markup=row.max_markup,
                       fee_rate=row.fee_rate, fixed_fee=row.fixed_fee,
                       shipping_cost=row.shipping_cost, min_change=row.min_change,
                       undercut=row.undercut, strategy=row.strategy)


def rule_values(rule: PricingRule) -> dict[str, Any]:
    return {"min_markup": rule.min_markup, "target_markup": rule.target_markup,
            "max_price": rule.max_price, "max_markup": rule.max_markup,
            "fee_rate": rule.fee_rate, "fixed_fee": rule.fixed_fee,
            "shipping_cost": rule.shipping_cost, "min_change": rule.min_change,
            "undercut": rule.undercut,
            "strategy": None if rule.strategy is None else rule.strategy.value}


def policy_rows(policy: PricingPolicy) -> list[dict[str, Any]]:
    rows = [{"scope": "default", "key": "", **rule_values(policy.default)}]
    rows += [{"scope": "sku", "key": sku, **rule_values(rule)}
             for sku, rule in sorted(policy.by_sku.items())]
    rows += [{"scope": "listing", "key": str(listing), **rule_values(rule)}
             for listing, rule in sorted(policy.by_listing.items())]
    return rows


def _merge_field(value: Any, stamp: Any, new_value: Any, new_stamp: Any) -> tuple[Any, Any]:
    """SQL for one field of :meth:`ErpPrice.merged_into`, against the row as it is now."""
    newer = new_value.is_not(None) & or_(stamp.is_(None), new_stamp.is_(None), new_stamp > stamp)
    return case((newer, new_value), else_=value), case((newer, new_stamp), else_=stamp)


class SqlPrices(Repo):
    def erp_prices(self, skus: Collection[str]) -> dict[str, ErpPrice]:
        found: dict[str, ErpPrice] = {}
        for batch in chunks(sorted(set(skus))):
            for r in self._all(select(ErpPriceRow).where(ErpPriceRow.sku.in_(batch))):
                found[r.sku] = ErpPrice(sku=r.sku, cost=r.cost, cost_as_of=r.cost_as_of,
                                        list_price=r.list_price,
                                        list_price_as_of=r.list_price_as_of)
        return found

    def save_erp_price(self, price: ErpPrice) -> None:
        """Upsert merging field by field against the stored row *in the statement*, so two
        concurrent updates (one for the cost, one for the list price) both survive."""
        t = ErpPriceRow
        stmt = insert_for(self.session, t).values(
            sku=price.sku, cost=price.cost, cost_as_of=price.cost_as_of,
            list_price=price.list_price, list_price_as_of=price.list_price_as_of)
        ex = stmt.excluded
        cost, cost_as_of = _merge_field(t.cost, t.cost_as_of, ex.cost, ex.cost_as_of)
        list_price, list_price_as_of = _merge_field(t.list_price, t.list_price_as_of,
                                                    ex.list_price, ex.list_price_as_of)
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=[t.sku],
            set_={"cost": cost, "cost_as_of": cost_as_of,
                  "list_price": list_price, "list_price_as_of": list_price_as_of}))

    def policy(self) -> PricingPolicy:
        default = PricingRule()
        by_sku: dict[str, PricingRule] = {}
        by_listing: dict[Listing, PricingRule] = {}
        for row in self._all(select(PricingRuleRow)):
            rule = _rule_from_row(row)
            if row.scope == "default":
                default = rule
            elif row.scope == "sku":
                by_sku[row.key] = rule
            else:
                by_listing[Listing.parse(row.key)] = rule
        return PricingPolicy(default=default, by_sku=by_sku, by_listing=by_listing)

    def competitor_prices(self, listings: Collection[Listing]) -> dict[Listing, Decimal]:
        found: dict[Listing, Decimal] = {}
        keys = {(li.account, li.item_id, variation_key(li.variation_id)): li for li in listings}
        for batch in chunks(sorted(keys)):
            stmt = select(CompetitorPriceRow).where(
                tuple_(CompetitorPriceRow.account, CompetitorPriceRow.item_id,
                       CompetitorPriceRow.variation_id).in_(batch))
            for r in self._all(stmt):
                found[keys[(r.account, r.item_id, r.variation_id)]] = r.price
        return found

    def save_competitor_price(self, listing: Listing, price: Decimal,
                              as_of: datetime | None = None) -> None:
        stmt = insert_for(self.session, CompetitorPriceRow).values(
            account=listing.account, item_id=listing.item_id,
            variation_id=variation_key(listing.variation_id), price=price, as_of=as_of)
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=[CompetitorPriceRow.account, CompetitorPriceRow.item_id,
                            CompetitorPriceRow.variation_id],
            set_={"price": stmt.excluded.price, "as_of": stmt.excluded.as_of}))
