"""The API's one error shape: `{"error": {"code": "...", "message": "..."}}`, for every failure."""

import logging
from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the client should see, with its HTTP status and a stable machine-readable code."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class DependencyUnavailable(ApiError):
    """Redis or LiveKit could not serve a request: 503, naming which one."""

    def __init__(self, dependency: str, detail: str = "") -> None:
        message = f"{dependency} is unavailable" + (f": {detail}" if detail else "")
        super().__init__(503, f"{dependency.lower()}_unavailable", message)
        self.dependency = dependency


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
}


def _describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, object]]]:
    details = []
    for err in exc.errors():
        location = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
        details.append({"field": location or "body", "problem": err.get("msg", "invalid")})
    if any(err.get("type") == "json_invalid" for err in exc.errors()):
        return "The request body is not valid JSON", details
    summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details)
    return f"Invalid request: {summary}", details


# What FastAPI raises (as a 400) when it cannot even decode a body as JSON, e.g. invalid UTF-8.
_UNPARSABLE_BODY = "There was an error parsing the body"


def _routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """The app's routes, including those of routers it includes (FastAPI nests them)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _routes(included.routes) if included is not None else [route]


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path: one path can have several routes."""
    methods: set[str] = set()
    for route in _routes(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _describe_validation(exc)
        return JSONResponse(
            error_body("validation_error", message, details=details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
            return JSONResponse(
                error_body("validation_error", "The request body is not valid JSON", details=[]),
                status_code=422,
            )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        code = _STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RedisError)
    async def _redis_error(request: Request, exc: RedisError) -> JSONResponse:
        log.warning(
            "redis unavailable", extra={"path": request.url.path, "error": type(exc).__name__}
        )
        return JSONResponse(error_body("redis_unavailable", "Redis is unavailable"), 503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return JSONResponse(error_body("internal_error", "Internal server error"), 500)
