"""The class registry as a JupyterHub service: a student's login is their own hub API token.

Run by the hub (``c.JupyterHub.services``), the registry gets ``JUPYTERHUB_API_TOKEN`` and
``JUPYTERHUB_API_URL`` in its environment. A password (or a bare ``Authorization: token …`` /
Bearer) is checked with ``GET /hub/api/user`` by JupyterHub's own ``HubAuth``, whose answers
are cached briefly (by the token's SHA-256, never the token). Whether a user is a hub admin (a
teacher) is asked with the service's own token (``GET /hub/api/users/NAME``, which needs the
``read:users`` scope — docs/classroom.md gives the role), also cached briefly.

JupyterHub is optional (``pip install 'minidock_magic[hub]'``): only this module imports it,
and only when ``--auth jupyterhub`` is chosen.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import quote

from ..errors import InvalidArgument, Unavailable

CACHE_SECONDS = 60


class HubAccounts:
    """Accounts (``auth.TokenAccounts``) backed by a JupyterHub's API."""

    def __init__(self, hub_auth: Any, cache_seconds: float = CACHE_SECONDS) -> None:
        self._hub, self._cache_seconds = hub_auth, cache_seconds
        self._admins: dict[str, tuple[float, bool]] = {}

    @classmethod
    def from_environment(cls, cache_seconds: float = CACHE_SECONDS) -> HubAccounts:
        token, url = os.environ.get("JUPYTERHUB_API_TOKEN"), os.environ.get("JUPYTERHUB_API_URL")
        if not (token and url):
            raise InvalidArgument("--auth jupyterhub runs as a JupyterHub service: JUPYTERHUB_API_TOKEN "
                                  "and JUPYTERHUB_API_URL are not set (see docs/classroom.md)")
        try:
            from jupyterhub.services.auth import HubAuth
        except ImportError:
            raise Unavailable("--auth jupyterhub needs JupyterHub: pip install 'minidock_magic[hub]'") from None
        return cls(HubAuth(api_token=token, api_url=url, cache_max_age=int(cache_seconds)), cache_seconds)

    def _model(self, token: str) -> dict[str, Any] | None:
        if not token:
            return None
        try:
            model = self._hub.user_for_token(token)
        except Exception as error:  # tornado's HTTPError: the hub is down or refused us
            raise Unavailable(f"cannot check the token with the hub: {getattr(error, 'log_message', '')}"
                              .rstrip(": ")) from None
        if not isinstance(model, dict) or model.get("kind", "user") != "user" or not model.get("name"):
            return None  # unknown token, or a service's: services own no namespace
        if isinstance(model.get("admin"), bool):
            self._admins[model["name"]] = (time.monotonic(), model["admin"])
        return model

    def user_for_token(self, token: str) -> str | None:
        model = self._model(token)
        return None if model is None else str(model["name"])

    def check_password(self, user: str, password: str) -> bool:
        """The password is the user's hub token, and the token must be that user's."""
        return bool(user) and self.user_for_token(password) == user

    def is_admin(self, user: str) -> bool:
        known = self._admins.get(user)
        if known is not None and time.monotonic() - known[0] < self._cache_seconds:
            return known[1]
        admin = self._ask_admin(user)
        self._admins[user] = (time.monotonic(), admin)
        return admin

    def _ask_admin(self, user: str) -> bool:
        import httpx
        url = f"{self._hub.api_url.rstrip('/')}/users/{quote(user, safe='')}"
        try:
            response = httpx.get(url, headers={"Authorization": f"token {self._hub.api_token}"}, timeout=10)
        except httpx.HTTPError:
            raise Unavailable("cannot ask the hub who is an admin") from None
        # 403: the service has no read:users scope; 404: no such user. Neither is an admin.
        return response.status_code == 200 and response.json().get("admin") is True
