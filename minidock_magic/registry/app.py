"""The registry as an ASGI app: route, authenticate, authorize, dispatch, and answer errors the spec's way.

Every error a handler raises is one of ``minidock_magic.errors``; it is answered with its
``http_status`` and the spec's error body ``{"errors": [{"code", "message", "detail"}]}``.
Anything else is a bug: logged (method and path only, never headers) and answered 500.
"""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InvalidArgument, MinidockError, Unauthorized, Unavailable
from .auth import Auth, Challenge, Identity
from .endpoints import HANDLERS, Registry
from .routes import Endpoint, MethodNotAllowed, match
from .storage import Storage

log = logging.getLogger("minidock_magic.registry")

API_VERSION_HEADER = (b"docker-distribution-api-version", b"registry/2.0")
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_SAFE_HOST = re.compile(r"[A-Za-z0-9.\-]+(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")
TOKEN_FORM_MAX = 64 * 1024
REQUEST_LOG_SIZE = 1000


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request as a lesson shows it: the request line and the answer (never headers or bodies)."""

    method: str
    target: str
    status: int


class ApiVersionHeader:
    """Stamp ``Docker-Distribution-API-Version: registry/2.0`` on every response, errors included
    (unless ``stamp`` is off because the server adds it), and remember the last requests
    (``app.state.request_log``) so a lesson can show the protocol."""

    def __init__(self, app: ASGIApp, request_log: deque[LoggedRequest], stamp: bool = True) -> None:
        self.app, self.request_log, self.stamp = app, request_log, stamp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if self.stamp and not any(k.lower() == API_VERSION_HEADER[0] for k, _ in headers):
                    headers.append(API_VERSION_HEADER)
                    message = {**message, "headers": headers}
                query = scope.get("query_string", b"").decode("latin-1")
                target = scope["path"] + (f"?{query}" if query else "")
                self.request_log.append(LoggedRequest(scope["method"], target, message["status"]))
            await send(message)

        await self.app(scope, receive, stamped if scope["type"] == "http" else send)


def error_response(request: Request, error: MinidockError, auth: Auth | None = None) -> Response:
    """The spec's error body for ``error`` (empty for HEAD), with the headers the error calls for."""
    headers = dict(error.headers)
    headers.pop("Content-Length", None)
    if isinstance(error, Unauthorized):
        challenge = error if isinstance(error, Challenge) else Challenge(str(error))
        if auth is not None and auth.mode != "open" and "WWW-Authenticate" not in headers:
            headers["WWW-Authenticate"] = auth.challenge_header(realm_of(request), challenge)
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allow)
    doc = {"errors": [{"code": error.registry_code, "message": str(error),
                       "detail": error.detail}]}
    body = b"" if request.method == "HEAD" else json.dumps(doc).encode()
    return Response(body, error.http_status, headers, "application/json")


def realm_of(request: Request) -> str:
    """The token endpoint's URL as this client reaches us (a garbled Host falls back to our address)."""
    host = request.headers.get("host", "")
    if not _SAFE_HOST.fullmatch(host):
        server = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{request.url.scheme}://{host}/token"


async def _identify(auth: Auth, request: Request) -> Identity:
    header = request.headers.get("authorization")
    if header and (header[:6].lower() == "basic " or auth.mode == "jupyterhub"):
        # bcrypt is slow by design; the hub is asked over HTTP (HubAuth blocks)
        return await anyio.to_thread.run_sync(auth.identify, header)
    return auth.identify(header)


async def token_endpoint(auth: Auth, request: Request) -> Response:
    """``GET /token?service=&scope=`` (docker, podman, skopeo) and the OAuth2 password-grant POST."""
    try:
        return await _issue(auth, request)
    except Unauthorized as error:  # here the answer is "send a password", not "get a token"
        error.headers["WWW-Authenticate"] = f'Basic realm="{auth.service}"'
        raise


async def _issue(auth: Auth, request: Request) -> Response:
    if request.method == "POST":
        form = await _read_form(request)
        grant = form.get("grant_type", [""])[0]
        if grant != "password":
            raise InvalidArgument(f"unsupported grant_type {grant[:40]!r}: use password", code="UNSUPPORTED")
        user, password = form.get("username", [""])[0], form.get("password", [""])[0]
        ok = bool(user) and await anyio.to_thread.run_sync(auth.check_password, user, password)
        if not ok:
            raise Unauthorized("incorrect username or password")
        scopes = form.get("scope", [])
    else:
        header = request.headers.get("authorization")
        user = None
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "basic":
                raise Unauthorized("the token endpoint takes Basic credentials or none")
            user = await anyio.to_thread.run_sync(auth.basic_user, value.strip())
        scopes = request.query_params.getlist("scope")
    token = auth.issue_token(user, scopes)
    return Response(json.dumps(token).encode(), 200, {"Cache-Control": "no-store"}, "application/json")


async def _read_form(request: Request) -> dict[str, list[str]]:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > TOKEN_FORM_MAX:
            raise InvalidArgument("token request form too large", code="UNSUPPORTED")
    try:
        return parse_qs(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise InvalidArgument("token request form is not UTF-8", code="UNSUPPORTED") from None


def create_app(data_dir: Path, *, auth: Auth | None = None, stamp_version: bool = True) -> Starlette:
    """A registry serving ``data_dir`` (created if missing), with ``auth`` (default: open).

    ``stamp_version=False`` when the server adds the API-version header to every response itself,
    as ours does (``server._config``): only the server can stamp the 400s its HTTP parser sends
    for requests that never reach the app.
    """
    registry = Registry(Storage(Path(data_dir)), auth or Auth())

    async def dispatch(request: Request) -> Response:
        try:
            route = match(request.method, request.scope["path"], request.query_params)
            if route.endpoint is Endpoint.TOKEN:
                return await token_endpoint(registry.auth, request)
            identity = await _identify(registry.auth, request)
            registry.auth.authorize(identity, route)
            return await HANDLERS[route.endpoint](registry, request, route, identity)
        except MinidockError as error:
            return error_response(request, error, registry.auth)
        except ClientDisconnect:  # the upload's uncommitted bytes are dropped at its next chunk
            return error_response(request, InvalidArgument("client disconnected", code="BLOB_UPLOAD_INVALID"))
        except OSError as error:  # the disk, not the request: full, read-only, permissions
            log.exception("storage error answering %s %s", request.method, request.scope["path"][:200])
            return error_response(request, Unavailable(f"registry storage error: {error.strerror}"))
        except Exception:
            log.exception("registry bug answering %s %s", request.method, request.scope["path"][:200])
            return error_response(request, MinidockError("internal error; see the registry's log"))

    app = Starlette(routes=[StarletteRoute("/{path:path}", dispatch, methods=METHODS)])
    request_log: deque[LoggedRequest] = deque(maxlen=REQUEST_LOG_SIZE)
    app.add_middleware(ApiVersionHeader, request_log=request_log, stamp=stamp_version)
    app.state.registry, app.state.request_log = registry, request_log
    return app
