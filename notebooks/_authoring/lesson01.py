from cells import code, info, md, setup, work

NUMBER, SLUG = "01", "what-is-an-image"

CELLS = [
    md("""
        # Lesson 1 · What is an image?

        **Goals** — by the end of this lesson you can:
        - say what an *image* is: a root filesystem (a `/` with its folders, programs and data), packed in layers;
        - open a real image with nothing but Python's `tarfile` and find its files;
        - make an image yourself from a plain directory.

        *About 20 minutes. Run the cells from top to bottom (Shift+Enter).*
    """, """
        # 第 1 课 · 镜像是什么？

        **学习目标** —— 学完本课，你能够：
        - 说清楚什么是*镜像*：一个根文件系统（一个 `/`，连同其中的目录、程序和数据），按层（分层）打包；
        - 只用 Python 的 `tarfile` 打开一个真实的镜像，找到里面的文件；
        - 亲手把一个普通目录做成镜像。

        *大约 20 分钟。请从上到下依次运行单元格（Shift+Enter）。*
    """),
    setup("01"),
    *info(),
    md("""
        ## A first image, made on this machine

        Our first image is **busybox**: one small program that can act as `sh`, `ls`, `cat` and
        hundreds of other commands. We do not download it: `%dock bootstrap` packs this machine's
        own busybox binary into an image, the same way on every machine, so the digest it prints
        is the same wherever the file is the same.
    """, """
        ## 第一个镜像：在本机制作

        我们的第一个镜像是 **busybox**：一个小程序，却能充当 `sh`、`ls`、`cat` 等几百个命令。
        我们不用下载它：`%dock bootstrap` 会把本机自带的 busybox 程序打包成镜像，每台机器上的做法都一样，
        所以只要这个程序文件相同，它打印出的摘要（digest）就处处相同。
    """),
    code("%dock bootstrap"),
    code("%dock images"),
    md("""
        `%dock images` lists what the store holds. Two fingerprints (sha256 digests) already: `bootstrap`
        printed `sha256:4e73…`, and the **IMAGE ID** column says `5c83…`. Both are right — they are
        the digests of two different small files of the same image; a picture further down sorts
        them out. The image has a history of the steps that made it; each step that changed files
        made one **layer** (分层):
    """, """
        `%dock images` 列出存储中有哪些镜像。这里已经出现了两个“指纹”（sha256 摘要）：`bootstrap` 打印的是
        `sha256:4e73…`，而 **IMAGE ID** 一列显示的是 `5c83…`。两个都对——它们是同一个镜像里两个不同小文件的摘要；
        下面会有一张图把它们理清楚。镜像有一份历史，记录了制作它的每一步；每一步只要改动了文件，就产生一个**层**（分层）：
    """),
    code("%dock history busybox"),
    md("""
        One step, one layer. Now let us look *inside*. A container started from the image sees the
        image's files as its whole filesystem, from `/` down:
    """, """
        一步，一层。现在看看镜像*里面*有什么。从镜像启动的容器，会把镜像里的文件当作它的整个文件系统，从 `/` 开始：
    """),
    code("%dock run --rm busybox ls /"),
    md("""
        ## Opening the image with plain Python

        No magic is needed to look inside an image. `%dock save` writes it to one ordinary tar file;
        Python's `tarfile` module opens it:
    """, """
        ## 用普通的 Python 打开镜像

        查看镜像内部不需要任何魔法。`%dock save` 把镜像写成一个普通的 tar 文件，Python 的 `tarfile` 模块就能打开：
    """),
    code("""
        %dock save -o {HOME}/busybox.tar busybox

        import tarfile
        archive = tarfile.open(f"{HOME}/busybox.tar")
        for member in archive.getmembers():
            print(f"{member.size:>9}  {member.name}")
    """),
    md("""
        Three files in `blobs/sha256/` are the image itself, each named by the sha256 of its own
        bytes: a small **manifest** (which blobs make the image), a small **config** (what to run,
        with which environment) and one big **layer** (the files). `manifest.json` is the table of
        contents that `docker load` reads:
    """, """
        `blobs/sha256/` 里的三个文件就是镜像本身，每个文件都以自身内容的 sha256 命名：一个小小的
        **manifest**（说明镜像由哪些 blob 组成），一个小小的 **config**（运行什么程序、用什么环境变量），
        以及一个大的**层**（文件本身）。`manifest.json` 是 `docker load` 读取的目录：
    """),
    code("""
        import json
        manifest = json.load(archive.extractfile("manifest.json"))[0]
        manifest
    """),
    md("""
        The layer is itself a (compressed) tar of a root filesystem. Let us open it and look at
        its first entries:
    """, """
        层本身又是一个（压缩过的）tar，里面装着一个根文件系统。打开它，看看前几个条目：
    """),
    code("""
        layer = tarfile.open(fileobj=archive.extractfile(manifest["Layers"][0]))
        members = layer.getmembers()
        print(len(members), "entries in busybox's only layer")
        for m in members[:8]:
            kind = "dir " if m.isdir() else "link" if m.issym() else "file"
            target = f"-> {m.linkname}" if m.issym() else ""
            print(kind, f"{m.size:>8}", m.name, target)
    """),
    code("""
        from collections import Counter
        def kind_of(m):
            return "directory" if m.isdir() else "symlink" if m.issym() else "file"
        print(Counter(kind_of(m) for m in members))
        print([m.name for m in members if m.isfile()])
    """, """
        from collections import Counter
        def kind_of(m):
            return "目录" if m.isdir() else "符号链接" if m.issym() else "文件"
        print(Counter(kind_of(m) for m in members))
        print([m.name for m in members if m.isfile()])
    """),
    md("""
        So the whole image is: a few folders, **one** real program (`bin/busybox`), a couple of
        configuration files in `etc/`, and hundreds of symbolic links (`bin/ls -> busybox`, …), so
        that typing `ls` runs busybox. That is what an image is: **a root filesystem — the programs
        and the data they need**.

        What is *not* in it? A kernel. A container runs on the host's Linux kernel; the image only
        brings the files above it:
    """, """
        所以整个镜像就是：几个目录、**一个**真正的程序（`bin/busybox`）、`etc/` 下的几个配置文件，
        再加上几百个符号链接（`bin/ls -> busybox` 等），这样输入 `ls` 时运行的就是 busybox。
        这就是镜像：**一个根文件系统——程序，以及程序需要的数据**。

        镜像里*没有*什么？内核。容器运行在宿主机的 Linux 内核之上；镜像只提供内核之上的文件：
    """),
    code("%dock run --rm busybox sh -c 'ls /boot; uname -s'"),
    md("""
        The **config** blob says how to start a container from these files — the command (`Cmd`),
        the environment — and lists the layers by the digest of their uncompressed tar (`diff_ids`):
    """, """
        **config** 这个 blob 说明如何用这些文件启动容器——命令（`Cmd`）、环境变量——并按未压缩 tar 的摘要
        （`diff_ids`）列出各层：
    """),
    code("""
        config = json.load(archive.extractfile(manifest["Config"]))
        {"config": config["config"], "rootfs": config["rootfs"]}
    """),
    md("""
        ## One image, five kinds of sha256

        Every name above is a sha256 of some bytes, and each has its own job. The picture shows
        what points at what:

        | term | the sha256 of… | here | where you meet it |
        |---|---|---|---|
        | **manifest digest** | the manifest | `4e73…` | printed by `bootstrap`; `busybox@sha256:4e73…`; what a registry stores the image under (`RepoDigests`) |
        | **IMAGE ID** | the config | `5c83…` | the IMAGE ID column of `%dock images` and `history` |
        | **layer digest** | a layer as stored: the compressed tar | `7cd8…` | `blobs/sha256/`, what a pull downloads |
        | **diff_id** | the same layer uncompressed | `a718…` | the config's `rootfs.diff_ids` |
        | **ChainID** | a diff_id together with every layer below it | `a718…` for a bottom layer | lesson 2: what images share |

        The manifest names the config and the layers, so if any byte changes, the manifest digest
        changes too. Compressing a layer again (another tool, another gzip level) gives another
        layer digest for the same diff_id: that is why sharing is counted by diff_id and ChainID.
        These lessons use these five words, and only these, for the five kinds.
    """, """
        ## 一个镜像，五种 sha256

        上面出现的每个名字都是某些字节的 sha256，各有各的用途。下图展示了谁指向谁：

        | 术语 | 对什么算 sha256 | 本例 | 在哪里见到 |
        |---|---|---|---|
        | **manifest 摘要** | manifest | `4e73…` | `bootstrap` 打印的；`busybox@sha256:4e73…`；仓库服务器用它保存镜像（`RepoDigests`） |
        | **IMAGE ID** | config | `5c83…` | `%dock images` 和 `history` 的 IMAGE ID 一列 |
        | **层摘要** | 存储形式的层：压缩后的 tar | `7cd8…` | `blobs/sha256/` 里，拉取时下载的就是它 |
        | **diff_id** | 同一层未压缩时 | `a718…` | config 的 `rootfs.diff_ids` |
        | **ChainID** | 一个 diff_id 连同它下面所有的层 | 最底层就是 `a718…` | 第 2 课：镜像共享的是什么 |

        manifest 列出了 config 和各层，所以任何一个字节变了，manifest 摘要也跟着变。把一层重新压缩（换一个工具、换一个 gzip 级别），
        同一个 diff_id 就会得到另一个层摘要：所以共享是按 diff_id 和 ChainID 来计算的。本课程始终用这五个词来称呼这五种摘要。
    """),
    code('digests("busybox")'),
    md("""
        ### Click through it (optional)

        The explorer below shows the same thing as a widget: pick a layer, browse its files,
        click one to see its first bytes. (It needs a live notebook; on a static page it shows nothing.)
    """, """
        ### 点一点看看（可选）

        下面的浏览器用控件展示同样的内容：选择一层，浏览它的文件，点击文件查看开头的内容。
        （需要在运行中的 notebook 里使用；静态页面上什么也不显示。）
    """),
    code("""
        # NBVAL_IGNORE_OUTPUT
        %dock explore busybox
    """),
    md("""
        ## Exercises

        Each exercise has a cell for your work and a cell that checks it: `check("1.1")` looks at the
        store and answers ✔ (done), ✘ with a hint, or ○ (not yet). Run the check as often as you like.

        **1.1 — A directory becomes an image.** An image is files, so any directory can become one.
        Make a directory `rootfs1` inside `HOME`, put a file `hello.txt` in it, and turn it into the
        image `my-rootfs:1` with `%dock import DIRECTORY my-rootfs:1`.
        (Python's `pathlib` makes directories and files: `Path(...).mkdir()`, `.write_text(...)`;
        a `%dock` line can use a Python variable as `{name}`.)
    """, """
        ## 练习

        每道练习有一个单元格写你的代码，另一个单元格检查结果：`check("1.1")` 会查看存储，然后回答
        ✔（完成）、✘ 加提示，或 ○（尚未开始）。检查可以随时反复运行。

        **1.1 —— 把目录变成镜像。** 镜像就是文件，所以任何目录都能变成镜像。在 `HOME` 里建一个目录
        `rootfs1`，在其中放一个文件 `hello.txt`，然后用 `%dock import 目录 my-rootfs:1` 把它做成镜像
        `my-rootfs:1`。（Python 的 `pathlib` 可以建目录和文件：`Path(...).mkdir()`、`.write_text(...)`；
        在 `%dock` 命令行里可以用 `{变量名}` 引用 Python 变量。）
    """),
    work("""
        from pathlib import Path
        rootfs1 = Path(HOME) / "rootfs1"
        # your code here: make the directory, write hello.txt, then %dock import …
    """, """
        from pathlib import Path
        rootfs1 = Path(HOME) / "rootfs1"
        # 在这里写你的代码：建目录，写 hello.txt，然后 %dock import …
    """, """
        from pathlib import Path
        rootfs1 = Path(HOME) / "rootfs1"
        rootfs1.mkdir()
        (rootfs1 / "hello.txt").write_text("hello from a tiny root filesystem\\n")
        %dock import {rootfs1} my-rootfs:1
    """),
    code('check("1.1")'),
    md("""
        **1.2 — An image that can run something.** Try `%dock run --rm my-rootfs:1 cat /hello.txt`:
        it fails, because that image contains no `cat` — no programs at all. A container can only
        run what its image's files contain. Make `my-rootfs:2`: unpack busybox's files into a
        directory `rootfs2` (`%dock unpack busybox DIRECTORY`), add `hello.txt`, import it, and run
        `cat /hello.txt` in it.
    """, """
        **1.2 —— 一个能运行程序的镜像。** 试试 `%dock run --rm my-rootfs:1 cat /hello.txt`：会失败，
        因为那个镜像里没有 `cat`——根本没有任何程序。容器只能运行镜像文件里有的程序。
        做出 `my-rootfs:2`：把 busybox 的文件解包到目录 `rootfs2`（`%dock unpack busybox 目录`），
        加上 `hello.txt`，导入它，再在其中运行 `cat /hello.txt`。
    """),
    work("""
        rootfs2 = Path(HOME) / "rootfs2"
        # your code here
    """, """
        rootfs2 = Path(HOME) / "rootfs2"
        # 在这里写你的代码
    """, """
        rootfs2 = Path(HOME) / "rootfs2"
        %dock unpack busybox {rootfs2}
        hello = "hello from an image that can run programs\\n"
        (rootfs2 / "hello.txt").write_text(hello)
        %dock import {rootfs2} my-rootfs:2
        %dock run --rm my-rootfs:2 cat /hello.txt
    """),
    code('check("1.2")'),
    md("""
        **1.3 — Your image as a file.** Save `my-rootfs:2` to `my-rootfs.tar` in `HOME` and list
        the archive's members with `tarfile`, as we did for busybox. How many blobs does it hold, and
        which one is the layer?
    """, """
        **1.3 —— 把你的镜像存成文件。** 把 `my-rootfs:2` 保存为 `HOME` 下的 `my-rootfs.tar`，
        再像前面处理 busybox 那样用 `tarfile` 列出归档里的成员。里面有几个 blob？哪一个是层？
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock save -o {HOME}/my-rootfs.tar my-rootfs:2
        for member in tarfile.open(f"{HOME}/my-rootfs.tar").getmembers():
            print(f"{member.size:>9}  {member.name}")
    """),
    code('check("1.3")'),
    md("""
        ## What we saw

        - An **image (镜像)** is a root filesystem: folders, programs and their data — but no kernel.
        - It is stored as blobs named by their sha256: a manifest, a config, and **layers** (tars of files).
        - Any directory can become an image; it can only run the programs it contains.

        Next, lesson 2: what happens when many images are built on the same base — layers and sharing.
    """, """
        ## 本课小结

        - **镜像**是一个根文件系统：目录、程序及其数据——但没有内核。
        - 它以 blob 的形式存储，每个 blob 以自身的 sha256 命名：一个 manifest、一个 config，以及若干**层**（文件的 tar 包）。
        - 任何目录都能变成镜像；镜像只能运行它自己包含的程序。

        下一课（第 2 课）：许多镜像建立在同一个基础之上时会发生什么——分层与共享。
    """),
]
