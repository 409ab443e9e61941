"""ML's error bodies, as the sandbox answers them (ml_api.md §6.2)."""

from typing import Any


class MlApiError(Exception):
    """Raised inside the sandbox; rendered as ML's ``{message, error, status, cause}``."""

    def __init__(self, status: int, error: str, message: str,
                 cause: list[Any] | None = None, *, oauth: bool = False,
                 headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.cause = [] if cause is None else cause
        self.oauth = oauth
        self.headers = headers or {}
        self.extra = extra or {}  # endpoint-specific keys, e.g. failed_shipments

    def body(self) -> dict[str, Any]:
        if self.oauth:  # the OAuth server says error_description instead of message
            return {"error_description": self.message, "error": self.error,
                    "status": self.status, "cause": self.cause}
        return {"message": self.message, "error": self.error, "status": self.status,
                "cause": self.cause, **self.extra}


def validation_error(code: str, message: str, *, cause_id: int | None = None,
                     references: list[str] | None = None) -> MlApiError:
    cause: dict[str, Any] = {"department": "items", "cause_id": cause_id, "type": "error",
                             "code": code, "references": references or [], "message": message}
    return MlApiError(400, "validation_error", "Validation error", [cause])


def not_found(message: str, error: str = "not_found") -> MlApiError:
    return MlApiError(404, error, message, None)


def forbidden(message: str = "At least one policy returned UNAUTHORIZED.") -> MlApiError:
    return MlApiError(403, "forbidden", message, [])


def bad_request(message: str, error: str = "bad_request") -> MlApiError:
    return MlApiError(400, error, message, [])


def invalid_token() -> MlApiError:
    return MlApiError(401, "unauthorized", "invalid access token", [])


def invalid_grant() -> MlApiError:
    return MlApiError(400, "invalid_grant",
                      "Error validating grant. Your authorization code or refresh token may be "
                      "expired or it was already used", [], oauth=True)


TOO_MANY_REQUESTS = {"message": "Too Many Requests", "error": "too_many_requests",
                     "status": 429, "cause": []}
SERVER_ERRORS = {  # and the one client error a forced fault often stands for
    409: ("conflict", "Version mismatch"),
    500: ("internal_server_error", "Internal server error"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("service_not_available", "Service not available"),
    504: ("gateway_timeout", "Gateway timeout"),
}
