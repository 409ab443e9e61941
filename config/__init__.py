"""Settings, the composition root (the only place that wires adapters to the core), the CLI
and the admin-edited files (``connector.toml``, ``mappings.csv``)."""
