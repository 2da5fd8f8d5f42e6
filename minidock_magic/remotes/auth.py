"""Registry auth as the distribution spec and docker do it: a 401 challenge, then Basic or a token.

A registry answers an anonymous request with ``401`` and ``WWW-Authenticate``:

- ``Basic realm="…"``: send the login with every request (htpasswd registries);
- ``Bearer realm="https://auth…/token",service="…",scope="repository:me/app:pull,push"``: GET the
  realm with ``service`` and ``scope`` (and the login as Basic, if any), then retry with
  ``Authorization: Bearer <token>``. Tokens are cached per (realm, scopes) until they expire.

Parsing and scope rules are pure; ``RegistryAuth`` is the httpx ``Auth`` that walks the flow.

>>> [(c.scheme, c.params) for c in parse_www_authenticate(
...     'Bearer realm="https://a/token",service="reg",scope="repository:x:pull,push"')]
[('bearer', {'realm': 'https://a/token', 'service': 'reg', 'scope': 'repository:x:pull,push'})]
>>> scopes_for("POST", "/v2/me/app/blobs/uploads/", {"mount": "sha256:…", "from": "lib/bb"})
['repository:me/app:pull,push', 'repository:lib/bb:pull']
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass, field

import httpx

from ..errors import MinidockError, Unauthorized, error_for_status
from .credentials import Credential

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SCHEME = re.compile(rf"[\s,]*({_TOKEN})")
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s"]*)\s*')
_REPO_PATH = re.compile(r"^/v2/(.+)/(?:manifests/[^/]+|blobs/uploads/[^/]*|blobs/[^/]+|tags/list"
                        r"|referrers/[^/]+)\Z")
#: Tokens are renewed this long before they say they expire (clock skew, slow requests).
EXPIRY_MARGIN = 10.0
#: The spec's default when a token server leaves ``expires_in`` out.
DEFAULT_TOKEN_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str                      # lowercase: "basic", "bearer", …
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def scopes(self) -> list[str]:
        # Several scopes may come space-separated in one parameter.
        return self.params.get("scope", "").split()


def parse_www_authenticate(values: str | list[str]) -> list[Challenge]:
    """Every challenge in one or more ``WWW-Authenticate`` values (RFC 7235 auth-params).

    Quoted values may hold commas and escaped quotes; several challenges may share one header.

    >>> [c.scheme for c in parse_www_authenticate('Basic realm="a, b", Bearer realm="t"')]
    ['basic', 'bearer']
    >>> parse_www_authenticate('Basic realm="say \\\\"hi\\\\""')[0].realm
    'say "hi"'
    """
    found: list[Challenge] = []
    for value in [values] if isinstance(values, str) else values:
        pos = 0
        while (scheme := _SCHEME.match(value, pos)) is not None:
            pos = scheme.end()
            params: dict[str, str] = {}
            while (param := _PARAM.match(value, pos)) is not None:
                key, raw = param.groups()
                if raw.startswith('"'):
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                params[key.lower()] = raw
                pos = param.end()
                if not value.startswith(",", pos):
                    break
                pos += 1
            found.append(Challenge(scheme.group(1).lower(), params))
            if pos < len(value) and not _SCHEME.match(value, pos):
                break  # token68 or junk: nothing more we can read
    return found


def scopes_for(method: str, path: str, params: Mapping[str, str]) -> list[str]:
    """The token scopes a request needs, worked out before asking (docker does the same), so a
    streamed upload goes out with its token and never has to be re-sent after a 401."""
    if path.rstrip("/") == "/v2/_catalog":
        return ["registry:catalog:*"]
    match = _REPO_PATH.match(path)
    if match is None:
        return []
    name = match.group(1)
    action = {"GET": "pull", "HEAD": "pull", "DELETE": "delete"}.get(method.upper(), "pull,push")
    scopes = [f"repository:{name}:{action}"]
    source = params.get("from")
    if params.get("mount") and source:
        scopes.append(f"repository:{source}:pull")
    return scopes


def _actions(scopes: frozenset[str] | list[str]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        found.setdefault((kind, name), set()).update(a for a in actions.split(",") if a)
    return found


_ACTION_ORDER = {"pull": 0, "push": 1, "delete": 2}


def merge_scopes(scopes: list[str]) -> list[str]:
    """One scope per resource with the union of its actions, as a token server expects.

    >>> merge_scopes(["repository:a:pull", "repository:a:push", "registry:catalog:*"])
    ['repository:a:pull,push', 'registry:catalog:*']
    """
    return [f"{kind}:{name}:{','.join(sorted(actions, key=lambda a: (_ACTION_ORDER.get(a, 9), a)))}"
            for (kind, name), actions in _actions(scopes).items()]


def covers(granted: frozenset[str], wanted: list[str]) -> bool:
    """Does a token asked for ``granted`` also serve ``wanted``? (pull,push serves pull.)

    >>> covers(frozenset({"repository:a:pull,push"}), ["repository:a:pull"])
    True
    >>> covers(frozenset({"repository:a:pull"}), ["repository:a:pull,push"])
    False
    """
    have = _actions(granted)
    return all(actions <= have.get(key, set()) for key, actions in _actions(wanted).items())


@dataclass(slots=True)
class _Token:
    value: str
    scopes: frozenset[str]
    expires: float


class RegistryAuth(httpx.Auth):
    """Answers challenges for one registry; remembers which scheme each host wants."""

    def __init__(self, credential: Credential | None = None, *,
                 clock: Callable[[], float] | None = None) -> None:
        self.credential = credential
        self._clock = clock or time.monotonic
        self._scheme: dict[str, str] = {}                     # host -> "basic" | "bearer"
        self._realm: dict[str, tuple[str, str | None]] = {}    # host -> (realm, service)
        self._tokens: dict[str, list[_Token]] = {}             # realm+service -> tokens
        #: Scopes asked for with every token: a push wants pull,push on its repository from the
        #: start, so the HEADs before the uploads do not cost a second, pull-only token.
        self.intended: list[str] = []

    def __repr__(self) -> str:
        return f"RegistryAuth({self.credential!r})"

    # httpx runs this generator: each ``yield`` sends a request and resumes with its response.
    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        host = request.url.netloc.decode()
        needed = scopes_for(request.method, request.url.path, dict(request.url.params))
        if self._scheme.get(host) == "basic" and self.credential is not None:
            request.headers["Authorization"] = f"Basic {self.credential.basic()}"
        elif self._scheme.get(host) == "bearer" and host in self._realm:
            realm, service = self._realm[host]
            token = yield from self._token(realm, service, needed)
            request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        challenges = parse_www_authenticate(response.headers.get_list("www-authenticate"))
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if bearer is not None and bearer.realm is not None:
            response.read()
            self._scheme[host] = "bearer"
            self._realm[host] = (bearer.realm, bearer.params.get("service"))
            scopes = merge_scopes([*bearer.scopes, *needed])
            # A token we sent was refused: do not trust the cache for this scope again.
            fresh = ("insufficient_scope" in bearer.params.get("error", "")
                     or "Authorization" in request.headers)
            token = yield from self._token(bearer.realm, bearer.params.get("service"), scopes, fresh=fresh)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
        elif basic is not None and self.credential is not None and "Authorization" not in request.headers:
            response.read()
            self._scheme[host] = "basic"
            request.headers["Authorization"] = f"Basic {self.credential.basic()}"
            yield request

    def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        raise NotImplementedError("RegistryAuth is for the sync httpx.Client")

    def _token(self, realm: str, service: str | None, scopes: list[str], *,
               fresh: bool = False) -> Generator[httpx.Request, httpx.Response, str]:
        key = f"{realm} {service}"
        now = self._clock()
        if not fresh:
            for cached in self._tokens.get(key, []):
                if covers(cached.scopes, scopes) and cached.expires > now:
                    return cached.value
        scopes = merge_scopes([*scopes, *self.intended])
        wanted = frozenset(scopes)
        params = httpx.QueryParams([("service", service)] if service else [])
        params = params.merge({"scope": scopes}) if scopes else params
        headers = {"Authorization": f"Basic {self.credential.basic()}"} if self.credential else {}
        response = yield httpx.Request("GET", realm, params=params, headers=headers)
        response.read()
        value, seconds = _parse_token_response(response, realm, self.credential is not None)
        token = _Token(value, wanted, now + max(seconds - EXPIRY_MARGIN, 1.0))
        live = [t for t in self._tokens.get(key, []) if t.expires > now and t.scopes != wanted]
        self._tokens[key] = [*live[-7:], token]  # a handful per realm is plenty for one command
        return value


def _parse_token_response(response: httpx.Response, realm: str, with_login: bool) -> tuple[str, float]:
    """The token from a token server's JSON (``token`` or OAuth2's ``access_token``)."""
    if response.status_code in (401, 403):
        what = "incorrect username or password" if with_login else "authentication required"
        raise Unauthorized(f"unauthorized: {what} (token server {httpx.URL(realm).host} said "
                           f"{response.status_code})")
    if response.status_code != 200:
        raise error_for_status(response.status_code, f"token server {httpx.URL(realm).host} answered "
                               f"{response.status_code} {response.reason_phrase}")
    try:
        data = response.json()
        value = data.get("token") or data.get("access_token")
        seconds = float(data.get("expires_in") or DEFAULT_TOKEN_SECONDS)
    except (ValueError, AttributeError, TypeError):
        value = None
    if not isinstance(value, str) or not value:
        raise MinidockError(f"token server {httpx.URL(realm).host} sent no token")
    return value, seconds
