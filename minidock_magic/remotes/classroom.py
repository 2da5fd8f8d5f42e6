"""What a class pushed: every repository and tag of a registry, read through its HTTP API
(catalog, tags, manifests), so it works against any registry — ours, distribution, a hub service.

Each row is one tag: whose it is (the first part of the repository, a student's namespace),
its layers, and how many of them the lesson's base image already had — a student who built
on busybox shares its layer, and the registry stores it once. The graph is lesson 7's registry
diagram for the whole class: repositories and the blobs they share.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from html import escape
from typing import ClassVar

from ..diagrams import LayerGraph, registry_graph
from ..errors import MinidockError, Unauthorized
from ..oci.descriptor import Descriptor
from ..oci.digest import Digest
from ..oci.manifest import Index, Manifest, parse_any
from ..results import Tabular, human_size
from .client import RegistryClient
from .credentials import server_host
from .session import Engine, open_client, parse_platform
from .trace import Sink


@dataclass(frozen=True, slots=True)
class PushedTag:
    repository: str
    tag: str
    digest: Digest | None          # None: the tag's manifest could not be read (its error says why)
    layers: tuple[Descriptor, ...] = ()
    config: Descriptor | None = None
    shared_with_base: int = 0
    error: str = ""

    @property
    def student(self) -> str:
        return self.repository.split("/", 1)[0] if "/" in self.repository else "-"

    @property
    def own_bytes(self) -> int:
        """Bytes of the layers the base image does not have: what the student added."""
        return sum(layer.size for layer in self.layers[self.shared_with_base:])


@dataclass(frozen=True, repr=False)
class ClassReport(Tabular):
    registry: str
    base: str
    rows: list[PushedTag]
    headers: ClassVar[list[str]] = ["STUDENT", "REPOSITORY", "TAG", "DIGEST", "LAYERS",
                                    "SHARED WITH BASE", "OWN SIZE"]

    @property
    def caption(self) -> str:  # type: ignore[override]
        return f"What the class pushed to {self.registry} (base image: {self.base})"

    def cells(self) -> list[list[str]]:
        return [[r.student, r.repository, r.tag, r.digest.short if r.digest else "-",
                 str(len(r.layers)) if r.digest else r.error, str(r.shared_with_base) if r.digest else "-",
                 human_size(r.own_bytes) if r.digest else "-"] for r in self.rows]

    def students(self) -> list[str]:
        return sorted({r.student for r in self.rows})

    def graph(self) -> LayerGraph:
        """Repositories and the blobs (config and layers) they share, each stored once."""
        contents: dict[str, tuple[list[str], set[tuple[str, int]]]] = {}
        for row in self.rows:
            tags, blobs = contents.setdefault(row.repository, ([], set()))
            tags.append(row.tag)
            blobs.update((str(d.digest), d.size) for d in (*row.layers, *([row.config] if row.config else [])))
        return registry_graph([(name, tags, sorted(blobs)) for name, (tags, blobs) in contents.items()])

    def __str__(self) -> str:
        summary = (f"{len(self.students())} students, {len({r.repository for r in self.rows})} "
                   f"repositories, {len(self.rows)} tags on {self.registry}")
        return f"{super().__str__()}\n{summary}"

    def _repr_html_(self) -> str:
        html = super()._repr_html_()
        try:
            return html + self.graph().svg()
        except MinidockError as error:  # no Graphviz: the table alone, and why
            return html + f"<p>{escape(str(error))}</p>"


def survey(engine: Engine, registry: str, base: Manifest, base_name: str, *,
           trace: Sink | None = None, insecure: bool | None = None) -> ClassReport:
    """Every tag of every repository the login for ``registry`` may see, against ``base``."""
    host = server_host(registry)
    base_layers = [layer.digest for layer in base.layers]
    rows: list[PushedTag] = []
    with open_client(engine, host, trace=trace, insecure=insecure) as client:
        # Log in first: a registry answers an anonymous catalog too, without the repositories
        # only this login may see (a teacher's view includes the students' private drafts).
        with contextlib.suppress(Unauthorized):
            client.ping()
        for repository in client.catalog():
            for tag in sorted(client.tags(repository)):
                rows.append(_read_tag(client, repository, tag, base_layers))
    return ClassReport(host, base_name, rows)


def _read_tag(client: RegistryClient, repository: str, tag: str, base_layers: list[Digest]) -> PushedTag:
    try:
        descriptor, raw = client.get_manifest(repository, tag)
        document = parse_any(raw, descriptor.media_type)
        if isinstance(document, Index):  # a multi-platform image: the one this host would run
            chosen = document.select(parse_platform(None))
            document = Manifest.parse(client.get_manifest(repository, str(chosen.digest))[1])
    except MinidockError as error:
        return PushedTag(repository, tag, None, error=str(error)[:60])
    layers = document.layers
    return PushedTag(repository, tag, descriptor.digest, layers, document.config,
                     shared_prefix([layer.digest for layer in layers], base_layers))


def shared_prefix(layers: list[Digest], base: list[Digest]) -> int:
    """How many of an image's bottom layers are the base image's (layers stack: only a common
    bottom is shared; a base layer appearing higher up is a coincidence, not sharing).

    >>> shared_prefix(["a", "b", "c"], ["a", "b"]), shared_prefix(["x", "a"], ["a"])
    (2, 0)
    """
    count = 0
    for mine, theirs in zip(layers, base):
        if mine != theirs:
            break
        count += 1
    return count
