"""The lessons' exercises: each looks at what the student left in the engine and says how far it got.

Ids are ``"<lesson>.<n>"``; the notebooks call ``check("4.1")``. A test never changes anything:
it reads names, manifests, configs, layer tars, writable layers, files in the lesson's home and,
for lesson 7, what a registry serves.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from ..diff.members import member_path
from ..errors import MinidockError, NotFound
from ..oci.compression import decompressed, detect_stream
from .backend import container_isolation, has_namespaces
from .checker import CANNOT, DONE, HINT, TODO, Msg, Outcome, exercise

# -- looking around --------------------------------------------------------------------------


def _image(engine: Any, name: str) -> Any | None:
    """The image a *name* points at (never the built-in busybox made on the fly), or None."""
    from ..oci.reference import Reference
    wanted = Reference.parse(name)
    for entry in engine.names.entries():
        if entry.reference == wanted:
            from ..images.image import load_image
            return load_image(engine.content, entry.target, (wanted,))
    return None


def _container(engine: Any, name: str) -> Any | None:
    try:
        return engine.containers.get(name)
    except NotFound:
        return None


def _layer_files(engine: Any, layer: Any) -> dict[str, tarfile.TarInfo]:
    """A layer's members by absolute path (``/hello.txt``), read as a stream from the store."""
    members = {}
    with engine.content.open(layer.digest) as blob:
        stream = decompressed(blob, detect_stream(blob))
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                members[member_path(member.name) or "/"] = member
    return members


def _image_files(engine: Any, image: Any) -> dict[str, tarfile.TarInfo]:
    files: dict[str, tarfile.TarInfo] = {}
    for layer in image.layers:
        files.update(_layer_files(engine, layer))
    return files


def _writable_file(engine: Any, config: Any, path: str) -> bytes | None:
    """A file the container added or changed, read from its writable layer (None if untouched)."""
    changes, source = engine.containers.writable_changes(config)
    if not any(str(change) in (f"A {path}", f"C {path}") for change in changes):
        return None
    from ..diff.safepath import read_in_root  # a running container may be swapping its dirs
    return read_in_root(source, path)


def _busybox(engine: Any) -> Any:
    """busybox as the store has it; a check never makes it (that would change the store)."""
    image = _image(engine, "busybox")
    if image is None:
        raise NotFound("busybox is not in this store any more: %dock bootstrap makes it again")
    return image


def _archive_tags(path: Path) -> list[str] | None:
    """The RepoTags a docker archive's manifest.json lists, or None if it is no such archive."""
    try:
        with tarfile.open(path) as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                return None
            manifest = json.load(member)
    except (OSError, tarfile.TarError, KeyError, ValueError):
        return None
    return [tag for entry in manifest for tag in entry.get("RepoTags") or []]


def _loaded_since_damage(engine: Any, corrupt: list[Any]) -> bool:
    """Was an image loaded (the names index rewritten) after the damaged blobs were written?"""
    index = Path(engine.layout.oci) / "index.json"
    damaged = [engine.content.path(d) for d in corrupt if engine.content.path(d).exists()]
    return bool(damaged) and index.stat().st_mtime_ns > max(p.stat().st_mtime_ns for p in damaged)


def _runs_programs(files: dict[str, tarfile.TarInfo]) -> bool:
    return any(path in files for path in ("/bin/sh", "/bin/busybox"))


# -- lesson 1: an image is a root filesystem ----------------------------------------------------


@exercise("1.1", "A directory becomes an image", "把一个目录变成镜像")
def rootfs_image(engine: Any) -> Outcome:
    image = _image(engine, "my-rootfs:1")
    if image is None:
        return TODO, Msg("no image my-rootfs:1 yet: an image is just files, so any directory can "
                         "become one",
                         "还没有镜像 my-rootfs:1：镜像就是文件，所以任何目录都能变成镜像",
                         then=Msg("make a directory with hello.txt in it, then %dock import DIR my-rootfs:1",
                                  "先建一个含 hello.txt 的目录，再运行 %dock import 目录 my-rootfs:1"))
    files = _image_files(engine, image)
    if "/hello.txt" not in files or not files["/hello.txt"].isreg():
        return HINT, Msg(f"my-rootfs:1 exists ({len(files)} entries) but has no file /hello.txt at "
                         "its root: put hello.txt directly in the directory you import",
                         f"my-rootfs:1 已存在（{len(files)} 个条目），但根目录下没有 /hello.txt："
                         "把 hello.txt 直接放在要导入的目录里")
    return DONE, Msg(f"my-rootfs:1 is a one-layer image whose root filesystem holds /hello.txt "
                     f"({files['/hello.txt'].size} bytes)",
                     f"my-rootfs:1 是只有一层的镜像，它的根文件系统里有 /hello.txt"
                     f"（{files['/hello.txt'].size} 字节）")


@exercise("1.2", "An image that can run a program", "一个能运行程序的镜像")
def runnable_rootfs(engine: Any) -> Outcome:
    image = _image(engine, "my-rootfs:2")
    if image is None:
        return TODO, Msg("no image my-rootfs:2 yet: a container can only run programs its image "
                         "contains, so start from files that have programs",
                         "还没有镜像 my-rootfs:2：容器只能运行镜像里有的程序，所以要从带程序的文件开始",
                         then=Msg("unpack busybox into a directory (%dock unpack busybox DIR), add "
                                  "hello.txt, import it as my-rootfs:2",
                                  "先把 busybox 解包到一个目录（%dock unpack busybox 目录），加上 hello.txt，"
                                  "再导入为 my-rootfs:2"))
    files = _image_files(engine, image)
    if not _runs_programs(files):
        return HINT, Msg("my-rootfs:2 holds no /bin/sh: a container can only run programs its "
                         "image's files contain. Start from busybox's files (%dock unpack)",
                         "my-rootfs:2 里没有 /bin/sh：容器只能运行镜像文件里有的程序。"
                         "从 busybox 的文件开始（%dock unpack）")
    if "/hello.txt" not in files:
        return HINT, Msg("my-rootfs:2 has a shell but no /hello.txt: add the file, then import again",
                         "my-rootfs:2 有 shell，但没有 /hello.txt：加上这个文件后重新导入")
    return DONE, Msg("my-rootfs:2 has programs and /hello.txt: %dock run --rm my-rootfs:2 cat "
                     "/hello.txt works",
                     "my-rootfs:2 既有程序又有 /hello.txt：%dock run --rm my-rootfs:2 cat /hello.txt "
                     "可以运行")


@exercise("1.3", "Save your image to a file", "把镜像保存成文件")
def saved_rootfs(engine: Any) -> Outcome:
    path = Path(engine.home) / "my-rootfs.tar"
    if not path.exists():
        return TODO, Msg(f"no archive {path.name} in HOME yet: an image can be written to one "
                         "ordinary tar file, as busybox was above",
                         f"HOME 里还没有归档文件 {path.name}：镜像可以写成一个普通的 tar 文件，就像上面对 busybox 做的那样",
                         then=Msg("%dock save -o {HOME}/my-rootfs.tar my-rootfs:2",
                                  "%dock save -o {HOME}/my-rootfs.tar my-rootfs:2"))
    tags = _archive_tags(path)
    if tags is None:
        return HINT, Msg(f"{path.name} is not an image archive: write it with %dock save -o",
                         f"{path.name} 不是镜像归档：请用 %dock save -o 生成")
    if "my-rootfs:2" not in tags:
        return HINT, Msg(f"{path.name} holds {', '.join(tags) or 'no named image'}, not my-rootfs:2",
                         f"{path.name} 里是 {', '.join(tags) or '没有名字的镜像'}，不是 my-rootfs:2")
    return DONE, Msg(f"{path.name} is a docker archive with my-rootfs:2 in it",
                     f"{path.name} 是一个包含 my-rootfs:2 的 docker 归档")


# -- lesson 2: layers and sharing ---------------------------------------------------------------


@exercise("2.1", "Three layers on busybox", "在 busybox 上叠三层")
def three_layers(engine: Any) -> Outcome:
    image = _image(engine, "stack:3")
    if image is None:
        return TODO, Msg("no image stack:3 yet: each commit lays one more layer on the image the "
                         "container came from",
                         "还没有镜像 stack:3：每次提交都在容器所来自的镜像上再叠一层",
                         then=Msg("run a container from busybox, commit it; run one from what you "
                                  "committed, commit again; once more, as stack:3",
                                  "从 busybox 运行容器并提交；再从提交出的镜像运行容器、再提交；"
                                  "第三次提交为 stack:3"))
    base = _busybox(engine)
    if image.layers[:len(base.layers)] != base.layers:
        return HINT, Msg("stack:3 does not start from busybox's layer: begin with %dock run … busybox …",
                         "stack:3 的底层不是 busybox 的层：从 %dock run … busybox … 开始")
    added = len(image.layers) - len(base.layers)
    if added < 3:
        return HINT, Msg(f"stack:3 has {added} layer(s) above busybox's; it needs 3. Run a container "
                         "from it, change a file, commit again",
                         f"stack:3 在 busybox 之上只有 {added} 层，需要 3 层。"
                         "从它运行一个容器，改一个文件，再提交")
    return DONE, Msg(f"stack:3 has {len(image.layers)} layers; the bottom one is busybox's very "
                     "own blob, stored once",
                     f"stack:3 共有 {len(image.layers)} 层；最底下那层就是 busybox 的那个 blob，只存了一份")


@exercise("2.2", "Two images sharing more than busybox", "两个镜像共享 busybox 之外的层")
def shared_middle(engine: Any) -> Outcome:
    left, right = _image(engine, "left:1"), _image(engine, "right:1")
    if left is None and right is None:
        return TODO, Msg("no images left:1 and right:1 yet", "还没有镜像 left:1 和 right:1")
    if left is None or right is None:
        missing = "left:1" if left is None else "right:1"
        return HINT, Msg(f"{missing} is missing", f"还缺少 {missing}")
    shared = 0
    for a, b in zip(left.config.chain_ids, right.config.chain_ids):
        if a != b:
            break
        shared += 1
    base = len(_busybox(engine).layers)
    if shared <= base:
        return HINT, Msg(f"left:1 and right:1 share {shared} layer(s), only busybox's. Sharing "
                         "needs the same layer on the same parent (the same ChainID): commit a "
                         "common middle image first, then make both from it",
                         f"left:1 和 right:1 只共享 {shared} 层，即 busybox 的层。"
                         "共享要求同一层叠在同一父层上（ChainID 相同）：先提交一个共同的中间镜像，"
                         "再从它做出两个镜像")
    if left.digest == right.digest:
        return HINT, Msg("left:1 and right:1 are the same image (one image, two tags): give each "
                         "its own top layer",
                         "left:1 和 right:1 是同一个镜像（两个标签）：给它们各自加一层不同的顶层")
    return DONE, Msg(f"left:1 and right:1 share their bottom {shared} layers (same ChainIDs) and "
                     "differ only on top",
                     f"left:1 和 right:1 共享底部 {shared} 层（ChainID 相同），只有顶层不同")


# -- lesson 3: images are read-only, addressed by content ----------------------------------------


@exercise("3.1", "A second name for busybox", "给 busybox 起第二个名字")
def second_tag(engine: Any) -> Outcome:
    image = _image(engine, "teaching/busybox:stable")
    if image is None:
        return TODO, Msg("no tag teaching/busybox:stable yet: a tag is a second name for the same "
                         "image, it copies nothing",
                         "还没有标签 teaching/busybox:stable：标签是同一个镜像的第二个名字，什么也不复制",
                         then=Msg("%dock tag busybox teaching/busybox:stable",
                                  "%dock tag busybox teaching/busybox:stable"))
    base = _busybox(engine)
    if image.digest != base.digest:
        return HINT, Msg(f"teaching/busybox:stable has IMAGE ID {image.id.short}, busybox "
                         f"{base.id.short}: tag busybox itself",
                         f"teaching/busybox:stable 的 IMAGE ID 是 {image.id.short}，而 busybox 是 "
                         f"{base.id.short}：请给 busybox 本身打标签")
    return DONE, Msg(f"two names, one image: both have IMAGE ID {base.id.short} (the config's "
                     f"digest) and manifest digest {base.digest.short}",
                     f"两个名字，同一个镜像：IMAGE ID 都是 {base.id.short}（config 的摘要），"
                     f"manifest 摘要都是 {base.digest.short}")


@exercise("3.2", "A container pinned by digest", "按摘要固定的容器")
def pinned(engine: Any) -> Outcome:
    config = _container(engine, "pinned")
    if config is None:
        return TODO, Msg("no container named pinned yet: a name with @ and a manifest digest means "
                         "exactly one image, whatever the tags do",
                         "还没有名为 pinned 的容器：带 @ 和 manifest 摘要的名字只指向唯一的镜像，不管标签怎么变",
                         then=Msg("%dock create --name pinned busybox@{busybox.digest}",
                                  "%dock create --name pinned busybox@{busybox.digest}"))
    base = _busybox(engine)
    if "@sha256:" not in config.image:
        return HINT, Msg(f"pinned was made from {config.image!r}, a tag that may move; use "
                         "NAME@sha256:… with the manifest digest (RepoDigests in %dock image inspect, "
                         "busybox.digest in Python), not the IMAGE ID",
                         f"pinned 是从 {config.image!r} 创建的，标签可能会移动；请用 名字@sha256:… 加上 "
                         "manifest 摘要（%dock image inspect 里的 RepoDigests，Python 里的 busybox.digest），"
                         "而不是 IMAGE ID")
    if config.image_target.get("digest") != str(base.digest):
        return HINT, Msg("pinned is pinned, but not to busybox's manifest digest",
                         "pinned 固定到了某个摘要，但不是 busybox 的 manifest 摘要")
    return DONE, Msg(f"pinned was created from {config.image}: whatever the tag does later, this "
                     "is exactly the bytes it runs",
                     f"pinned 是从 {config.image} 创建的：以后标签怎么变，它用的都是这份确定的内容")


@exercise("3.3", "Repair the store", "修复存储")
def repaired(engine: Any) -> Outcome:
    report = engine.system_check()
    note = _image(engine, "note:1")
    if not report.ok and note is not None and _loaded_since_damage(engine, report.corrupt):
        return HINT, Msg("note:1 was loaded again, but the damaged blob is still the one in the store: "
                         "a blob is named by its content, so the engine never overwrites one it "
                         "already holds, and the good copy was dropped",
                         "note:1 已重新加载，但存储里仍是那个损坏的 blob：blob 以内容命名，引擎从不覆盖已有的 "
                         "blob，于是完好的副本被丢弃了",
                         then=Msg("remove the damaged image first (%dock rmi note:1), then load note.tar",
                                  "先删除受损的镜像（%dock rmi note:1），再加载 note.tar"))
    if not report.ok:
        return TODO, Msg(f"system check still finds {len(report.corrupt)} corrupt and "
                         f"{len(report.missing)} missing blob(s): a blob cannot be repaired in place, "
                         "only removed and brought back whole",
                         f"system check 仍发现 {len(report.corrupt)} 个损坏、{len(report.missing)} "
                         "个缺失的 blob：blob 不能原地修复，只能删掉再完整地找回来",
                         then=Msg("remove the damaged image, then load it back from note.tar",
                                  "删除受损的镜像，再从 note.tar 加载回来"))
    if note is None:
        return HINT, Msg("the store is healthy, but note:1 is gone: the good copy is in note.tar",
                         "存储已经健康，但 note:1 不见了：完好的副本在 note.tar 里",
                         then=Msg("%dock load -i {HOME}/note.tar", "%dock load -i {HOME}/note.tar"))
    if not all(engine.content.verify(blob.digest) for blob in note.blobs()):
        return HINT, Msg("note:1 is back, but one of its blobs does not match its digest",
                         "note:1 回来了，但它有 blob 与摘要不符")
    return DONE, Msg("system check is OK and note:1 is whole again: every blob matches its digest",
                     "system check 通过，note:1 完好如初：每个 blob 都与它的摘要相符")


# -- lesson 4: containers: a writable layer on top -------------------------------------------------


@exercise("4.1", "A note in the writable layer", "可写层里的一张便条")
def notes(engine: Any) -> Outcome:
    config = _container(engine, "notes")
    if config is None:
        return TODO, Msg("no container named notes yet: what a container writes goes into its own "
                         "writable layer", "还没有名为 notes 的容器：容器写下的东西都进入它自己的可写层",
                         then=Msg("%dock run --name notes busybox sh -c 'echo … > /notes.txt'",
                                  "%dock run --name notes busybox sh -c 'echo … > /notes.txt'"))
    content = _writable_file(engine, config, "/notes.txt")
    if content is None:
        return HINT, Msg("notes exists, but its writable layer has no /notes.txt (see %dock diff notes)",
                         "notes 已存在，但它的可写层里没有 /notes.txt（看看 %dock diff notes）")
    return DONE, Msg(f"%dock diff notes shows A /notes.txt ({len(content)} bytes), and busybox "
                     "itself is unchanged",
                     f"%dock diff notes 显示 A /notes.txt（{len(content)} 字节），而 busybox 本身没变")


@exercise("4.2", "Twins: one image, two containers", "双胞胎：一个镜像，两个容器")
def twins(engine: Any) -> Outcome:
    found = {name: _container(engine, name) for name in ("twin1", "twin2")}
    if not any(found.values()):
        return TODO, Msg("no containers twin1 and twin2 yet", "还没有容器 twin1 和 twin2")
    contents = {}
    for name, config in found.items():
        if config is None:
            return HINT, Msg(f"{name} is missing", f"还缺少 {name}")
        if not config.image.startswith("busybox"):
            return HINT, Msg(f"{name} was made from {config.image}; make both from busybox",
                             f"{name} 是从 {config.image} 创建的；两个都要从 busybox 创建")
        contents[name] = _writable_file(engine, config, "/twin.txt")
        if contents[name] is None:
            return HINT, Msg(f"{name} has no /twin.txt in its writable layer",
                             f"{name} 的可写层里没有 /twin.txt")
    if contents["twin1"] == contents["twin2"]:
        return HINT, Msg("both /twin.txt files say the same thing: write something different in each",
                         "两个 /twin.txt 内容一样：各写点不同的内容")
    return DONE, Msg("two objects of one class: each container's /twin.txt lives in its own "
                     "writable layer; busybox's read-only layer is shared and unchanged",
                     "同一个类的两个对象：每个容器的 /twin.txt 都在自己的可写层里；"
                     "busybox 的只读层被共享，没有改变")


# -- lesson 5: isolation and lifecycle --------------------------------------------------------------


@exercise("5.1", "A running server called classroom", "一个名叫 classroom 的运行中的服务")
def server(engine: Any) -> Outcome:
    config = _container(engine, "server")
    if config is None:
        return TODO, Msg("no container named server yet: a host name belongs to a container's own UTS "
                         "namespace, and a server keeps running in the background",
                         "还没有名为 server 的容器：主机名属于容器自己的 UTS 命名空间，而服务要在后台一直运行",
                         then=Msg("%dock run -d --name server -h classroom busybox sleep 600",
                                  "%dock run -d --name server -h classroom busybox sleep 600"))
    if config.hostname != "classroom":
        return HINT, Msg(f"server's host name is {config.hostname or config.short_id!r}; it is fixed "
                         "when the container is created: remove it and create it again with -h classroom",
                         f"server 的主机名是 {config.hostname or config.short_id!r}；主机名在创建容器时"
                         "就定下了：删除它，用 -h classroom 重新创建")
    state = engine.containers.inspect("server")["State"]
    if not state["Running"]:
        return HINT, Msg(f"server is {state['Status']}: start it (its command must keep running, "
                         "e.g. sleep 600)",
                         f"server 的状态是 {state['Status']}：启动它（它的命令要一直运行，比如 sleep 600）")
    if not has_namespaces(container_isolation(config)):
        return CANNOT, Msg(f"server runs with -h classroom, but under {container_isolation(config)} it has "
                           "no UTS namespace: its host name is the machine's, so there is nothing "
                           "of its own to check",
                           f"server 已用 -h classroom 运行，但在 {container_isolation(config)} 下它没有 UTS "
                           "命名空间：主机名就是本机的，没有属于它自己的主机名可检查")
    return DONE, Msg("server is running, in its own UTS namespace with host name classroom",
                     "server 正在运行，在自己的 UTS 命名空间里，主机名是 classroom")


@exercise("5.2", "What survives a restart", "重启后留下了什么")
def counter(engine: Any) -> Outcome:
    config = _container(engine, "counter")
    if config is None:
        return TODO, Msg("no container named counter yet: its command appends one line to /count.log "
                         "each time it runs", "还没有名为 counter 的容器：它的命令每运行一次就往 /count.log 追加一行",
                         then=Msg("%dock run --name counter busybox sh -c 'echo run >> /count.log; "
                                  "cat /count.log'",
                                  "%dock run --name counter busybox sh -c 'echo run >> /count.log; "
                                  "cat /count.log'"))
    content = _writable_file(engine, config, "/count.log")
    if content is None:
        return HINT, Msg("counter has no /count.log in its writable layer: its command should "
                         "append a line to it each time it starts",
                         "counter 的可写层里没有 /count.log：它的命令应在每次启动时往里追加一行")
    lines = len(content.splitlines())
    if lines < 2:
        return HINT, Msg(f"/count.log has {lines} line: a stopped container keeps its writable layer, "
                         "so starting it again adds to the same file",
                         f"/count.log 只有 {lines} 行：停止的容器保留着它的可写层，所以再启动一次会在同一个文件上追加",
                         then=Msg("%dock start -a counter (it prints the log if its command cats it; "
                                  "%dock diff only shows that the file was added)",
                                  "%dock start -a counter（命令里 cat 了日志就会打印出来；"
                                  "%dock diff 只显示文件被添加了）"))
    return DONE, Msg(f"/count.log has {lines} lines: the writable layer survived every stop and "
                     "start, while each start began a brand-new process",
                     f"/count.log 有 {lines} 行：可写层在每次停止和启动后都保留着，"
                     "而每次启动都是一个全新的进程")


# -- lesson 6: making images -----------------------------------------------------------------------


def _greeter(engine: Any, name: str) -> tuple[Any | None, Any]:
    return _image(engine, name), _busybox(engine)


@exercise("6.1", "greeter:1 by commit", "用 commit 做出 greeter:1")
def greeter_commit(engine: Any) -> Outcome:
    image, base = _greeter(engine, "greeter:1")
    if image is None:
        return TODO, Msg("no image greeter:1 yet: commit turns a container's writable layer into an "
                         "image layer, and can set what the image runs",
                         "还没有镜像 greeter:1：commit 把容器的可写层变成镜像的一层，还能设定镜像默认运行什么",
                         then=Msg("run a container that writes /greet.sh, then commit it with "
                                  "-c 'CMD [\"sh\", \"/greet.sh\"]' as greeter:1",
                                  "运行一个写出 /greet.sh 的容器，再用 -c 'CMD [\"sh\", \"/greet.sh\"]' "
                                  "提交为 greeter:1"))
    if image.layers[:len(base.layers)] != base.layers or len(image.layers) <= len(base.layers):
        return HINT, Msg("greeter:1 should be busybox plus one layer of yours",
                         "greeter:1 应该是 busybox 再加上你自己的一层")
    command = (image.config.run.get("Entrypoint") or []) + (image.config.run.get("Cmd") or [])
    if command == (base.config.run.get("Cmd") or []):
        return HINT, Msg("greeter:1 still starts sh, like busybox: commit with -c 'CMD [\"sh\", "
                         "\"/greet.sh\"]' so that plain %dock run greeter:1 greets",
                         "greeter:1 默认仍然启动 sh，和 busybox 一样：提交时加上 "
                         "-c 'CMD [\"sh\", \"/greet.sh\"]'，让 %dock run greeter:1 直接打招呼")
    return DONE, Msg(f"greeter:1 = busybox's layer + your layer, and it runs {command} by default",
                     f"greeter:1 = busybox 的层 + 你的层，默认运行 {command}")


@exercise("6.2", "greeter:2 from a Dockerfile", "用 Dockerfile 构建 greeter:2")
def greeter_build(engine: Any) -> Outcome:
    image, base = _greeter(engine, "greeter:2")
    if image is None:
        return TODO, Msg("no image greeter:2 yet: a Dockerfile writes down the same steps, and build "
                         "makes one layer per step",
                         "还没有镜像 greeter:2：Dockerfile 把同样的步骤写下来，build 每一步做出一层",
                         then=Msg("%%dock build -t greeter:2 with FROM busybox, RUN …, CMD … in the cell",
                                  "在单元格里写 FROM busybox、RUN …、CMD …，用 %%dock build -t greeter:2 构建"))
    steps = [step.created_by or "" for step in image.config.history]
    if not any("RUN" in step or "COPY" in step for step in steps[len(base.config.history):]):
        return HINT, Msg("greeter:2 has no RUN or COPY step: was it built from a Dockerfile?",
                         "greeter:2 里没有 RUN 或 COPY 步骤：它是用 Dockerfile 构建的吗？")
    if image.layers[:len(base.layers)] != base.layers:
        return HINT, Msg("greeter:2 should start FROM busybox", "greeter:2 应该 FROM busybox")
    command = (image.config.run.get("Entrypoint") or []) + (image.config.run.get("Cmd") or [])
    if command == (base.config.run.get("Cmd") or []):
        return HINT, Msg("greeter:2 still starts sh: add a CMD line to the Dockerfile",
                         "greeter:2 默认仍然启动 sh：在 Dockerfile 里加一行 CMD")
    return DONE, Msg(f"greeter:2 was built step by step on busybox's layer and runs {command}",
                     f"greeter:2 在 busybox 的层之上一步步构建而成，默认运行 {command}")


# -- lesson 7: registries and repositories --------------------------------------------------------


def _remote(engine: Any, path: str, tag: str) -> list[tuple[Any, Any, str | None]]:
    """For each local name ``HOST/path:tag`` on a non-Docker-Hub registry: (name, local image,
    the digest that registry serves for it, or None if it has none)."""
    from ..oci.digest import Digest
    from ..remotes.session import open_client
    found = []
    for entry in engine.names.entries():
        reference = entry.reference
        if reference is None or reference.path != path or reference.tag != tag \
                or reference.domain == "docker.io":
            continue
        served = None
        try:
            with open_client(engine, reference.domain) as client:
                _, raw = client.resolve(reference)
            served = str(Digest.of(raw))
        except (MinidockError, OSError):
            served = None
        found.append((reference, entry.target, served))
    return found


@exercise("7.1", "Push into your own namespace on the public registry", "推送到公共仓库服务器上你自己的命名空间")
def pushed_public(engine: Any) -> Outcome:
    found = _remote(engine, "bob/hello", "1")
    if not found:
        return TODO, Msg("no image named HOST:PORT/bob/hello:1 here yet: a name says where an image "
                         "goes — registry host / namespace / repository : tag",
                         "这里还没有名为 HOST:PORT/bob/hello:1 的镜像：名字说明镜像去哪里——仓库服务器地址 / 命名空间 / 仓库 : 标签",
                         then=Msg("%dock tag {HUB}/alice/hello:1 {HUB}/bob/hello:1, log in as bob, push",
                                  "%dock tag {HUB}/alice/hello:1 {HUB}/bob/hello:1，以 bob 登录，再推送"))
    for reference, target, served in found:
        if served == str(target.digest):
            return DONE, Msg(f"the registry serves {reference.familiar} with the same digest as "
                             "yours: anyone can pull it, only bob can push to it",
                             f"仓库服务器上的 {reference.familiar} 与本地摘要相同：任何人都能拉取，只有 bob 能推送")
    reference = found[0][0]
    return HINT, Msg(f"{reference.familiar} is tagged here, but the registry does not have it "
                     "(or has another version): log in as bob, then push",
                     f"本地有 {reference.familiar} 这个标签，但仓库服务器上没有（或版本不同）："
                     "以 bob 登录后再推送")


@exercise("7.2", "Pull from the private registry", "从私有仓库服务器拉取")
def pulled_private(engine: Any) -> Outcome:
    found = _remote(engine, "team/tool", "1")
    if not found:
        return TODO, Msg("no image HOST:PORT/team/tool:1 here yet: a private registry answers only "
                         "to its members, even for a pull",
                         "这里还没有镜像 HOST:PORT/team/tool:1：私有仓库服务器只回应它的成员，拉取也一样",
                         then=Msg("log in to {COMPANY} as bob, then %dock pull {COMPANY}/team/tool:1",
                                  "以 bob 登录 {COMPANY}，再 %dock pull {COMPANY}/team/tool:1"))
    for reference, target, served in found:
        if served == str(target.digest):
            return DONE, Msg(f"{reference.familiar} is here, byte for byte what the private registry "
                             "serves to a logged-in user",
                             f"{reference.familiar} 已在本地，与私有仓库服务器给登录用户的内容逐字节相同")
    return HINT, Msg("the name is here, but the registry will not confirm it: are you logged in "
                     "(%dock login) to the private registry?",
                     "本地有这个名字，但仓库服务器无法确认：你登录（%dock login）私有仓库服务器了吗？")


# -- lesson 8: sharing without a registry -------------------------------------------------------------


@exercise("8.1", "Two images in one archive", "一个归档里的两个镜像")
def both_archive(engine: Any) -> Outcome:
    path = Path(engine.home) / "both.tar"
    if not path.exists():
        return TODO, Msg(f"no {path.name} in HOME yet: one archive can carry several images, and "
                         "the layers they share go in once",
                         f"HOME 里还没有 {path.name}：一个归档可以装下好几个镜像，它们共享的层只放一份",
                         then=Msg("%dock save -o {HOME}/both.tar busybox hello:1",
                                  "%dock save -o {HOME}/both.tar busybox hello:1"))
    tags = _archive_tags(path)
    if tags is None:
        return HINT, Msg(f"{path.name} is not an image archive", f"{path.name} 不是镜像归档")
    wanted = {"busybox:latest", "hello:1"}
    missing = sorted(wanted - set(tags))
    if missing:
        return HINT, Msg(f"{path.name} lacks {', '.join(missing)} (it holds {', '.join(tags)})",
                         f"{path.name} 缺少 {', '.join(missing)}（里面有 {', '.join(tags)}）")
    return DONE, Msg(f"{path.name} holds busybox:latest and hello:1; their shared layer is in it once",
                     f"{path.name} 里有 busybox:latest 和 hello:1；它们共享的层只存了一份")


@exercise("8.2", "Unwrap the gift", "拆开礼物")
def gift(engine: Any) -> Outcome:
    image = _image(engine, "gift:1")
    if image is None:
        return TODO, Msg("no image gift:1 here yet: it came as a file, gift.tar, in the lesson's home",
                         "这里还没有镜像 gift:1：它是以文件 gift.tar 的形式来的，在本课主目录下",
                         then=Msg("%dock load -i {HOME}/gift.tar", "%dock load -i {HOME}/gift.tar"))
    files = _image_files(engine, image)
    if "/gift.txt" not in files:
        return HINT, Msg("gift:1 is here but it is not the gift from gift.tar (no /gift.txt)",
                         "gift:1 在这里，但不是 gift.tar 里的那份礼物（没有 /gift.txt）")
    return DONE, Msg(f"gift:1 is loaded: ID {image.id.short}, the same on every machine that loads "
                     "the file", f"gift:1 已加载：ID {image.id.short}，在任何加载这个文件的机器上都一样")


__all__: list[str] = []
