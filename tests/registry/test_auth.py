"""Auth modes (open, public, private), htpasswd, Basic and the Bearer-token flow, over a real socket."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import bcrypt
import httpx
import pytest

from minidock_magic.errors import InvalidArgument
from minidock_magic.registry import RegistryServer, add_user
from minidock_magic.registry.auth import Auth, load_htpasswd
from tests.conftest import need

from .conftest import USERS, Pusher, check_response, make_image, sha256

StartServer = Callable[[str], RegistryServer]
ALICE, BOB = ("alice", USERS["alice"]), ("bob", USERS["bob"])


def challenge_params(response: httpx.Response) -> dict[str, str]:
    scheme, _, rest = response.headers["WWW-Authenticate"].partition(" ")
    assert scheme == "Bearer"
    return dict(re.findall(r'(\w+)="([^"]*)"', rest))


class BearerClient:
    """What docker, podman and skopeo do: on 401 read the challenge, fetch a token, retry."""

    def __init__(self, base_url: str, creds: tuple[str, str] | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, event_hooks={"response": [check_response]})
        self.creds, self.token, self.token_requests = creds, None, 0
        self.seen: list[httpx.Response] = []

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                **kwargs: object) -> httpx.Response:
        extra = dict(headers or {})
        bearer: dict[str, str] = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        r = self.http.request(method, url, headers=extra | bearer, **kwargs)  # type: ignore[arg-type]
        self.seen.append(r)
        if r.status_code != 401:
            return r
        params = challenge_params(r)
        query = {"service": params["service"]} | ({"scope": params["scope"]} if "scope" in params else {})
        got = self.http.get(params["realm"], params=query, auth=self.creds)
        self.seen.append(got)
        self.token_requests += 1
        if got.status_code != 200:
            return got
        self.token = got.json()["token"]
        bearer = {"Authorization": f"Bearer {self.token}"}
        r = self.http.request(method, url, headers=extra | bearer, **kwargs)  # type: ignore[arg-type]
        self.seen.append(r)
        return r


def seed(data_dir: Path) -> str:
    """An image in alice/app, pushed while the registry is open."""
    with RegistryServer(data_dir) as server, httpx.Client(base_url=server.url) as client:
        return Pusher(client).image("alice/app", "v1", make_image())


def basic(creds: tuple[str, str] | None) -> httpx.Auth:
    return httpx.BasicAuth(*creds) if creds else httpx.Auth()  # the base Auth sends nothing


def try_push(client: httpx.Client, name: str, auth: tuple[str, str] | None) -> int:
    data = b"a layer for " + name.encode()
    return client.post(f"/v2/{name}/blobs/uploads/", params={"digest": sha256(data)}, content=data,
                       auth=basic(auth)).status_code


def try_pull(client: httpx.Client, name: str, auth: tuple[str, str] | None) -> int:
    return client.get(f"/v2/{name}/manifests/v1", auth=basic(auth)).status_code


# What Basic credentials may do, mode by mode (401: log in; 403: never for you).
MATRIX = {
    "open": {"pull": {None: 200, "alice": 200}, "push own": {None: 201, "alice": 201},
             "push other": {None: 201, "alice": 201}, "catalog": {None: 200, "alice": 200}},
    "public": {"pull": {None: 200, "alice": 200, "bob": 200}, "push own": {None: 401, "alice": 201},
               "push other": {None: 401, "alice": 403, "bob": 403}, "catalog": {None: 200, "alice": 200}},
    "private": {"pull": {None: 401, "alice": 200, "bob": 200}, "push own": {None: 401, "alice": 201},
                "push other": {None: 401, "alice": 201}, "catalog": {None: 401, "alice": 200}},
}


@pytest.mark.parametrize("mode", list(MATRIX))
def test_basic_auth_matrix(mode: str, auth_server: StartServer, data_dir: Path) -> None:
    seed(data_dir)
    server = auth_server(mode)
    with httpx.Client(base_url=server.url, event_hooks={"response": [check_response]}) as client:
        for action, expected in MATRIX[mode].items():
            for who, status in expected.items():
                creds = {"alice": ALICE, "bob": BOB, None: None}[who]
                if action == "pull":
                    got = try_pull(client, "alice/app", creds)
                elif action == "catalog":
                    got = client.get("/v2/_catalog", auth=basic(creds)).status_code
                else:
                    owner = "alice" if action == "push own" else "carol"
                    got = try_push(client, f"{owner}/app", creds) if who != "bob" else \
                        try_push(client, "alice/app", creds)
                assert got == status, (mode, action, who)


def test_public_denial_is_spec_shaped(auth_server: StartServer) -> None:
    server = auth_server("public")
    with httpx.Client(base_url=server.url) as client:
        r = client.post("/v2/bob/app/blobs/uploads/", auth=ALICE)
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == "DENIED"
        assert "own namespace" in r.json()["errors"][0]["message"]
        anon = client.post("/v2/alice/app/blobs/uploads/")
        assert anon.status_code == 401 and anon.json()["errors"][0]["code"] == "UNAUTHORIZED"
        assert challenge_params(anon) == {"realm": f"{server.url}/token", "service": "minidock",
                                          "scope": "repository:alice/app:pull,push"}
        wrong = client.get("/v2/alice/app/tags/list", auth=("alice", "wrong"))
        assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers


@pytest.mark.parametrize("mode", ["public", "private"])
def test_base_endpoint_challenges(mode: str, auth_server: StartServer) -> None:
    server = auth_server(mode)
    with httpx.Client(base_url=server.url) as client:
        r = client.get("/v2/")
        assert r.status_code == 401
        assert challenge_params(r) == {"realm": f"{server.url}/token", "service": "minidock"}
        assert client.get("/v2/", auth=ALICE).status_code == 200


def test_bearer_flow_public(auth_server: StartServer, data_dir: Path) -> None:
    digest = seed(data_dir)
    server = auth_server("public")
    anonymous = BearerClient(server.url)
    assert anonymous.request("GET", "/v2/").status_code == 200  # an anonymous token is a token
    assert anonymous.request("GET", "/v2/alice/app/manifests/v1").headers["Docker-Content-Digest"] == digest
    assert anonymous.request("POST", "/v2/alice/app/blobs/uploads/").status_code == 401

    alice = BearerClient(server.url, ALICE)
    assert alice.request("GET", "/v2/").status_code == 200
    image = make_image(b"alice's second image")
    for blob in image.blobs:
        r = alice.request("POST", "/v2/alice/new/blobs/uploads/", params={"digest": sha256(blob)}, content=blob)
        assert r.status_code == 201
    r = alice.request("PUT", "/v2/alice/new/manifests/v1", content=image.manifest,
                      headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201
    assert alice.token_requests == 2  # one for the ping, one for alice/new:pull,push; then reused
    denied = alice.request("POST", "/v2/bob/app/blobs/uploads/")
    assert denied.status_code == 403 and denied.json()["errors"][0]["code"] == "DENIED"


def test_bearer_flow_private(auth_server: StartServer, data_dir: Path) -> None:
    seed(data_dir)
    server = auth_server("private")
    anonymous = BearerClient(server.url)
    r = anonymous.request("GET", "/v2/alice/app/manifests/v1")
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    bob = BearerClient(server.url, BOB)
    assert bob.request("GET", "/v2/alice/app/manifests/v1").status_code == 200
    assert bob.request("DELETE", "/v2/alice/app/manifests/v1").status_code == 202
    catalog = bob.request("GET", "/v2/_catalog")
    assert catalog.status_code == 200 and catalog.json() == {"repositories": ["alice/app"]}


def test_token_endpoint_grants(auth_server: StartServer) -> None:
    server = auth_server("public")
    with httpx.Client(base_url=server.url) as client:
        def access(creds: tuple[str, str] | None, *scopes: str) -> list[dict[str, object]]:
            query = httpx.QueryParams([("service", "minidock"), *(("scope", s) for s in scopes)])
            r = client.get("/token", params=query, auth=basic(creds))
            assert r.status_code == 200, r.text
            body = r.json()
            assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
            assert body["token"] == body["access_token"] and body["expires_in"] == 300
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["issued_at"])
            payload = body["token"].split(".")[1]
            return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["access"]

        assert access(None, "repository:alice/app:pull,push") == [
            {"type": "repository", "name": "alice/app", "actions": ["pull"]}]
        assert access(ALICE, "repository:alice/app:pull,push", "repository:bob/app:pull,push") == [
            {"type": "repository", "name": "alice/app", "actions": ["pull", "push"]},
            {"type": "repository", "name": "bob/app", "actions": ["pull"]}]
        assert access(ALICE, "repository:alice/x:*") == [
            {"type": "repository", "name": "alice/x", "actions": ["delete", "pull", "push"]}]
        assert access(ALICE, "repository:../etc:pull", "nonsense") == []
        bad = client.get("/token", params={"scope": "repository:alice/app:push"}, auth=("alice", "nope"))
        assert bad.status_code == 401 and bad.json()["errors"][0]["code"] == "UNAUTHORIZED"
        assert bad.headers["WWW-Authenticate"] == 'Basic realm="minidock"'
        oauth = client.post("/token", data={"grant_type": "password", "username": "alice",
                                            "password": USERS["alice"], "service": "minidock",
                                            "scope": "repository:alice/app:push"})
        assert oauth.status_code == 200 and oauth.json()["access_token"]
        refused = client.post("/token", data={"grant_type": "password", "username": "alice", "password": "x"})
        assert refused.status_code == 401
        assert client.post("/token", data={"grant_type": "refresh_token"}).status_code == 400


def token_for(server: RegistryServer, scope: str) -> str:
    r = httpx.get(f"{server.url}/token", params={"scope": scope}, auth=ALICE)
    return r.json()["token"]


def test_expired_and_forged_tokens(auth_server: StartServer) -> None:
    server = auth_server("public")
    good = token_for(server, "repository:alice/app:pull,push")
    url = f"{server.url}/v2/alice/app/blobs/uploads/"
    assert httpx.post(url, headers={"Authorization": f"Bearer {good}"}).status_code == 202

    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["access"] = [{"type": "repository", "name": "bob/app", "actions": ["pull", "push"]}]
    claims["sub"] = "bob"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    other_secret = Auth("public", Path("/nonexistent")).issue_token("bob", ["repository:bob/app:push"])["token"]
    for bad in (f"{header}.{forged_payload}.{signature}", f"{none_header}.{forged_payload}.",
                other_secret, "garbage", good[:-3] + "AAA", "a.b.c"):
        r = httpx.post(f"{server.url}/v2/bob/app/blobs/uploads/", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, bad
        assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"

    server.auth.token_ttl = -10  # tokens issued from now on are born expired
    expired = token_for(server, "repository:alice/app:pull,push")
    r = httpx.post(url, headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["errors"][0]["message"]


def test_insufficient_scope_asks_for_a_new_token(auth_server: StartServer) -> None:
    server = auth_server("public")
    pull_only = token_for(server, "repository:alice/app:pull")
    r = httpx.post(f"{server.url}/v2/alice/app/blobs/uploads/", headers={"Authorization": f"Bearer {pull_only}"})
    assert r.status_code == 401
    assert challenge_params(r) == {"realm": f"{server.url}/token", "service": "minidock",
                                   "scope": "repository:alice/app:pull,push", "error": "insufficient_scope"}


def test_secrets_never_in_responses(auth_server: StartServer, data_dir: Path) -> None:
    seed(data_dir)
    server = auth_server("private")
    secrets = [USERS["alice"], "wrong-password-123", base64.b64encode(b"alice:wrong-password-123").decode()]
    client = BearerClient(server.url, ("alice", "wrong-password-123"))
    client.request("GET", "/v2/alice/app/manifests/v1")
    good = BearerClient(server.url, ALICE)
    good.request("GET", "/v2/alice/app/manifests/v1")
    with httpx.Client(base_url=server.url) as raw:
        client.seen += [raw.get("/v2/", auth=("alice", "wrong-password-123")),
                        raw.get("/v2/", headers={"Authorization": "Basic !!!" + USERS["alice"]}),
                        raw.post("/token", data={"grant_type": "password", "username": "alice",
                                                 "password": "wrong-password-123"})]
    for response in client.seen + good.seen:
        text = response.text + json.dumps(dict(response.headers))
        for secret in secrets:
            assert secret not in text
    log = " ".join(f"{r.method} {r.target}" for r in server.request_log)
    assert not any(secret in log for secret in secrets) and "/token" in log
    assert USERS["alice"] not in repr(server.auth)


def test_add_user(tmp_path: Path) -> None:
    path = tmp_path / "htpasswd"
    add_user(path, "carol", "first", rounds=4)
    add_user(path, "dave", "second", rounds=4)
    add_user(path, "carol", "third", rounds=4)  # replaces, does not duplicate
    lines = path.read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["dave", "carol"]
    assert all(line.split(":", 1)[1].startswith("$2y$") for line in lines)
    assert path.stat().st_mode & 0o777 == 0o600
    assert bcrypt.checkpw(b"third", load_htpasswd(path)["carol"])
    auth = Auth("private", path)
    assert auth.check_password("carol", "third") and not auth.check_password("carol", "first")
    assert not auth.check_password("nobody", "third")
    for user, password in (("Carol", "x"), ("a:b", "x"), ("", "x"), ("ok", ""), ("ok", "x" * 73), ("ok", "a\nb")):
        with pytest.raises(InvalidArgument):
            add_user(path, user, password)
    with pytest.raises(InvalidArgument):
        Auth("public")  # no htpasswd
    with pytest.raises(InvalidArgument):
        Auth("secret", path)  # type: ignore[arg-type]


def test_users_added_while_running_can_log_in(auth_server: StartServer, htpasswd: Path, tmp_path: Path) -> None:
    local = tmp_path / "htpasswd"
    shutil.copy(htpasswd, local)
    with RegistryServer(tmp_path / "data", auth_mode="private", htpasswd=local) as server:
        assert httpx.get(f"{server.url}/v2/", auth=("erin", "erin-pw")).status_code == 401
        add_user(local, "erin", "erin-pw", rounds=4)
        assert httpx.get(f"{server.url}/v2/", auth=("erin", "erin-pw")).status_code == 200


@pytest.mark.integration
def test_htpasswd_tool_interop(tmp_path: Path) -> None:
    """``htpasswd -B`` (apache2-utils) writes what we read, and verifies what we write."""
    htpasswd = need("htpasswd")
    path = tmp_path / "htpasswd"
    subprocess.run([htpasswd, "-B", "-C", "4", "-b", "-c", str(path), "frank", "frank-pw"], check=True,
                   capture_output=True)
    add_user(path, "gina", "gina-pw", rounds=4)
    assert path.read_text().startswith("frank:$2y$")
    auth = Auth("private", path)
    assert auth.check_password("frank", "frank-pw") and auth.check_password("gina", "gina-pw")
    verify = subprocess.run([htpasswd, "-v", "-b", str(path), "gina", "gina-pw"], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    wrong = subprocess.run([htpasswd, "-v", "-b", str(path), "gina", "nope"], capture_output=True, text=True)
    assert wrong.returncode != 0
