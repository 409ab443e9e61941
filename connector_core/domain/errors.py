"""Domain errors. Whether a marketplace failure is worth retrying is decided here, at the port."""

from collections.abc import Sequence

from attrs import frozen


class ConnectorError(Exception):
    """Base class of every error the connector raises on purpose."""


class InvalidInput(ConnectorError):
    """Input from an entry point (hook, webhook, CLI, config file) that cannot be accepted."""


@frozen
class Problem:
    """One validation problem, located where the admin can find it.

    ``where`` is free text such as ``config/mappings.csv:12:3`` or ``kits."KIT-1"``;
    ``kit`` names the kit a problem is about, for a reader that can locate it better (the
    line of the kit in ``connector.toml``).
    """

    where: str
    message: str
    kit: str | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class MappingInvalid(InvalidInput):
    """The mapping table (rows and kits) breaks an invariant; nothing was applied."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class MarketplaceError(ConnectorError):
    """A call to the marketplace failed."""


class MarketplaceUnavailable(MarketplaceError):
    """Retryable: timeout, connection error, 429 or 5xx. ``retry_after`` in seconds when known."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class MarketplaceRejected(MarketplaceError):
    """Permanent: ML refused the request (4xx validation). Never retried; recorded with causes."""

    def __init__(self, message: str, *, status: int, error: str = "",
                 causes: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.causes = tuple(causes)


class MarketplaceNotFound(MarketplaceRejected):
    """The resource (item, order, variation) does not exist on ML."""

    def __init__(self, message: str, *, error: str = "not_found") -> None:
        super().__init__(message, status=404, error=error)


class AuthRevoked(MarketplaceError):
    """The account's grant is gone (``invalid_grant``): it must be reconnected by a person."""

    def __init__(self, account: str, message: str = "") -> None:
        super().__init__(
            f"account {account!r} needs reconnecting: {message or 'ML answered invalid_grant'}; "
            f"run `meli-connector accounts connect {account}`"
        )
        self.account = account


class UnknownAccount(InvalidInput):
    """An account name or ML user id that is not configured."""
