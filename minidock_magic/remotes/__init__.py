"""The registry client: pull, push, login and friends over the OCI distribution API (httpx).

``credentials`` (docker config.json logins) → ``auth`` (challenges, tokens) → ``client`` (one
registry's API) → ``pull`` / ``push`` / ``account`` (what the commands do), with ``trace`` (every
request, secrets masked) and ``progress`` (status lines, tqdm bars) to show it happening.
"""

from .account import list_tags, login, logout, manifest_inspect, search
from .client import RegistryClient
from .credentials import Credential, CredentialStore
from .pull import pull
from .push import push

__all__ = ["Credential", "CredentialStore", "RegistryClient", "list_tags", "login", "logout",
           "manifest_inspect", "pull", "push", "search"]
