from cells import code, info, md, setup, work

NUMBER, SLUG = "08", "sharing-without-a-registry"

CELLS = [
    md("""
        # Lesson 8 · Sharing without a registry

        **Goals** — by the end of this lesson you can:
        - move images as a file with `%dock save` and `%dock load`;
        - read the archive: it is a real docker archive *and* an OCI image layout (`manifest.json`, `index.json`, `blobs/`);
        - weigh the file against a registry: what each costs, and when each is the right tool.

        *About 15 minutes.*
    """, """
        # 第 8 课 · 不用仓库服务器也能分享

        **学习目标** —— 学完本课，你能够：
        - 用 `%dock save` 和 `%dock load` 以文件的形式传递镜像；
        - 读懂这个归档：它是真正的 docker 归档，*同时*也是 OCI 镜像布局（`manifest.json`、`index.json`、`blobs/`）；
        - 比较文件与仓库服务器：各自的代价是什么，各自适合什么场合。

        *大约 15 分钟。*
    """),
    setup("08"),
    *info(),
    md("""
        ## Save an image to a file

        We make a small image `hello:1` on busybox and write it to one tar file:
    """, """
        ## 把镜像保存成文件

        我们在 busybox 上做一个小镜像 `hello:1`，然后把它写进一个 tar 文件：
    """),
    code("""
        %dock bootstrap
        %dock run --name make-hello busybox \\
          sh -c 'echo "echo Hello from a file" > /hello.sh'
        %dock commit -c 'CMD ["sh", "/hello.sh"]' make-hello hello:1
        %dock rm make-hello
        %dock save -o {HOME}/hello.tar hello:1

        import tarfile
        archive = tarfile.open(f"{HOME}/hello.tar")
        for member in archive.getmembers():
            print(f"{member.size:>9}  {member.name}")
    """),
    md("""
        ## What is in the archive

        The same file speaks two formats at once, so every tool can read it:

        - `manifest.json` and `repositories` — the **docker archive** format that `docker load` has always read;
        - `oci-layout` and `index.json` — an **OCI image layout**, the open standard (`podman load`,
          `skopeo copy oci-archive:…`, containerd);
        - `blobs/sha256/…` — the blobs themselves, named by digest, shared by both indexes.
    """, """
        ## 归档里有什么

        同一个文件同时满足两种格式，所以各种工具都能读取：

        - `manifest.json` 和 `repositories` —— `docker load` 一直以来读取的 **docker 归档**格式；
        - `oci-layout` 和 `index.json` —— **OCI 镜像布局**，一个开放标准（`podman load`、`skopeo copy oci-archive:…`、containerd）；
        - `blobs/sha256/…` —— blob 本身，以摘要命名，被两种索引共用。
    """),
    code("""
        import json
        def read(name):
            return json.load(archive.extractfile(name))

        docker_entry = read("manifest.json")[0]
        oci_entry = read("index.json")["manifests"][0]
        print("docker's manifest.json:  ", docker_entry["RepoTags"], "->",
              docker_entry["Config"][:25] + "…",
              f"+ {len(docker_entry['Layers'])} layer files")
        image_name = oci_entry["annotations"]["io.containerd.image.name"]
        print("OCI's index.json:        ", image_name, "->",
              oci_entry["digest"][:19] + "…", "(the manifest digest)")
    """, """
        import json
        def read(name):
            return json.load(archive.extractfile(name))

        docker_entry = read("manifest.json")[0]
        oci_entry = read("index.json")["manifests"][0]
        print("docker 的 manifest.json：", docker_entry["RepoTags"], "->",
              docker_entry["Config"][:25] + "…",
              f"+ {len(docker_entry['Layers'])} 个层文件")
        image_name = oci_entry["annotations"]["io.containerd.image.name"]
        print("OCI 的 index.json：      ", image_name, "->",
              oci_entry["digest"][:19] + "…", "（manifest 摘要）")
    """),
    md("""
        That is the part that matters: `index.json` points at the image's manifest by its manifest
        digest, and carries its name in an annotation; `manifest.json` lists the config and layer
        files directly. Either way, you reach the same blobs. (The whole files are short;
        `print(json.dumps(read("index.json"), indent=2))` shows one.)

        ## Load it on another machine

        A colleague's laptop: a fresh, empty store. We hand over the file and load it:
    """, """
        要紧的就是这些：`index.json` 用 manifest 摘要指向镜像的 manifest，并在注解（annotation）里记下它的名字；
        `manifest.json` 则直接列出 config 和各层文件。无论走哪条路，到达的都是同样的 blob。
        （完整的文件也不长；`print(json.dumps(read("index.json"), indent=2))` 就能看到。）

        ## 在另一台机器上加载

        同事的笔记本电脑：一个全新的空存储。我们把文件交给他，然后加载：
    """),
    code("""
        FRIEND = fresh_home("08-friend")
        %config DockMagics.home = FRIEND
        %dock load -i {HOME}/hello.tar
        %dock run --rm hello:1
        %dock images
    """),
    md("""
        Same IMAGE ID as on our side: the bytes travelled unchanged, and the digests prove it. Note
        that the colleague now has busybox's layer too — inside `hello:1`, even though they never
        bootstrapped busybox.

        ## File or registry?

        The file carried **everything**, including busybox's 1 MB layer that the colleague may
        well have had already. A registry would have sent only what was missing (lesson 7):
    """, """
        IMAGE ID 与我们这边的相同：字节原样到达，摘要就是证明。注意，同事现在也有了 busybox 的层——它在 `hello:1` 里面，
        尽管他从来没有制作过 busybox。

        ## 用文件还是用仓库服务器？

        文件里装着**全部内容**，包括 busybox 那 1 MB 的层——同事很可能早就有了。仓库服务器则只会发送缺少的部分（见第 7 课）：
    """),
    code("""
        from pathlib import Path
        from minidock_magic.facade import Minidock
        hello = Minidock(FRIEND).image("hello:1")
        own_layer = hello.layers[-1].size
        archive_size = Path(HOME, "hello.tar").stat().st_size
        sent = own_layer + hello.manifest.config.size + hello.target.size
        print(f"the archive:                {archive_size:>9} bytes")
        print(f"what a registry would send: {sent:>9} bytes"
              " (manifest + config + the one new layer)")
    """, """
        from pathlib import Path
        from minidock_magic.facade import Minidock
        hello = Minidock(FRIEND).image("hello:1")
        own_layer = hello.layers[-1].size
        archive_size = Path(HOME, "hello.tar").stat().st_size
        sent = own_layer + hello.manifest.config.size + hello.target.size
        print(f"归档文件：          {archive_size:>9} 字节")
        print(f"仓库服务器需要发送：{sent:>9} 字节"
              "（manifest + config + 唯一的新层）")
    """),
    md("""
        | | a file (`save`/`load`) | a registry (`push`/`pull`) |
        |---|---|---|
        | needs | a way to copy a file (USB stick, shared drive) | a server everyone can reach |
        | sends | every layer, every time | only missing layers |
        | versions | whatever file you were handed | tags, history, digests on the server |
        | access | whoever has the file | accounts, public or private |

        A file is the right tool for machines without a network (air-gapped), for a one-off handover,
        or for archiving exactly what was deployed. For a team that shares images every day, a
        registry is much less clumsy.

        ## Exercises

        First we switch back to our own store.

        **8.1 — Two images, one file.** Save **both** `busybox` and `hello:1` into `both.tar` in
        `HOME` (one `%dock save` with two names). Compare its size with `hello.tar`: why is it no
        bigger? (A tar file grows in steps of 10 kB.)
    """, """
        | | 文件（`save`/`load`） | 仓库服务器（`push`/`pull`） |
        |---|---|---|
        | 需要 | 能复制文件的途径（U 盘、共享盘） | 大家都能访问的服务器 |
        | 发送 | 每次都发送所有层 | 只发送缺少的层 |
        | 版本 | 拿到的是哪个文件就是哪个 | 服务器上的标签、历史、摘要 |
        | 权限 | 谁拿到文件谁就能用 | 账号，公共或私有 |

        没有网络的机器（物理隔离）、一次性的交接、或者要把部署过的内容原样存档时，文件是合适的工具。
        对于每天都要共享镜像的团队，仓库服务器要方便得多。

        ## 练习

        先切换回我们自己的存储。

        **8.1 —— 两个镜像，一个文件。** 把 `busybox` 和 `hello:1` **两个**镜像都保存到 `HOME` 下的 `both.tar`
        （用一条 `%dock save`，给出两个名字）。把它的大小和 `hello.tar` 比较一下：为什么没有变大？（tar 文件以 10 kB 为单位增长。）
    """),
    code("%config DockMagics.home = HOME"),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock save -o {HOME}/both.tar busybox hello:1
        for name in ["hello.tar", "both.tar"]:
            print(f"{name:10} {Path(HOME, name).stat().st_size:>9} bytes")
    """),
    code('check("8.1")'),
    md("""
        **8.2 — Unwrap the gift.** The cell below prepares a present: an image `gift:1` is saved to
        `gift.tar` and then removed from the store. Load it back from the file and run it.
    """, """
        **8.2 —— 拆开礼物。** 下面的单元格准备了一份礼物：镜像 `gift:1` 被保存到 `gift.tar`，然后从存储中删除。
        从文件把它加载回来，并运行它。
    """),
    code("""
        %dock run --name wrap busybox sh -c 'echo "a present for you" > /gift.txt'
        %dock commit -c 'CMD ["cat", "/gift.txt"]' wrap gift:1
        %dock rm wrap
        %dock save -o {HOME}/gift.tar gift:1
        %dock rmi gift:1
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock load -i {HOME}/gift.tar
        %dock run --rm gift:1
    """),
    code('check("8.2")'),
    md("""
        ## What we saw

        - `save` writes images to one tar that is both a docker archive and an OCI layout; `load` reads it back, digests intact.
        - A file needs no server, but carries every layer every time and has no accounts or tags to manage.
        - Registries (lesson 7) are the everyday way to share; files are for offline handovers and archives.

        That completes the course: images (镜像), containers (容器), and repositories and registries (仓库, 仓库服务器).
    """, """
        ## 本课小结

        - `save` 把镜像写进一个 tar，它既是 docker 归档又是 OCI 布局；`load` 把它读回来，摘要丝毫不变。
        - 文件不需要服务器，但每次都携带所有层，也没有账号和标签可以管理。
        - 仓库服务器（第 7 课）是日常分享镜像的方式；文件适合离线交接和存档。

        整个课程到此结束：镜像、容器，以及仓库和仓库服务器。
    """),
]
