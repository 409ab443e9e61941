"""Typed rows (SQLAlchemy 2 declarative): the database shape, translated to and from the
domain by the repositories. The domain classes never see these.

One module per group of tables; ``Base`` is in :mod:`adapters.sql.rows.base`. Importing any
of them imports this package first, which imports them all, so ``Base.metadata`` always
holds every table (the migrations' check and the tests' ``create_all`` rely on it).

Conventions: times are :class:`UtcDateTime`, money is :class:`DecimalText`; a listing without
a variation stores ``variation_id = 0`` (ML variation ids are positive) so the listing's
uniqueness holds on every database (NULLs are distinct in a unique index).
"""

from adapters.sql.rows import (  # noqa: F401  (every table on Base.metadata)
    accounts,
    after_sale,
    catalog,
    console,
    events,
    jobs,
    stock,
    user_products,
)
