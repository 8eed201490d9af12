"""The inspector's access check: a bearer token equal to `INSPECTOR_TOKEN`, or 401.

The inspector shows every user's conversations, so it is off unless an operator configured a
token; the per-user endpoints of the voice page do not use this."""

import secrets
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .dependencies import Services
from .errors import ApiError

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="InspectorToken",
    description="The operator token configured as INSPECTOR_TOKEN",
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="inspector"'}


async def require_operator(
    services: Services,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    token = services.settings.inspector_token
    if token is None:
        raise ApiError(
            401,
            "inspector_disabled",
            "The inspector is off: set INSPECTOR_TOKEN (a random string, 32+ characters in "
            "production) in session-api's environment and restart it",
            headers=_CHALLENGE,
        )
    if credentials is None or not secrets.compare_digest(
        credentials.credentials.encode(), token.get_secret_value().encode()
    ):
        raise ApiError(
            401,
            "unauthorized",
            "Send the operator token as 'Authorization: Bearer <INSPECTOR_TOKEN>'",
            headers=_CHALLENGE,
        )
