"""Use cases: plain functions taking their ports as keyword arguments.

Each one runs in a single unit of work and *decides*; the adapters do the talking. Work that
must happen later (pushing an item to ML, fetching an order) is added to the unit of work's
job outbox, so it commits or rolls back together with the state change that caused it.
"""
