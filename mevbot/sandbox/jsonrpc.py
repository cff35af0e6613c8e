"""JSON-RPC 2.0 plumbing shared by the Solana RPC, the PubSub socket and the block engine.

One parser and one dispatcher, so every endpoint answers malformed input the same way: the
standard codes (-32700 parse error, -32600 invalid request, -32601 method not found, -32602
invalid params), a message that says what was wrong, and the server keeps serving. A handler bug
becomes -32603 for that request alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

log = logging.getLogger(__name__)

Handler = Callable[[list[Any]], Awaitable[Any]]


class RpcError(Exception):
    """An error answer for one request: `code`, `message` and optional `data`, as JSON-RPC 2.0 has it."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        super().__init__(message)

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, f"Invalid params: {message}")


def error_response(error: RpcError, request_id: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}


class Dispatcher:
    """Routes requests (single or batch) to async handlers that take the positional params list."""

    def __init__(self, methods: Mapping[str, Handler]) -> None:
        self._methods = dict(methods)

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(self._methods)

    async def handle_text(self, text: str | bytes) -> Any:
        """The response document for a request body, or None when it held only notifications."""
        try:
            document = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            return error_response(RpcError(PARSE_ERROR, f"Parse error: {exc}"))
        if isinstance(document, list):
            if not document:
                return error_response(RpcError(INVALID_REQUEST, "Invalid request: empty batch"))
            answers = [await self.handle_request(item) for item in document]
            answers = [answer for answer in answers if answer is not None]
            return answers or None
        return await self.handle_request(document)

    async def handle_request(self, request: Any) -> dict[str, Any] | None:
        request_id = request.get("id") if isinstance(request, dict) else None
        try:
            method, params = _validate(request)
            handler = self._methods.get(method)
            if handler is None:
                raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
            result = await handler(params)
        except RpcError as error:
            return error_response(error, request_id)
        except Exception:
            log.exception(
                "handler for %r failed", request.get("method") if isinstance(request, dict) else None
            )
            return error_response(RpcError(INTERNAL_ERROR, "Internal error"), request_id)
        if isinstance(request, dict) and "id" not in request:
            return None  # a notification: no answer
        return {"jsonrpc": "2.0", "result": result, "id": request_id}


def _validate(request: Any) -> tuple[str, list[Any]]:
    if not isinstance(request, dict):
        raise RpcError(INVALID_REQUEST, "Invalid request: not a JSON object")
    if request.get("jsonrpc") != "2.0":
        raise RpcError(INVALID_REQUEST, 'Invalid request: "jsonrpc" must be "2.0"')
    method = request.get("method")
    if not isinstance(method, str):
        raise RpcError(INVALID_REQUEST, 'Invalid request: "method" must be a string')
    params = request.get("params", [])
    if params is None:
        params = []
    if not isinstance(params, list):
        raise invalid_params('"params" must be an array')
    return method, params


# --- parameter helpers ------------------------------------------------------------------------


def positional(params: list[Any], required: int, optional: int = 0) -> list[Any]:
    """`params` padded with None to `required + optional`, or -32602 if the count is off."""
    if not required <= len(params) <= required + optional:
        expected = str(required) if not optional else f"{required} to {required + optional}"
        raise invalid_params(f"expected {expected} parameters, got {len(params)}")
    return params + [None] * (required + optional - len(params))


def config(value: Any) -> dict[str, Any]:
    """An optional config object. Fields a method does not know are ignored, as Agave's serde does."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_params("the configuration must be an object")
    return value


def string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise invalid_params(f"{what} must be a string")
    return value


def integer(value: Any, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid_params(f"{what} must be an integer >= {minimum}")
    return value
