"""The configured ML accounts."""

from typing import Protocol

from connector_core.domain.accounts import Account


class AccountRepository(Protocol):
    def get(self, name: str) -> Account | None: ...

    def by_user_id(self, user_id: int) -> Account | None: ...

    def list(self) -> list[Account]: ...
