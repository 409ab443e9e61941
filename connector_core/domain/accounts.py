"""Seller accounts and their OAuth tokens."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from attrs import field, frozen, validators

from connector_core.domain._validators import aware
from connector_core.domain.limits import BIGINT_MAX
from connector_core.domain.sites import SITES
from connector_core.domain.user_products import StoreRef


def _stores(values: Iterable[StoreRef]) -> tuple[StoreRef, ...]:
    return tuple(values)


@frozen
class Account:
    """A seller account as the admin configured it (``[accounts.NAME]``).

    ``warehouses`` lists the ERP warehouses this account sells from; None means all of them.
    ``stores`` maps ERP warehouses to the seller's ML stores (multi-origin stock).
    """

    name: str = field(validator=validators.matches_re(r"^[A-Za-z0-9_.-]{1,64}$"))
    user_id: int = field(validator=[validators.ge(1), validators.le(BIGINT_MAX)])
    site_id: str = field(validator=validators.in_(frozenset(SITES)))
    warehouses: frozenset[str] | None = None
    stores: tuple[StoreRef, ...] = field(default=(), converter=_stores)


@frozen
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime = field(validator=aware)
    user_id: int | None = None
    scope: str = ""

    def expires_within(self, now: datetime, margin: timedelta) -> bool:
        return now + margin >= self.expires_at


@frozen
class AccountStatus:
    """What ``accounts list`` shows: never a token."""

    account: Account
    connected: bool
    needs_reconnect: bool = False
    nickname: str | None = None
    expires_at: datetime | None = None
    reason: str = ""
