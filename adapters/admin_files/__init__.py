"""The admin's files (CONTRACT §3): ``config/connector.toml`` and ``config/mappings.csv``,
read and validated together before anything is applied; every problem is reported at once,
located."""
