"""The words the kit shows a student, in English and Chinese: one small catalogue and one setting.

The language is chosen once per kernel — ``%config DockMagics.language = 'zh'``, or
``use_language("zh")`` (what the Chinese lessons' first cell does), or ``$MINIDOCK_LANG`` — and
read by everything that draws or explains: diagram labels, the checker's answers, the trace
summary. The engine's own errors stay English (they are what a search engine finds), followed in
Chinese by a short gloss of their kind.

>>> text("read_only", "zh"), text("shared_by", "en", count=2)
('只读', 'shared by 2 images')
"""

from __future__ import annotations

import os

LANGUAGES = ("en", "zh")

_language: str | None = None

#: key -> (English, Chinese); ``{name}`` fields are filled by ``text(key, lang, name=…)``.
CATALOGUE: dict[str, tuple[str, str]] = {
    # stacked-layer pictures (diagrams.py)
    "read_only": ("R/O", "只读"),
    "writable": ("R/W", "可写"),
    "shared_by": ("shared by {count} images", "{count} 个镜像共享"),
    "image_id": ("ID {id}", "ID {id}"),
    "container": ("container {name}", "容器 {name}"),
    "writable_layer": ("writable layer", "可写层"),
    "images_title": ("Images stacked on their layers (base at the bottom); shared layers drawn once",
                     "镜像及其层（底层在最下面）；共享的层只画一次"),
    "registry_title": ("A registry: repositories and the blobs they use (each blob stored once)",
                       "仓库服务器：各仓库及其使用的 blob（每个 blob 只存一份）"),
    "tags": ("tags: {tags}", "标签：{tags}"),
    "in_repositories": ("in {count} repositories", "{count} 个仓库共用"),
    "blob": ("blob", "blob"),
    # the five kinds of sha256 of one image (diagrams.digest_graph)
    "digests_title": ("One image, five kinds of sha256", "一个镜像，五种 sha256"),
    "name": ("name {name}", "名字 {name}"),
    "manifest_digest": ("manifest digest\n{digest}\nregistries, NAME@sha256:…",
                        "manifest 摘要\n{digest}\n仓库服务器、名字@sha256:… 用它"),
    "config_digest": ("config digest = IMAGE ID\n{digest}\n%dock images shows it",
                      "config 摘要 = IMAGE ID\n{digest}\n%dock images 显示它"),
    "layer_digest": ("layer digest (compressed blob)\n{digest}\n{size}",
                     "层摘要（压缩后的 blob）\n{digest}\n{size}"),
    "diff_id": ("diff_id (uncompressed tar)\n{digest}", "diff_id（未压缩的 tar）\n{digest}"),
    "chain_id": ("ChainID (this layer + all below)\n{digest}", "ChainID（本层 + 下面所有层）\n{digest}"),
    # the lessons' one-line host summary
    "isolation": ("Isolation on this machine: {kind} — {meaning} (full report: %dock info)",
                  "本机的隔离方式：{kind}——{meaning}（完整报告：%dock info）"),
    "isolation_namespaces": ("real Linux namespaces", "真正的 Linux 命名空间"),
    "isolation_rootless": ("Linux namespaces inside a user namespace, no root needed",
                           "在用户命名空间里使用 Linux 命名空间，无需 root"),
    "isolation_proot": ("proot, a user-space fallback: the host forbids namespaces",
                        "proot，用户态替代方案：宿主机禁止命名空间"),
    "isolation_none": ("none: containers cannot run here", "无：这里不能运行容器"),
    # a gloss after an engine error (the error itself stays as the engine says it)
    "error_Unauthorized": ("", "（未授权：需要先登录这个仓库服务器）"),
    "error_Denied": ("", "（被拒绝：这个账号没有这项权限）"),
    "error_NotFound": ("", "（找不到）"),
    "error_Conflict": ("", "（冲突：在当前状态下不能这样做）"),
    "error_DigestMismatch": ("", "（内容与摘要不符：数据已损坏）"),
    "error_InvalidArgument": ("", "（参数不对）"),
    "error_Unavailable": ("", "（服务不可用）"),
    # the grouped summary of push/pull --trace
    "trace_title": ("{count} HTTP requests, grouped by step (the terminal's --trace shows each one):",
                    "{count} 个 HTTP 请求，按步骤分组（在终端里 --trace 会逐条显示）："),
    "trace_auth": ("log in (token)", "登录（令牌）"),
    "trace_check": ("check: does the registry have it?", "检查：仓库服务器上已经有了吗？"),
    "trace_mount": ("mount: borrow a blob from another repository", "挂载：从另一个仓库借用 blob"),
    "trace_upload": ("upload: start, send the bytes", "上传：开始，发送内容"),
    "trace_commit": ("commit: the upload becomes a blob", "提交：上传的内容成为 blob"),
    "trace_manifest": ("manifest: the tag now points at the image", "manifest：标签现在指向这个镜像"),
    "trace_manifest_read": ("manifest: which image does the tag name?", "manifest：这个标签指的是哪个镜像？"),
    "trace_pull": ("download: the blobs not here yet", "下载：本地还没有的 blob"),
    "trace_other": ("other", "其他"),
}


def use_language(lang: str) -> str:
    """Choose the language of everything the kit explains in this kernel: ``"en"`` or ``"zh"``."""
    global _language
    _language = normalise(lang)
    return _language


def current_language(lang: str | None = None) -> str:
    """``lang`` if given, else what ``use_language`` chose, else ``$MINIDOCK_LANG``, else English."""
    if lang is not None:
        return normalise(lang)
    if _language is not None:
        return _language
    return normalise(os.environ.get("MINIDOCK_LANG", "en"), strict=False)


def normalise(lang: str, *, strict: bool = True) -> str:
    short = lang.lower().replace("_", "-").split("-")[0]
    if short in LANGUAGES:
        return short
    if strict:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return "en"


def gloss(error: BaseException, lang: str | None = None) -> str:
    """A few words after an engine error in the reader's language ('' in English, where the
    error already says it): the nearest kind of error the catalogue knows.

    >>> from minidock_magic.errors import Unauthorized
    >>> gloss(Unauthorized("authentication required"), "zh"), gloss(KeyError(), "zh")
    ('（未授权：需要先登录这个仓库服务器）', '')
    """
    for kind in type(error).__mro__:
        if f"error_{kind.__name__}" in CATALOGUE:
            return text(f"error_{kind.__name__}", lang)
    return ""


def text(key: str, lang: str | None = None, **fields: object) -> str:
    """The catalogue's words for ``key`` in ``lang`` (default: the kernel's language)."""
    en, zh = CATALOGUE[key]
    chosen = zh if current_language(lang) == "zh" else en
    return chosen.format(**fields) if fields else chosen


__all__ = ["CATALOGUE", "LANGUAGES", "current_language", "gloss", "normalise", "text", "use_language"]
