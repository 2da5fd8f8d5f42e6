"""The registry client's transport, over http and https, and parallel layer downloads.

All in this (warm) process unless said otherwise, against docker-registry, each round
alternating the variants:

1. **Blob transfer**: the big image's manifest and every blob fetched by ``RegistryClient``
   into an empty store — with our transport (``remotes/transport.py``: ``http.client``,
   ``readinto`` 1 MiB) against httpx's own (``httpx.HTTPTransport``: httpcore, h11), over plain
   http and over https (a self-signed certificate, trusted by each side's ``verify``).
2. **An https client's set-up**, in a fresh process (what every CLI pull/push pays): import
   untimed, then ``RegistryClient(host)``, ``ping()`` (the first request: connection, TLS
   handshake, CA bundle) and ``close()`` — our transport against httpx's.
3. **``import httpx`` in a fresh process**, as ``minidock`` does it (httpx's own command-line
   client marked absent: ``cli._skip_httpx_cli``) and as is (it imports click, rich and
   pygments when they are installed) — what a CLI pull or push pays before its first request,
   and the most a CLI without httpx could save.
4. **Parallel layer downloads**: a 3-layer and a 10-layer image (busybox plus random layers, the
   same total size) fetched blob after blob, as ``pull`` does, against a thread pool over one
   client (``http.client`` and hashing release the GIL for each 1 MiB piece).
"""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from minidock_magic.facade import Minidock
from minidock_magic.oci.descriptor import Descriptor
from minidock_magic.oci.manifest import parse_any
from minidock_magic.remotes.client import RegistryClient
from minidock_magic.remotes.transport import StdlibTransport

from .context import Context, log
from .harness import Row, alternate, timed
from .images import BIG, LayerShape, child_image, write_tree
from .peers import DockerRegistry, client_env, skopeo
from .tools import remove_tree
from .tools import run as check_output

NAME = "transport"
REPO = "bench/t"
#: Threads for the parallel variant: skopeo and docker fetch up to 3 layers at once.
WORKERS = 3


def fetch(client: RegistryClient, engine: Minidock, tag: str, workers: int = 1) -> None:
    """The manifest, then the config and every layer into ``engine``'s store."""
    descriptor, raw = client.get_manifest(REPO, tag)
    manifest = parse_any(raw, descriptor.media_type)

    def one(blob: Descriptor) -> None:
        client.get_blob(REPO, blob, engine.content.writer(blob.digest, blob.size))

    one(manifest.config)
    if workers == 1:
        for layer in manifest.layers:
            one(layer)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, manifest.layers))


class _Fetcher:
    def __init__(self, ctx: Context, registry: DockerRegistry) -> None:
        self.ctx, self.registry, self.count = ctx, registry, 0

    def client(self, ours: bool) -> RegistryClient:
        cert = self.registry.certificate
        if ours:
            transport: httpx.BaseTransport = StdlibTransport(
                ssl.create_default_context(cafile=str(cert)) if cert else None)
        else:
            transport = httpx.HTTPTransport(verify=str(cert) if cert else True)
        return RegistryClient(self.registry.address, insecure=cert is None, transport=transport)

    def __call__(self, tag: str, *, ours: bool = True, workers: int = 1) -> float:
        self.count += 1
        home = self.ctx.dir(f"transport-{self.count}")
        try:
            engine = Minidock(home)
            with self.client(ours) as client:
                return timed(lambda: fetch(client, engine, tag, workers))
        finally:
            remove_tree(home)


SETUP = """\
import sys, time, httpx
from minidock_magic.remotes.client import RegistryClient
address, cert, ours = sys.argv[1], sys.argv[2], sys.argv[3] == "ours"
started = time.perf_counter()
transport = None if ours else httpx.HTTPTransport(verify=cert)
client = RegistryClient(address, insecure=False, transport=transport)
client.ping()
client.close()
print(time.perf_counter() - started)
"""


IMPORT = """\
import sys, time
if sys.argv[1] == "skip":
    from minidock_magic.cli import _skip_httpx_cli
    _skip_httpx_cli()
started = time.perf_counter()
import httpx
print(time.perf_counter() - started)
"""


def _import_httpx(skip_cli: bool, env: dict[str, str]) -> float:
    result = subprocess.run([sys.executable, "-c", IMPORT, "skip" if skip_cli else "as-is"], env=env,
                            capture_output=True, text=True, check=True)
    return float(result.stdout.strip())


def _setup(registry: DockerRegistry, ours: bool, env: dict[str, str]) -> float:
    """An https client made and used once, in a fresh process; the time it reports."""
    # Our transport trusts the certificate as httpx's default does: through SSL_CERT_FILE.
    result = subprocess.run([sys.executable, "-c", SETUP, registry.address, str(registry.certificate),
                             "ours" if ours else "httpx"],
                            env={**env, "SSL_CERT_FILE": str(registry.certificate)},
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the https client set-up failed:\n{result.stderr[-2000:]}")
    return float(result.stdout.strip())


def _image(ctx: Context, engine: Minidock, layers: int, total: int) -> str:
    """busybox plus ``layers - 1`` random layers of ``total`` bytes in all; its name."""
    name = f"bench/layers{layers}:1"
    per_layer = total // (layers - 1)
    trees = []
    for index in range(layers - 1):
        tree = ctx.dir(f"layers{layers}-{index}")
        write_tree(tree, LayerShape(4, per_layer // 4, False), seed=1000 * layers + index,
                   prefix=f"l{index}")
        trees.append(tree / f"l{index}")
    child_image(engine, "busybox", trees, name)
    return name


def _push(engine: Minidock, name: str, registry: DockerRegistry, tag: str) -> None:
    check_output(*skopeo("copy", "-q", "--dest-tls-verify=false",
                         f"oci:{engine.layout.oci}:docker.io/{name}",
                         f"docker://{registry.address}/{REPO}:{tag}"))


def run(ctx: Context) -> list[Row]:
    big = ctx.big
    total = 1 << 20 if ctx.quick else 32 << 20
    for layers in (3, 10):
        _image(ctx, big, layers, total)
    with DockerRegistry(ctx.dir("transport-http")) as plain, \
            DockerRegistry(ctx.dir("transport-https"), tls=True) as secure:
        for registry in (plain, secure):
            _push(big, BIG, registry, "big")
        for layers in (3, 10):
            _push(big, f"bench/layers{layers}:1", plain, f"layers{layers}")
        http, https = _Fetcher(ctx, plain), _Fetcher(ctx, secure)
        env = client_env(ctx.workspace)
        measures: list[Callable[[], float]] = [
            lambda: http("big"), lambda: http("big", ours=False),
            lambda: https("big"), lambda: https("big", ours=False),
            lambda: _setup(secure, True, env), lambda: _setup(secure, False, env),
            lambda: _import_httpx(True, env), lambda: _import_httpx(False, env),
            lambda: http("layers3"), lambda: http("layers3", workers=WORKERS),
            lambda: http("layers10"), lambda: http("layers10", workers=WORKERS)]
        log(f"transport: {ctx.runs} rounds of [big over http: ours, httpx's; over https: ours, "
            f"httpx's; https client set-up: ours, httpx's; import httpx: without its CLI, as is; 3 layers: one by one, {WORKERS} threads; "
            f"10 layers: one by one, {WORKERS} threads]")
        (ours_http, httpx_http, ours_https, httpx_https, ours_setup, httpx_setup, lean, full,
         seq3, par3, seq10, par10) = alternate(measures, ctx.runs, log)
    ours_label, httpx_label = "`StdlibTransport` (http.client)", "`httpx.HTTPTransport` (httpcore, h11)"
    size = f"{total / (1 << 20):.0f} MiB of layers on busybox"
    return [
        Row("registry client, big image's blobs over http (warm process)", ours_label, httpx_label,
            tuple(ours_http), tuple(httpx_http)),
        Row("registry client, big image's blobs over https (warm process)", ours_label, httpx_label,
            tuple(ours_https), tuple(httpx_https)),
        Row("registry client, https set-up and first request (fresh process, imports untimed)",
            ours_label, httpx_label, tuple(ours_setup), tuple(httpx_setup)),
        Row("`import httpx`, fresh process: as the `minidock` CLI does it, against as is",
            "httpx's own CLI module marked absent", "as is (imports click, rich, pygments)",
            tuple(lean), tuple(full)),
        Row(f"pull's blob fetches, 3 layers ({size}): {WORKERS} threads against one by one",
            f"{WORKERS} threads", "one by one (as `pull` does)", tuple(par3), tuple(seq3)),
        Row(f"pull's blob fetches, 10 layers ({size}): {WORKERS} threads against one by one",
            f"{WORKERS} threads", "one by one (as `pull` does)", tuple(par10), tuple(seq10)),
    ]
