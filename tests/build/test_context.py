""".dockerignore rules, selecting COPY sources, and the content hash the cache keys on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minidock_magic.build.context import SourceTree, content_hash
from minidock_magic.build.ignore import IgnoreRules
from minidock_magic.errors import InvalidArgument, NotFound


@pytest.mark.parametrize(("patterns", "path", "excluded"), [
    ("*.md", "README.md", True),
    ("*.md", "docs/README.md", False),          # '*' stays in one directory
    ("**/*.md", "docs/deep/README.md", True),
    ("**/*.md", "README.md", True),              # '**' also matches zero directories
    ("docs", "docs/a/b.txt", True),              # a directory pattern covers what is inside
    ("/docs/", "docs/a", True),                  # leading and trailing '/' are dropped
    ("docs/**", "docs", False),                  # … but 'docs/**' needs something below docs
    ("a/**/z", "a/b/c/z", True),
    ("a/?.txt", "a/b.txt", True),
    ("a/?.txt", "a/bc.txt", False),
    ("[a-c].txt", "b.txt", True),
    ("[!a-c].txt", "b.txt", False),
    ("*\n!keep.txt", "keep.txt", False),
    ("*\n!keep.txt", "other.txt", True),
    ("!keep.txt\n*", "keep.txt", True),          # the last matching line wins
    ("logs\n!logs/important.log", "logs/important.log", False),
    ("logs\n!logs/important.log", "logs/debug.log", True),
    ("# comment\n\n  spaced.txt  ", "spaced.txt", True),
    ("./build", "build/out", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
])
def test_dockerignore_patterns(patterns: str, path: str, excluded: bool) -> None:
    assert IgnoreRules.parse(patterns).excluded(path) is excluded


def make_tree(root: Path, files: dict[str, str | None]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.mkdir(exist_ok=True)
        else:
            path.write_text(text)
    return root


def test_context_walk_leaves_ignored_files_out_but_keeps_exceptions(tmp_path: Path) -> None:
    make_tree(tmp_path, {".dockerignore": "**/*.log\nsecret\ncache\n!cache/keep\n",
                         "src/app.py": "x", "src/debug.log": "x", "secret": "pw",
                         "cache/junk": "x", "cache/keep": "x"})
    tree = SourceTree.context(tmp_path)
    everything = tree.select(".")
    assert [e.rel for e in tree.walk(everything[0])] == [
        "", ".dockerignore", "cache", "cache/keep", "src", "src/app.py"]
    with pytest.raises(NotFound, match="excluded by .dockerignore"):
        tree.select("secret")
    with pytest.raises(NotFound, match="matches nothing"):
        tree.select("src/*.log")


def test_wildcards_match_dotfiles_but_not_across_directories(tmp_path: Path) -> None:
    make_tree(tmp_path, {".env": "1", "a.txt": "", "b.txt": "", "sub/c.txt": ""})
    tree = SourceTree.context(tmp_path)
    assert [s.rel for s in tree.select("*.txt")] == ["a.txt", "b.txt"]
    assert [s.rel for s in tree.select(".e*")] == [".env"]
    assert [s.rel for s in tree.select("*/c.txt")] == ["sub/c.txt"]


def test_sources_cannot_leave_the_context(tmp_path: Path) -> None:
    make_tree(tmp_path, {"ctx/a": "", "outside": "secret"})
    (tmp_path / "ctx/link").symlink_to("../outside")
    tree = SourceTree.context(tmp_path / "ctx")
    with pytest.raises(InvalidArgument, match="outside the build context"):
        tree.select("../outside")
    with pytest.raises(NotFound):  # the link is followed inside the context, where nothing is
        tree.select("link")
    assert [s.rel for s in tree.select("/a")] == ["a"]  # absolute means "from the context root"


def test_content_hash_sees_contents_modes_and_links_but_not_mtimes(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {"d/a.txt": "one", "d/b.txt": "two"})
    (root / "d/link").symlink_to("a.txt")
    tree = SourceTree.context(root)

    def digest() -> str:
        return content_hash(tree, tree.select("d"))

    first = digest()
    os.utime(root / "d/a.txt", (1, 1))
    assert digest() == first
    (root / "d/a.txt").write_text("ONE")
    changed = digest()
    assert changed != first
    os.chmod(root / "d/a.txt", 0o755)
    assert digest() != changed
    (root / "d/link").unlink()
    (root / "d/link").symlink_to("b.txt")
    assert len({first, changed, digest()}) == 3


def test_ignored_files_do_not_change_the_hash(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {".dockerignore": "*.tmp\n", "d/a.txt": "one"})
    tree = SourceTree.context(root)
    before = content_hash(tree, tree.select("."))
    (root / "scratch.tmp").write_text("noise")
    assert content_hash(tree, tree.select(".")) == before
