"""The registry server: OCI distribution-spec v1.1 over starlette + uvicorn, with htpasswd and tokens.

``routes`` (pure: the route table) → ``auth`` (modes, htpasswd, tokens) → ``endpoints`` (one handler
per endpoint) over ``manifests`` (pure: what a pushed manifest must satisfy) and ``storage`` (the
filesystem) → ``app`` (the ASGI app) → ``server`` (a thread for notebooks and tests, or the CLI).
"""

from .app import create_app
from .auth import Auth, add_user
from .server import RegistryServer, exposure_warning, garbage_collect, serve

__all__ = ["Auth", "RegistryServer", "add_user", "create_app", "exposure_warning", "garbage_collect", "serve"]
