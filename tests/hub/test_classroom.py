"""A whole class at once on a real JupyterHub: N students log in, their servers start as their
own system users, and each kernel runs lesson 7's key steps concurrently (over the websocket,
as JupyterLab does) — bootstrap, commit, log in with the hub token, push to the class registry
(a hub service), pull a neighbour's image and run it. Then isolation: a student cannot read
another's store, pull their private repository, overwrite or delete their work; the teacher
(hub admin) sees everything with ``minidock class`` and may delete.

Prints the wall time and peak memory per student and for the class (docs/classroom.md).
"""

from __future__ import annotations

import json
import os
import pwd
import stat
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from minidock_magic.commands import Streams, build_parser
from minidock_magic.facade import Minidock
from minidock_magic.remotes.classroom import ClassReport

from .hub import TEACHER, Classroom, classroom, log_in, start_server
from .kernel import Kernel, Reply
from .measure import MemorySampler

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STUDENTS = int(os.environ.get("MINIDOCK_HUB_STUDENTS", "5"))


@pytest.fixture(scope="module")
def room() -> Iterator[Classroom]:
    if os.geteuid() != 0:
        pytest.skip("creates system users and spawns their servers: needs root")
    yield from classroom(STUDENTS)


def lesson7(room: Classroom, me: str, neighbour: str, barrier: threading.Barrier) -> dict[str, object]:
    """One student's afternoon; returns what the test checks, and the student's wall time."""
    started = time.monotonic()
    registry = room.hub.registry
    token = log_in(room.hub, me)
    kernel = Kernel(start_server(room.hub, me, token), token)
    replies: dict[str, Reply] = {}

    def step(key: str, code: str) -> Reply:
        replies[key] = reply = kernel.execute(code)
        return reply

    try:
        for key, code in [
            ("load", "%load_ext minidock_magic"),
            ("where", "import os\nfrom minidock_magic.home import default_home\n"
                      "from minidock_magic.runtime import probe_host\n"
                      "caps = probe_host()\n"
                      "print(default_home(), caps.default_isolation(), bool(caps.subordinate_ids))\n"
                      "print(os.environ['JUPYTERHUB_USER'])"),
            ("bootstrap", "%dock bootstrap"),
            ("run", f"%dock run --name make-hello busybox sh -c 'echo \"echo Hello from {me}\" > /hello.sh'"),
            ("commit", "%dock commit -c 'CMD [\"sh\", \"/hello.sh\"]' make-hello hello:1"),
            ("rm", "%dock rm make-hello"),
            ("tag", f"%dock tag hello:1 {registry}/{me}/hello:1"),
            ("login", f"%dock login {registry}"),
            ("push", f"%dock push {registry}/{me}/hello:1"),
            ("tag private", f"%dock tag hello:1 {registry}/{me}/private/draft:1"),
            ("push private", f"%dock push {registry}/{me}/private/draft:1"),
        ]:
            step(key, code)
        barrier.wait(timeout=900)       # everyone has pushed: now use a neighbour's work
        for key, code in [
            ("pull neighbour", f"%dock pull {registry}/{neighbour}/hello:1"),
            ("run neighbour", f"%dock run --rm {registry}/{neighbour}/hello:1"),
            ("pull private", f"%dock pull {registry}/{neighbour}/private/draft:1"),
            ("tag over", f"%dock tag hello:1 {registry}/{neighbour}/hello:1"),
            ("push over", f"%dock push {registry}/{neighbour}/hello:1"),
            ("delete", DELETE.format(registry=registry, neighbour=neighbour)),
            ("read store", f"import os\ntry:\n    os.listdir('/home/{neighbour}/.local/share/minidock')\n"
                           "except PermissionError as e:\n    print('refused', e.errno)"),
        ]:
            step(key, code)
        barrier.wait(timeout=900)       # nobody leaves while a neighbour may still pull
    finally:
        kernel.close()
    return {"replies": replies, "seconds": time.monotonic() - started, "token": token}


DELETE = """\
import httpx, os
url = "http://{registry}/v2/{neighbour}/hello/manifests/1"
auth = {{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}}
accept = {{"Accept": "application/vnd.oci.image.manifest.v1+json"}}
digest = httpx.get(url, headers=auth | accept).headers["Docker-Content-Digest"]
print("delete", httpx.delete(url.rsplit("/", 1)[0] + "/" + digest, headers=auth).status_code)
"""


def test_a_class_on_jupyterhub(room: Classroom) -> None:
    hub, students = room.hub, room.students
    uids = {pwd.getpwnam(name).pw_uid: name for name in students}
    assert hub.process is not None
    sampler = MemorySampler(uids, hub.process.pid)
    sampler.start()
    barrier = threading.Barrier(len(students))
    started = time.monotonic()
    with ThreadPoolExecutor(len(students)) as pool:
        futures = {name: pool.submit(_guarded, lesson7, room, name, students[(i + 1) % len(students)], barrier)
                   for i, name in enumerate(students)}
        results = {name: future.result() for name, future in futures.items()}
    class_seconds = time.monotonic() - started
    sampler.stop()

    for i, me in enumerate(students):
        neighbour = students[(i + 1) % len(students)]
        r: dict[str, Reply] = results[me]["replies"]  # type: ignore[assignment]
        for key in ("load", "where", "bootstrap", "run", "commit", "rm", "tag", "login", "push",
                    "tag private", "push private", "pull neighbour", "run neighbour", "tag over", "delete",
                    "read store"):
            assert r[key].ok and "Error" not in r[key].text, f"{me}: {r[key]}"
        home = Path(pwd.getpwnam(me).pw_dir)
        with_range = str(me != room.without_subuids)   # rootless either way; uid 0 only without a range
        assert r["where"].text.split() == [str(home / ".local/share/minidock"), "rootless", with_range, me]
        assert "Login Succeeded" in r["login"].text
        assert f"Hello from {neighbour}" in r["run neighbour"].text
        assert "Error" in r["pull private"].text and "private repository" in r["pull private"].text
        assert "Error" in r["push over"].text and "denied" in r["push over"].text.lower()
        assert "delete 403" in r["delete"].text
        assert "refused 13" in r["read store"].text
        store = home / ".local/share/minidock"
        assert store.stat().st_uid == pwd.getpwnam(me).pw_uid
        assert stat.S_IMODE(home.stat().st_mode) & 0o077 == 0

    teacher_sees_all_and_deletes(room)
    log = hub.log()   # the hub's, its proxy's and the registry service's output
    assert "/v2/" in log and not any(str(results[n]["token"]) in log for n in students)
    numbers = {
        "students": len(students), "cores": os.cpu_count(),
        "class_wall_seconds": round(class_seconds, 1),
        "student_wall_seconds": {n: round(float(results[n]["seconds"]), 1) for n in students},  # type: ignore[arg-type]
        "student_peak_mib": {n: round(sampler.peak_kib[n] / 1024) for n in students},
        "hub_proxy_registry_peak_mib": round(sampler.peak_hub_kib / 1024),
        "class_peak_mib": round(sampler.peak_class_kib / 1024),
    }
    print("\nCLASSROOM", json.dumps(numbers))
    report_path = os.environ.get("MINIDOCK_HUB_REPORT")
    if report_path:
        Path(report_path).write_text(json.dumps(numbers, indent=2) + "\n")


def _guarded(function, room, me, neighbour, barrier):  # type: ignore[no-untyped-def]
    """A student who fails breaks the barrier, so the others fail fast instead of waiting."""
    try:
        return function(room, me, neighbour, barrier)
    except BaseException:
        barrier.abort()
        raise


def teacher_sees_all_and_deletes(room: Classroom) -> None:
    """The hub admin logs in with a hub token, lists the class (private drafts too) and deletes."""
    hub, students = room.hub, room.students
    token = hub.token_for(TEACHER)
    teacher = Minidock(hub.base / "teacher-store")
    teacher.login(hub.registry, TEACHER, token)
    args = build_parser().parse_args(["class", hub.registry])
    report = args.handler(teacher, args, Streams())
    assert isinstance(report, ClassReport)
    print(f"\n{report}")
    assert report.students() == sorted(students)
    names = {(r.repository, r.tag) for r in report.rows}
    for name in students:
        assert {(f"{name}/hello", "1"), (f"{name}/private/draft", "1")} <= names
    rows = [r for r in report.rows if r.repository == f"{students[0]}/hello"]
    assert rows[0].shared_with_base == 1 and len(rows[0].layers) == 2
    url = f"http://{hub.registry}/v2/{students[0]}/hello/manifests/{rows[0].digest}"
    assert httpx.delete(url, auth=(TEACHER, token)).status_code == 202
