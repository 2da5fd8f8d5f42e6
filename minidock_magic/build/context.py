"""Where COPY reads from: the build context (minus ``.dockerignore``) or an earlier stage's rootfs.

Both are a :class:`SourceTree`: a directory on the host treated as ``/`` (symlinks in a source
path are followed *inside* it, never out of it), with optional ignore rules. :meth:`select`
turns a COPY's source words (wildcards allowed) into files, and :func:`content_hash` says what
those files are for the build cache: paths, types, modes, link targets and contents — not
mtimes or owners, which a fresh checkout changes without changing the build.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..diff.safepath import resolve_parts
from ..errors import InvalidArgument, NotFound
from .ignore import IgnoreRules

DOCKERIGNORE = ".dockerignore"
_WILDCARD = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Source:
    path: Path          # on the host, symlinks already followed
    name: str           # the last component, for "COPY a.txt /dir/" -> /dir/a.txt
    rel: str            # inside the tree, e.g. "src/a.txt" ("" for the root)


@dataclass(frozen=True, slots=True)
class Entry:
    rel: str            # relative to the copied source: "" is the source itself
    path: Path
    st: os.stat_result


class SourceTree:
    def __init__(self, root: Path, ignore: IgnoreRules | None = None, *, label: str) -> None:
        self.root, self.ignore, self.label = Path(root), ignore or IgnoreRules(), label

    @classmethod
    def context(cls, root: Path) -> SourceTree:
        if not root.is_dir():
            raise NotFound(f"build context {root} is not a directory")
        ignore_file = root / DOCKERIGNORE
        rules = IgnoreRules.parse(ignore_file.read_text()) if ignore_file.is_file() else IgnoreRules()
        return cls(root, rules, label="build context")

    def excluded(self, rel: str) -> bool:
        return self.ignore.excluded(rel)

    def _clean(self, word: str) -> str:
        relative = posixpath.normpath(word.lstrip("/") or ".")
        if relative == ".." or relative.startswith("../"):
            if self.label == "build context":  # docker refuses; a stage's rootfs just clamps
                raise InvalidArgument(f"forbidden path outside the build context: {word}")
            relative = posixpath.normpath("/" + relative).lstrip("/") or "."
        return "" if relative == "." else relative

    def select(self, word: str) -> list[Source]:
        """The files a COPY source word names (sorted, as docker copies them)."""
        rel = self._clean(word)
        if _WILDCARD & set(rel):
            found = sorted(self._glob(rel.split("/") if rel else [], ""))
            if not found:
                raise NotFound(f"no source files were specified: {word} matches nothing in the "
                               f"{self.label}" + (" (or only files .dockerignore excludes)"
                                                  if self.ignore.patterns else ""))
            return [self._source(r, word) for r in found]
        return [self._source(rel, word)]

    def _glob(self, parts: list[str], prefix: str) -> Iterator[str]:
        if not parts:
            if not self.excluded(prefix):
                yield prefix
            return
        head, rest = parts[0], parts[1:]
        directory = self.root.joinpath(*resolve_parts(self.root, prefix, follow_final=True))
        try:
            names = sorted(os.listdir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        for name in names:
            if fnmatch.fnmatchcase(name, head) if _WILDCARD & set(head) else name == head:
                yield from self._glob(rest, f"{prefix}/{name}" if prefix else name)

    def _source(self, rel: str, word: str) -> Source:
        real = resolve_parts(self.root, rel, follow_final=True)
        path = self.root.joinpath(*real)
        if (rel and self.excluded(rel)) or not os.path.lexists(path):
            raise NotFound(f"{word}: not found in the {self.label}" + (
                " (or excluded by .dockerignore)" if self.ignore.patterns else ""))
        return Source(path, posixpath.basename(rel) or "", rel)

    def walk(self, source: Source) -> Iterator[Entry]:
        """The source itself, then (for a directory) everything under it, parents first;
        symlinks inside are kept as links, ignored files are left out."""
        st = os.stat(source.path)  # the source word's own symlinks are followed, as docker does
        yield Entry("", source.path, st)
        if stat.S_ISDIR(st.st_mode):
            yield from self._walk_dir(source.path, source.rel, "")

    def _walk_dir(self, directory: Path, tree_rel: str, rel: str) -> Iterator[Entry]:
        with os.scandir(directory) as it:
            children = sorted(it, key=lambda e: e.name)
        for child in children:
            child_tree = f"{tree_rel}/{child.name}" if tree_rel else child.name
            child_rel = f"{rel}/{child.name}" if rel else child.name
            st = child.stat(follow_symlinks=False)
            is_dir = stat.S_ISDIR(st.st_mode)
            if self.excluded(child_tree):
                if is_dir and self.ignore.may_include_below(child_tree):
                    inner = list(self._walk_dir(Path(child.path), child_tree, child_rel))
                    if inner:  # a re-included file needs its directory
                        yield Entry(child_rel, Path(child.path), st)
                        yield from inner
                continue
            yield Entry(child_rel, Path(child.path), st)
            if is_dir:
                yield from self._walk_dir(Path(child.path), child_tree, child_rel)


def content_hash(tree: SourceTree, sources: list[Source]) -> str:
    """sha256 over what a COPY would copy, in order: for each entry its path, type, mode and
    link target or content digest."""
    total = hashlib.sha256()
    for index, source in enumerate(sources):
        total.update(f"source {index} {source.name}\n".encode())
        for entry in tree.walk(source):
            mode = entry.st.st_mode
            if stat.S_ISREG(mode):
                what = "f " + _file_digest(entry.path)
            elif stat.S_ISDIR(mode):
                what = "d"
            elif stat.S_ISLNK(mode):
                what = "l " + os.readlink(entry.path)
            else:
                what = f"o {stat.S_IFMT(mode)}"
            total.update(f"{entry.rel}\0{stat.S_IMODE(mode):o}\0{what}\n".encode("utf-8", "surrogateescape"))
    return "sha256:" + total.hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
