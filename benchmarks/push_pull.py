"""Push and pull of the big image: our client and server against skopeo and CNCF distribution.

Each round measures four combinations, alternating ours and theirs:
ours→ours, skopeo→distribution, ours→distribution, skopeo→ours. The rows compare
end to end (ours→ours vs skopeo→distribution), the client alone (both into distribution) and
the server alone (skopeo into each). ``minidock pull`` stores the image's blobs without
unpacking them, as ``skopeo copy`` into an ``oci:`` layout does, so those are the pairs; ``podman
pull`` also unpacks every layer into its store, so its pair is ``minidock pull`` followed by
``minidock create`` (which unpacks the layers into snapshots). Every push goes to a freshly started, empty registry on a
new port, so neither client can skip or mount a blob it pushed before (skopeo's blob-info cache
and our ``remotes.json`` are keyed by host). Every pull goes into an empty store. Both sides run
as the command-line processes a user would type, start-up included; no progress output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from minidock_magic.facade import Minidock
from minidock_magic.oci.reference import Reference

from .context import Context, log
from .harness import Row, Target, alternate, timed
from .images import BIG
from .peers import DockerRegistry, OurRegistry, Podman, _Server, client_env, skopeo
from .tools import minidock_argv, remove_tree, run_timed
from .tools import run as check_output

NAME = "push_pull"
TARGET = Target("≤ 1× peer", ratio=1.0)
REPO = "bench/big:1"


def _oci_source(engine: Minidock) -> str:
    """skopeo reads our store directly: it is an OCI image layout."""
    return f"oci:{engine.layout.oci}:{Reference.parse(BIG)}"


class _Pusher:
    def __init__(self, ctx: Context) -> None:
        self.ctx, self.engine = ctx, ctx.big
        self.env = client_env(ctx.workspace)
        self.count = 0

    def _fresh(self, server: type[_Server]) -> tuple[_Server, Path]:
        self.count += 1
        root = self.ctx.dir(f"push-registry-{self.count}")
        return server(root), root  # type: ignore[call-arg]

    def ours(self, server: type[_Server]) -> float:
        registry, root = self._fresh(server)
        name = f"{registry.address}/{REPO}"
        self.engine.tag(BIG, name)
        try:
            return run_timed(*minidock_argv(), "--home", str(self.engine.home), "push", "-q", name,
                             env=self.env)
        finally:
            registry.stop()
            self.engine.names.remove(Reference.parse(name), self.engine.image(BIG).digest)
            remove_tree(root)

    def skopeo(self, server: type[_Server]) -> float:
        registry, root = self._fresh(server)
        try:
            return run_timed(*skopeo("copy", "-q", "--dest-tls-verify=false", _oci_source(self.engine),
                                     f"docker://{registry.address}/{REPO}"))
        finally:
            registry.stop()
            remove_tree(root)


class _Puller:
    """One registry of each kind, filled once (ours by our client, distribution by skopeo)."""

    def __init__(self, ctx: Context, ours: _Server, theirs: _Server) -> None:
        self.ctx, self.servers = ctx, {"ours": ours, "theirs": theirs}
        self.env = client_env(ctx.workspace)
        self.count = 0
        self._podman: Podman | None = None

    def _dest(self) -> Path:
        self.count += 1
        return self.ctx.dir(f"pull-dest-{self.count}")

    def ours(self, server: str) -> float:
        home = self._dest()
        try:
            return run_timed(*minidock_argv(), "--home", str(home), "pull", "-q",
                             f"{self.servers[server].address}/{REPO}", env=self.env)
        finally:
            remove_tree(home)

    def warm(self, server: str) -> float:
        """Our client in this (warm) process, as a notebook pulls: no interpreter start-up."""
        home = self._dest()
        try:
            engine = Minidock(home)
            return timed(lambda: engine.pull(f"{self.servers[server].address}/{REPO}", quiet=True))
        finally:
            remove_tree(home)

    def unpacking(self, server: str) -> float:
        """``minidock pull`` then ``minidock create``: fetched and unpacked, as ``podman pull``."""
        home = self._dest()
        name = f"{self.servers[server].address}/{REPO}"
        try:
            return (run_timed(*minidock_argv(), "--home", str(home), "pull", "-q", name, env=self.env)
                    + run_timed(*minidock_argv(), "--home", str(home), "create", name, "true",
                                env=self.env))
        finally:
            remove_tree(home)

    def podman(self, server: str) -> float:
        """``podman pull`` into a store of its own, emptied first (untimed): every layer fetched
        and unpacked, none shared with an image pulled before."""
        if self._podman is None:
            self._podman = Podman(self.ctx.dir("podman-pull"), self.ctx.dir("pp"))
        self._podman.clear()
        return self._podman.timed("pull", "-q", "--tls-verify=false",
                                  f"{self.servers[server].address}/{REPO}")

    def close(self) -> None:
        if self._podman is not None:
            self._podman.clear()

    def skopeo(self, server: str) -> float:
        dest = self._dest()
        try:
            return run_timed(*skopeo("copy", "-q", "--src-tls-verify=false",
                                     f"docker://{self.servers[server].address}/{REPO}",
                                     f"oci:{dest}:big"))
        finally:
            remove_tree(dest)


def _rows(verb: str, samples: list[list[float]], ours: str, theirs: str) -> list[Row]:
    end, peer, client, server = (tuple(s) for s in samples)
    return [
        Row(f"{verb}, end to end", f"minidock {verb} ↔ {ours}", f"skopeo ↔ {theirs}", end, peer,
            target=TARGET),
        Row(f"{verb}, client only", f"minidock {verb} ↔ {theirs}", f"skopeo ↔ {theirs}", client,
            peer, target=TARGET),
        Row(f"{verb}, server only", f"skopeo ↔ {ours}", f"skopeo ↔ {theirs}", server, peer,
            target=TARGET),
    ]


def _check_same_manifest(ctx: Context, ours: _Server, theirs: _Server) -> str:
    """Both registries must hold the very same image, or the comparison means nothing."""
    digests = {check_output(*skopeo("inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                           f"docker://{server.address}/{REPO}")).strip()
               for server in (ours, theirs)}
    local = str(ctx.big.image(BIG).digest)
    if digests != {local}:
        raise RuntimeError(f"registries hold different manifests: {digests}, local {local}")
    return local


def run(ctx: Context) -> list[Row]:
    pusher = _Pusher(ctx)
    image = ctx.big.image(BIG)
    log(f"push: {ctx.runs} rounds of [ours→ours, skopeo→distribution, ours→distribution, "
        f"skopeo→ours], {image.size / 1e6:.1f} MB compressed in {len(image.layers)} layers")
    pushes = alternate([lambda: pusher.ours(OurRegistry), lambda: pusher.skopeo(DockerRegistry),
                        lambda: pusher.ours(DockerRegistry), lambda: pusher.skopeo(OurRegistry)],
                       ctx.runs, log)
    rows = _rows("push", pushes, "minidock registry", "docker-registry")
    with OurRegistry(ctx.dir("pull-ours")) as ours, DockerRegistry(ctx.dir("pull-theirs")) as theirs:
        ctx.big.tag(BIG, f"{ours.address}/{REPO}")
        run_timed(*minidock_argv(), "--home", str(ctx.big.home), "push", "-q",
                  f"{ours.address}/{REPO}", env=client_env(ctx.workspace))
        check_output(*skopeo("copy", "-q", "--dest-tls-verify=false", _oci_source(ctx.big),
                    f"docker://{theirs.address}/{REPO}"))
        digest = _check_same_manifest(ctx, ours, theirs)
        puller = _Puller(ctx, ours, theirs)
        log(f"pull: {ctx.runs} rounds of [ours←ours, skopeo←distribution, ours←distribution, "
            f"skopeo←ours, ours in this process←distribution] of {digest[:19]}…")
        log("  and [minidock pull + create←distribution, podman pull←distribution]")
        measures: list[Callable[[], float]] = [
            lambda: puller.ours("ours"), lambda: puller.skopeo("theirs"),
            lambda: puller.ours("theirs"), lambda: puller.skopeo("ours"),
            lambda: puller.warm("theirs"), lambda: puller.unpacking("theirs"),
            lambda: puller.podman("theirs")]
        try:
            *pulls, warm, unpacking, podman = alternate(measures, ctx.runs, log)
        finally:
            puller.close()
    rows += _rows("pull", pulls, "minidock registry", "docker-registry")
    rows.append(Row("pull and unpack, client only", "`minidock pull` + `minidock create` ↔ "
                    "docker-registry", "`podman pull` ↔ docker-registry", tuple(unpacking),
                    tuple(podman), target=TARGET))
    rows.append(Row("pull, client only, warm process (as a notebook)",
                    "`engine.pull` ↔ docker-registry", "skopeo ↔ docker-registry", tuple(warm),
                    tuple(pulls[1]), target=TARGET))
    return rows

