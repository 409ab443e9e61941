"""The longest names and the largest numbers the connector stores (the SQL columns are sized
to them; a test checks)."""

MAX_SKU_LENGTH = 128
MAX_NAME_LENGTH = 64  # item ids, account and warehouse names
BIGINT_MAX = 2**63 - 1  # the largest whole number stored (ids, ML user and order ids)
