"""``--auth jupyterhub``: the class registry takes the hub's API tokens, checked by JupyterHub's own
HubAuth against a stand-in for the hub's REST API (``/hub/api/user``, ``/hub/api/users/NAME``).
The real hub, with real users and kernels, is tests/hub/."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from minidock_magic.errors import InvalidArgument
from minidock_magic.registry import RegistryServer

from .conftest import Pusher, check_response, make_image
from .test_auth import BearerClient, try_pull, try_push

SERVICE_TOKEN = "service-token-Zq8"
TOKENS = {"alice-token-1": "alice", "bob-token-2": "bob", "teacher-token-3": "teacher"}
ADMINS = {"teacher"}


class FakeHub(ThreadingHTTPServer):
    """The two endpoints the registry asks, and a count of each question asked."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HubAPI)
        self.asked: Counter[str] = Counter()
        self.seen_tokens: list[str] = []


class _HubAPI(BaseHTTPRequestHandler):
    server: FakeHub

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        token = self.headers.get("Authorization", "").removeprefix("token ")
        self.server.seen_tokens.append(token)
        if self.path == "/hub/api/user":
            self.server.asked["user"] += 1
            name = TOKENS.get(token)
            # the identify scopes only: a server's token does not show "admin"
            return self._answer(200, {"kind": "user", "name": name}) if name else self._answer(403, {})
        if self.path.startswith("/hub/api/users/") and token == SERVICE_TOKEN:
            self.server.asked["admin"] += 1
            name = self.path.rsplit("/", 1)[1]
            return self._answer(200, {"kind": "user", "name": name, "admin": name in ADMINS})
        return self._answer(403, {})

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    server = FakeHub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hub_service_env(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the hub gives a service it runs."""
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("JUPYTERHUB_API_URL", f"http://127.0.0.1:{hub.server_address[1]}/hub/api")


@pytest.fixture
def class_registry(hub_service_env: None, data_dir: Path) -> Iterator[RegistryServer]:
    with RegistryServer(data_dir, auth_mode="jupyterhub") as server:
        yield server


def seed(data_dir: Path, *names: str) -> None:
    with RegistryServer(data_dir) as server, httpx.Client(base_url=server.url) as client:
        for name in names:
            Pusher(client).image(name, "v1", make_image(name.encode()))


ALICE, BOB, TEACHER = ("alice", "alice-token-1"), ("bob", "bob-token-2"), ("teacher", "teacher-token-3")


def test_students_push_home_pull_public_and_teacher_deletes(hub_service_env: None, data_dir: Path) -> None:
    seed(data_dir, "alice/app", "alice/private/draft")
    with RegistryServer(data_dir, auth_mode="jupyterhub") as server, \
            httpx.Client(base_url=server.url, event_hooks={"response": [check_response]}) as client:
        assert try_push(client, "alice/app", ALICE) == 201
        assert try_push(client, "alice/app", BOB) == 403           # not Bob's namespace
        assert try_push(client, "alice/app", ("alice", "bob-token-2")) == 401  # Bob's token, Alice's name
        assert try_push(client, "alice/app", None) == 401
        assert try_pull(client, "alice/app", BOB) == 200 and try_pull(client, "alice/app", None) == 200
        assert try_pull(client, "alice/private/draft", ALICE) == 200
        assert try_pull(client, "alice/private/draft", BOB) == 403
        assert try_pull(client, "alice/private/draft", None) == 401
        catalog = client.get("/v2/_catalog", auth=BOB).json()["repositories"]
        assert catalog == ["alice/app"]                              # Bob is not shown Alice's drafts
        assert client.get("/v2/_catalog", auth=ALICE).json()["repositories"] == ["alice/app",
                                                                                "alice/private/draft"]
        digest = client.get("/v2/alice/app/manifests/v1", auth=ALICE).headers["Docker-Content-Digest"]
        assert client.delete(f"/v2/alice/app/manifests/{digest}", auth=BOB).status_code == 403
        assert try_pull(client, "alice/private/draft", TEACHER) == 200
        assert client.delete(f"/v2/alice/app/manifests/{digest}", auth=TEACHER).status_code == 202


def test_hub_token_as_bearer_and_token_flow(class_registry: RegistryServer, hub: FakeHub) -> None:
    with httpx.Client(base_url=class_registry.url, event_hooks={"response": [check_response]}) as client:
        for scheme in ("Bearer", "token"):
            r = client.post("/v2/alice/app/blobs/uploads/", headers={"Authorization": f"{scheme} alice-token-1"})
            assert r.status_code == 202, r.text
        assert client.get("/v2/", headers={"Authorization": "Bearer forged"}).status_code == 401
    flow = BearerClient(class_registry.url, ALICE)    # docker's way: Basic at /token, then our JWT
    assert flow.request("POST", "/v2/alice/app/blobs/uploads/").status_code == 202
    assert flow.token_requests == 1


def test_tokens_are_cached_briefly_and_never_echoed(class_registry: RegistryServer, hub: FakeHub) -> None:
    with httpx.Client(base_url=class_registry.url) as client:
        answers = [client.get("/v2/alice/app/tags/list", auth=ALICE) for _ in range(5)]
        answers.append(client.get("/v2/", auth=("alice", "wrong-token")))
    assert hub.asked["user"] == 2                     # one question per token, then HubAuth's cache
    assert hub.asked["admin"] == 1                    # is alice a teacher? asked once, then cached
    for answer in answers:
        assert "alice-token-1" not in answer.text and "alice-token-1" not in str(answer.headers)


def test_without_a_hub_it_says_so(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    with pytest.raises(InvalidArgument, match="JupyterHub service"):
        RegistryServer(data_dir, auth_mode="jupyterhub")


def test_login_inside_a_hub_uses_the_hub_token(class_registry: RegistryServer, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from minidock_magic.facade import Minidock
    from minidock_magic.magics import run_command
    from minidock_magic.remotes.credentials import config_key

    engine = Minidock(tmp_path / "store")
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "bob-token-2")   # what a student's kernel is given
    monkeypatch.setenv("MINIDOCK_CLASS_REGISTRY", class_registry.address)   # what the hub says
    elsewhere = run_command(engine, ["login", "127.0.0.2:5999"])
    assert "no password given" in repr(elsewhere)   # the hub token goes to the class registry only
    run_command(engine, ["login", class_registry.address])
    stored = json.loads((tmp_path / "store" / "config.json").read_text())["auths"]
    assert config_key(class_registry.address) in stored
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "stale-token")
    answer = run_command(engine, ["login", class_registry.address])
    assert "incorrect username or password" in repr(answer)


def test_the_teacher_lists_the_whole_class(hub_service_env: None, data_dir: Path, tmp_path: Path) -> None:
    from minidock_magic.commands import Streams, build_parser
    from minidock_magic.facade import Minidock

    seed(data_dir, "alice/app", "alice/private/draft")
    with RegistryServer(data_dir, auth_mode="jupyterhub") as server:
        teacher = Minidock(tmp_path / "teacher")
        teacher.login(server.address, *TEACHER)
        args = build_parser().parse_args(["class", server.address])
        report = args.handler(teacher, args, Streams())
        assert [(r.repository, r.tag) for r in report.rows] == [("alice/app", "v1"), ("alice/private/draft", "v1")]
        anonymous = Minidock(tmp_path / "anonymous")
        args = build_parser().parse_args(["class", server.address])
        assert [r.repository for r in args.handler(anonymous, args, Streams()).rows] == ["alice/app"]


def test_a_hub_that_does_not_answer_is_a_503_not_a_denial(class_registry: RegistryServer, hub: FakeHub) -> None:
    hub.shutdown()
    hub.server_close()
    with httpx.Client(base_url=class_registry.url, event_hooks={"response": []}) as client:
        answer = client.get("/v2/alice/app/tags/list", auth=ALICE)
    assert answer.status_code == 503 and "cannot check the token with the hub" in answer.text
    assert "alice-token-1" not in answer.text
