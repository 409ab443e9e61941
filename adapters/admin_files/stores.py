"""``[accounts.NAME.stores]`` of connector.toml: which ML store each ERP warehouse is.

```toml
[accounts.up.stores]
north = { store_id = "70001", network_node_id = "ARP70001" }
```

Only accounts with multi-origin stock use it (`meli-connector accounts stores NAME` lists
the seller's stores from ML). A warehouse named here must be one the account sells from.
"""

from typing import Any, Protocol

from connector_core.domain.errors import Problem
from connector_core.domain.user_products import StoreRef

STORE_KEYS = ("store_id", "network_node_id")


class Locator(Protocol):
    def where(self, *path: str) -> str: ...


def parse_stores(account: str, section: Any, warehouses: list[str] | None, loc: Locator,
                 problems: list[Problem]) -> tuple[StoreRef, ...]:
    """The account's stores, every problem located (and none returned when there is one)."""
    if section is None:
        return ()
    where = loc.where("accounts", account, "stores")
    if not isinstance(section, dict):
        problems.append(Problem(where, f"account {account!r}: stores must be a table of "
                                       "warehouse = {store_id, network_node_id}"))
        return ()
    stores: list[StoreRef] = []
    found = len(problems)
    for warehouse, body in section.items():
        here = loc.where("accounts", account, "stores", warehouse)
        if not isinstance(body, dict) or set(body) != set(STORE_KEYS):
            problems.append(Problem(here, f"account {account!r}: store of warehouse "
                                          f"{warehouse!r} needs exactly store_id and "
                                          "network_node_id"))
            continue
        if warehouses is not None and warehouse not in warehouses:
            problems.append(Problem(here, f"account {account!r}: warehouse {warehouse!r} is "
                                          "not one of its warehouses"))
            continue
        store_id = body["store_id"]
        if isinstance(store_id, int) and not isinstance(store_id, bool):
            store_id = str(store_id)
        try:
            stores.append(StoreRef(warehouse, store_id, body["network_node_id"]))
        except (TypeError, ValueError) as exc:
            problems.append(Problem(here, f"account {account!r}: store of warehouse "
                                          f"{warehouse!r}: store_id must be ML's digits and "
                                          f"network_node_id its node id ({exc})"))
    ids = [s.store_id for s in stores]
    if len(set(ids)) != len(ids):
        problems.append(Problem(where, f"account {account!r}: two warehouses name the same "
                                       "store_id"))
    return tuple(stores) if len(problems) == found else ()
