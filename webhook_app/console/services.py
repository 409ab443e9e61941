"""What the console needs from the rest of the connector, handed in by the composition root
(``config/console.py``)."""

from collections.abc import Callable, Mapping
from datetime import datetime

from attrs import field, frozen

from connector_core.ports.console import ConsoleLog, ConsoleReads
from connector_core.ports.dead_letters import DeadLetter
from connector_core.services.explain import ListingStory
from webhook_app.proxies import Network


@frozen(kw_only=True)
class VerifyOutcome:
    summary: str
    problems: tuple[str, ...]
    warnings: tuple[str, ...]


@frozen(kw_only=True)
class ConsoleServices:
    """``operators``: name -> password hash. The actions return a one-line outcome, or raise
    :class:`~connector_core.domain.errors.ConnectorError` with a one-line reason.
    ``retry(None)`` retries every dead letter, ``retry("job-N")`` one."""

    operators: Mapping[str, str] = field(repr=False)
    session_key: bytes = field(repr=False)
    trusted_proxies: tuple[Network, ...] = ()
    reads: ConsoleReads
    log: ConsoleLog
    now: Callable[[], datetime]
    health: Callable[[], Mapping[str, tuple[bool, str]]]
    explain: Callable[[str, str], ListingStory | None]
    dead_letters: Callable[[], list[DeadLetter]]
    retry: Callable[[str | None], str]
    push_now: Callable[[str, str], str]
    reconcile_now: Callable[[], str]
    verify: Callable[[], VerifyOutcome]
    calls_per_minute: int  # what the shared rate limit allows
