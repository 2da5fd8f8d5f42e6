"""Who may pull and push: auth modes, htpasswd (bcrypt) logins and the Bearer-token flow.

Modes mirror the two kinds of registry a student meets:

- ``open``: no auth at all (a registry on localhost for a lesson);
- ``public``: anyone pulls anonymously; pushing needs a login, and only into your own namespace
  ``<user>/…`` — like Docker Hub;
- ``private``: everything needs a login — like a company registry;
- ``jupyterhub``: a class registry run as a JupyterHub service — ``public``'s rules, where the
  login is the student's own hub API token (checked by ``hub.HubAccounts``), repositories under
  ``<user>/private/…`` are their owner's alone, and hub admins (teachers) may do anything.

Who the users are is an :class:`Accounts` backend: an htpasswd file, or the hub.

Clients first get ``401`` with ``WWW-Authenticate: Bearer realm=…,service=…,scope=…``, fetch a
token from ``realm`` (with Basic credentials, or none for anonymous pulls) and retry with
``Authorization: Bearer <token>``. Tokens are HS256 JWTs signed with a per-server secret, listing
the granted ``access`` the same way distribution's token server does. Basic credentials on
registry requests are accepted too (curl, lessons). Passwords never appear in a message or a log.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import bcrypt

from ..content.atomic import atomic_write_bytes
from ..errors import Denied, InvalidArgument, Unauthorized
from .routes import NAME_RE, Endpoint, Route

Mode = Literal["open", "public", "private", "jupyterhub"]
MODES: tuple[str, ...] = ("open", "public", "private", "jupyterhub")
REPO_ACTIONS = frozenset({"pull", "push", "delete"})
USER_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
BCRYPT_MAX_PASSWORD = 72


@functools.cache
def _dummy_hash() -> bytes:
    """A real hash to check against when the user is unknown, so timing does not reveal who exists."""
    return bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=10))


class Challenge(Unauthorized):
    """401 for a request that a token with ``scope`` (or a login) would allow."""

    def __init__(self, message: str, scope: str | None = None, *, insufficient: bool = False) -> None:
        super().__init__(message)
        self.scope, self.insufficient = scope, insufficient


def load_htpasswd(path: Path) -> dict[str, bytes]:
    """``user:hash`` lines; only bcrypt entries (``htpasswd -B``: ``$2y$``) are honoured."""
    users: dict[str, bytes] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        user, sep, hashed = line.strip().partition(":")
        if sep and user and not user.startswith("#") and hashed.startswith(("$2y$", "$2b$", "$2a$")):
            users[user] = hashed.encode()
    return users


def add_user(htpasswd_path: Path, user: str, password: str, *, rounds: int = 10) -> None:
    """Add or replace ``user`` in an htpasswd file, bcrypt-hashed like ``htpasswd -B`` (``$2y$``)."""
    if not USER_RE.fullmatch(user):
        raise InvalidArgument(f"invalid user name {user!r}: lowercase letters, digits and . _ - "
                              "(it is also the user's namespace)")
    if not password or len(password.encode()) > BCRYPT_MAX_PASSWORD or "\n" in password:
        raise InvalidArgument(f"a password must be 1 to {BCRYPT_MAX_PASSWORD} bytes on one line")
    path = Path(htpasswd_path)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()
    lines = [] if not path.exists() else [
        line for line in path.read_text(encoding="utf-8").splitlines() if line.partition(":")[0] != user]
    lines.append(f"{user}:$2y${hashed[4:]}")
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode(), mode=0o600)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_scopes(texts: list[str]) -> list[tuple[str, str, frozenset[str]]]:
    """``repository:NAME:pull,push`` (space-separated or repeated) to (type, name, actions); junk dropped.

    >>> [(kind, name, sorted(actions)) for kind, name, actions in
    ...  parse_scopes(["repository:me/app:pull,push registry:catalog:*", "bogus"])]
    [('repository', 'me/app', ['pull', 'push']), ('registry', 'catalog', ['*'])]
    """
    found = []
    for text in " ".join(texts).split():
        kind, _, rest = text.partition(":")
        name, _, actions = rest.rpartition(":")
        kind = kind.split("(", 1)[0]  # "repository(plugin)" is still a repository
        if (kind == "repository" and NAME_RE.fullmatch(name)) or (kind, name) == ("registry", "catalog"):
            found.append((kind, name, frozenset(a for a in actions.split(",") if a)))
    return found


@dataclass(frozen=True, slots=True)
class Identity:
    user: str | None = None
    #: None: credentials were checked directly (Basic); else what a token granted.
    granted: frozenset[tuple[str, str, str]] | None = None

    @property
    def has_token(self) -> bool:
        return self.granted is not None


class Accounts(Protocol):
    """Who may log in, and who is a teacher: the backend behind Basic credentials and tokens."""

    def check_password(self, user: str, password: str) -> bool: ...

    def is_admin(self, user: str) -> bool: ...


@runtime_checkable
class TokenAccounts(Accounts, Protocol):
    """A backend that can name the owner of a bare token (JupyterHub's API tokens)."""

    def user_for_token(self, token: str) -> str | None: ...


@dataclass
class HtpasswdAccounts:
    """Users in an htpasswd file (bcrypt entries), re-read when the file changes; no admins."""

    path: Path
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _users: dict[str, bytes] = field(default_factory=dict, repr=False)
    _users_stamp: tuple[float, int] | None = field(default=None, repr=False)
    _verified: set[bytes] = field(default_factory=set, repr=False)

    def _load_users(self) -> dict[str, bytes]:
        try:
            st = os.stat(self.path)
        except OSError:
            return {}
        if self._users_stamp != (st.st_mtime, st.st_size):  # reload after add_user
            self._users, self._users_stamp = load_htpasswd(self.path), (st.st_mtime, st.st_size)
            self._verified.clear()
        return self._users

    def check_password(self, user: str, password: str) -> bool:
        """bcrypt is slow on purpose; a verified pair is remembered (as an HMAC, not the password)."""
        hashed = self._load_users().get(user)
        key = hmac.new(self.secret, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        if hashed is not None and key in self._verified:
            return True
        try:
            ok = bcrypt.checkpw(password.encode(), hashed or _dummy_hash()) and hashed is not None
        except ValueError:  # over-long password or malformed hash
            ok = False
        if ok:
            if len(self._verified) > 1024:
                self._verified.clear()
            self._verified.add(key)
        return ok

    def is_admin(self, user: str) -> bool:
        return False


def is_private(name: str, owner: str | None) -> bool:
    """``<user>/private/…`` is its owner's alone (in ``jupyterhub`` mode): a student's draft.

    >>> is_private("alice/private/app", "bob"), is_private("alice/private/app", "alice")
    (True, False)
    >>> is_private("alice/app", None)
    False
    """
    namespace, _, rest = name.partition("/")
    return rest.split("/", 1)[0] == "private" and namespace != owner


@dataclass
class Auth:
    mode: Mode = "open"
    htpasswd: Path | None = None
    service: str = "minidock"
    token_ttl: int = 300
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    #: Default: the htpasswd file's users.
    accounts: Accounts | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidArgument(f"unknown auth mode {self.mode!r}: use one of {', '.join(MODES)}")
        if self.accounts is None and self.htpasswd is not None:
            self.accounts = HtpasswdAccounts(self.htpasswd, self.secret)
        if self.mode == "jupyterhub" and self.accounts is None:
            raise InvalidArgument("auth mode 'jupyterhub' needs the hub's accounts (run it as a hub service)")
        if self.mode != "open" and self.accounts is None:
            raise InvalidArgument(f"auth mode {self.mode!r} needs an htpasswd file (minidock registry adduser)")

    # -- policy --------------------------------------------------------------------------------
    def allowed(self, user: str | None, kind: str, name: str) -> frozenset[str]:
        """The actions the mode grants ``user`` (None: anonymous) on a resource."""
        if kind == "registry":
            ok = self.mode != "private" or user is not None
            return frozenset({"*"}) if ok and name == "catalog" else frozenset()
        if self.mode == "open" or (self.mode == "private" and user is not None):
            return REPO_ACTIONS
        if self.mode in ("public", "jupyterhub"):
            own = user is not None and (name == user or name.startswith(user + "/"))
            if own or (self.mode == "jupyterhub" and user is not None and self._is_admin(user)):
                return REPO_ACTIONS
            if self.mode == "jupyterhub" and is_private(name, user):
                return frozenset()
            return frozenset({"pull"})
        return frozenset()

    def _is_admin(self, user: str) -> bool:
        return self.accounts is not None and self.accounts.is_admin(user)

    # -- credentials ---------------------------------------------------------------------------
    def check_password(self, user: str, password: str) -> bool:
        return self.accounts is not None and self.accounts.check_password(user, password)

    def basic_user(self, header_value: str) -> str:
        """The user of a ``Basic`` credential, or Unauthorized."""
        try:
            user, _, password = base64.b64decode(header_value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise Unauthorized("malformed Basic credentials") from None
        if not user or not self.check_password(user, password):
            raise Unauthorized("incorrect username or password")
        return user

    def token_user(self, token: str) -> str:
        """The owner of a bare hub API token (``Authorization: token …`` or a Bearer that is not ours)."""
        user = self.accounts.user_for_token(token) if isinstance(self.accounts, TokenAccounts) else None
        if user is None:
            raise Challenge("invalid or expired token")
        return user

    # -- tokens --------------------------------------------------------------------------------
    def issue_token(self, user: str | None, scopes: list[str]) -> dict[str, object]:
        """The token endpoint's answer: the requested scopes cut down to what the mode grants."""
        access = []
        for kind, name, wanted in parse_scopes(scopes):
            allowed = self.allowed(user, kind, name)
            granted = allowed if "*" in wanted else wanted & allowed
            if granted:
                access.append({"type": kind, "name": name, "actions": sorted(granted)})
        now = int(time.time())
        claims = {"iss": self.service, "aud": self.service, "sub": user or "", "iat": now,
                  "nbf": now - 5, "exp": now + self.token_ttl, "jti": secrets.token_hex(8), "access": access}
        signing_input = _b64(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64(json.dumps(claims).encode())
        signature = _b64(hmac.new(self.secret, signing_input.encode(), hashlib.sha256).digest())
        token = f"{signing_input}.{signature}"
        issued = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"token": token, "access_token": token, "expires_in": self.token_ttl, "issued_at": issued}

    def verify_token(self, token: str) -> Identity:
        try:
            header, payload, signature = token.split(".")
            expected = hmac.new(self.secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_unb64(signature), expected):
                raise ValueError("bad signature")
            claims = json.loads(_unb64(payload))
            if claims["aud"] != self.service or not claims["nbf"] <= time.time() < claims["exp"]:
                raise ValueError("expired or not for us")
            granted = frozenset((a["type"], a["name"], action) for a in claims["access"] for action in a["actions"])
        except (ValueError, KeyError, TypeError):
            raise Challenge("invalid or expired token") from None
        return Identity(claims["sub"] or None, granted)

    def identify(self, authorization: str | None) -> Identity:
        """Who is asking, from the ``Authorization`` header (anonymous when absent)."""
        identity = self._identify(authorization)
        if self.mode == "jupyterhub" and identity.user is not None:
            # Ask the hub whether they are a teacher now (the app calls this in a worker thread),
            # so the policy checks that follow find the answer cached and never block the loop.
            self._is_admin(identity.user)
        return identity

    def _identify(self, authorization: str | None) -> Identity:
        if self.mode == "open" or not authorization:
            return Identity()
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "basic":
            return Identity(self.basic_user(value.strip()))
        hub = isinstance(self.accounts, TokenAccounts)
        if scheme.lower() == "bearer" and not (hub and value.strip().count(".") != 2):
            return self.verify_token(value.strip())
        if hub and scheme.lower() in ("bearer", "token"):
            return Identity(self.token_user(value.strip()))
        raise Challenge(f"unsupported authorization scheme {scheme[:20]!r}")

    # -- per request ---------------------------------------------------------------------------
    def permits(self, identity: Identity, kind: str, name: str, action: str) -> bool:
        if self.mode == "open":
            return True
        allowed = self.allowed(identity.user, kind, name)
        if action not in allowed:
            return False
        return identity.granted is None or (kind, name, action) in identity.granted

    def authorize(self, identity: Identity, route: Route) -> None:
        """Raise Challenge (401: log in / get a token) or Denied (403: never allowed to you)."""
        if self.mode == "open" or route.endpoint is Endpoint.TOKEN:
            return
        if route.endpoint is Endpoint.BASE:
            if identity.user is None and not identity.has_token:
                raise Challenge("authentication required")
            return
        if route.endpoint is Endpoint.CATALOG:
            kind, name, action, scope = "registry", "catalog", "*", "registry:catalog:*"
        else:
            kind, name, action = "repository", route.name or "", route.action or "pull"
            scope = f"repository:{name}:{'pull,push' if action == 'push' else action}"
        if action not in self.allowed(identity.user, kind, name):
            if identity.user is None:
                raise Challenge(f"authentication required to {action} {name}", scope)
            raise Denied(f"user {identity.user} may not {action} {name}: " + self._why_not(name))
        if identity.granted is not None and (kind, name, action) not in identity.granted:
            raise Challenge(f"token does not grant {action} on {name}", scope, insufficient=True)

    def _why_not(self, name: str) -> str:
        if self.mode == "jupyterhub" and is_private(name, None):
            return "a private repository is its owner's alone"
        return "push only into your own namespace" if self.mode != "private" else "not allowed"

    def challenge_header(self, realm: str, error: Challenge) -> str:
        value = f'Bearer realm="{realm}",service="{self.service}"'
        if error.scope:
            value += f',scope="{error.scope}"'
        if error.insufficient:
            value += ',error="insufficient_scope"'
        return value
