from cells import code, info, md, setup, work

NUMBER, SLUG = "02", "layers-and-sharing"

CELLS = [
    md("""
        # Lesson 2 · Layers and sharing

        **Goals** — by the end of this lesson you can:
        - make a new image by adding **one layer** on top of an existing one;
        - read `%dock images`, `%dock graph` and `%dock system df` to see which layers images **share**;
        - explain a **ChainID** — why a layer is shared only together with everything beneath it.

        *About 25 minutes.*
    """, """
        # 第 2 课 · 分层与共享

        **学习目标** —— 学完本课，你能够：
        - 在已有镜像之上**加一层**，做出一个新镜像；
        - 读懂 `%dock images`、`%dock graph` 和 `%dock system df`，看出镜像之间**共享**了哪些层；
        - 解释 **ChainID**：为什么一层只能连同它下面的所有层一起被共享。

        *大约 25 分钟。*
    """),
    setup("02"),
    *info(),
    md("""
        ## One base, two new images

        We start from busybox again. To make a new image we change some files in a **temporary
        container** and then `commit` the change: the container's changes become one new layer, laid
        on top of busybox's layer. Containers get their own lessons later — you will see how they
        work in lesson 4 and all the ways of making images in lesson 6. Here they are only a tool:
        `%dock run` starts one from an image and runs a command in it, `%dock commit` saves what
        that command changed as a new image, `%dock rm` throws the container away. A `%dock` line
        that ends in `\\` goes on in the next line, as in a shell.
    """, """
        ## 一个基础，两个新镜像

        我们还是从 busybox 开始。要做一个新镜像，就在一个**临时容器**里改动一些文件，然后 `commit`（提交）
        这些改动：容器的改动变成新的一层，叠在 busybox 那一层之上。容器后面有专门的课程——第 4 课讲容器如何工作，
        第 6 课讲制作镜像的各种方法。这里只把它们当作工具：`%dock run` 从镜像启动一个容器并在其中运行命令，
        `%dock commit` 把这个命令改动的内容保存为新镜像，`%dock rm` 把容器丢掉。
        以 `\\` 结尾的 `%dock` 行在下一行继续，和 shell 里一样。
    """),
    code("""
        %dock bootstrap
        %dock run --name make-web busybox \\
          sh -c 'mkdir /www && echo "<h1>hello</h1>" > /www/index.html'
        %dock commit -m "add a web page" make-web web:1
    """),
    code("""
        %dock run --name make-tools busybox sh -c \\
          'printf "#!/bin/sh\\necho I am a tool\\n" > /bin/tool && chmod +x /bin/tool'
        %dock commit -m "add a tool" make-tools tools:1
        %dock rm make-web make-tools
    """),
    md("""
        The temporary containers did their job, so we removed them. Each new image has two layers —
        the newest first:
    """, """
        临时容器完成了任务，所以我们把它们删掉了。每个新镜像都有两层——最新的一层排在最前面：
    """),
    code("%dock history web:1"),
    md("""
        `web:1` is 1.04 MB, but almost all of that is busybox's layer. `%dock images` splits each
        image's size into **SHARED** (layers another image uses too) and **UNIQUE** (its own):
    """, """
        `web:1` 有 1.04 MB，但几乎全是 busybox 那一层。`%dock images` 把每个镜像的大小分成
        **SHARED**（别的镜像也在用的层）和 **UNIQUE**（只属于它自己的层）两部分：
    """),
    code("%dock images"),
    md("""
        A picture says it better. `%dock graph` draws every image on top of its stack of layers, the
        base at the bottom, each layer marked read-only (R/O). A layer that several images stand on
        is drawn **once**, in yellow with a thick border, and says how many images share it:
    """, """
        画张图更清楚。`%dock graph` 把每个镜像画在它那一叠层的顶上，底层在最下面，每一层都标着“只读”。
        被多个镜像共用的层只画**一次**，用黄色和粗边框标出，并注明有几个镜像共享它：
    """),
    code("%dock graph"),
    md("""
        Sharing is not only in the picture, it is on disk. Every blob is stored once, under its
        digest, however many images use it. `%dock system df` adds it up:
    """, """
        共享不只是图上画画而已，它真实地发生在磁盘上。每个 blob 都按摘要只存一份，不管有多少镜像在用它。
        `%dock system df` 做了统计：
    """),
    code("%dock system df"),
    code("""
        from pathlib import Path
        from minidock_magic.facade import Minidock
        engine = Minidock(HOME)  # the same store %dock uses, from Python
        users = {}
        for image in engine.list_images():
            for layer in image.layers:
                name = image.names[0].familiar
                users.setdefault(layer.digest.encoded, []).append(name)
        blobs = Path(HOME, "oci", "blobs", "sha256")
        for blob in sorted(blobs.iterdir(), key=lambda p: -p.stat().st_size):
            used_by = ", ".join(users.get(blob.name, ["(manifest or config)"]))
            print(f"{blob.stat().st_size:>8}  {blob.name[:12]}  {used_by}")
    """, """
        from pathlib import Path
        from minidock_magic.facade import Minidock
        engine = Minidock(HOME)  # 与 %dock 使用同一个存储，只是从 Python 访问
        users = {}
        for image in engine.list_images():
            for layer in image.layers:
                name = image.names[0].familiar
                users.setdefault(layer.digest.encoded, []).append(name)
        blobs = Path(HOME, "oci", "blobs", "sha256")
        for blob in sorted(blobs.iterdir(), key=lambda p: -p.stat().st_size):
            used_by = ", ".join(users.get(blob.name, ["(manifest or config)"]))
            print(f"{blob.stat().st_size:>8}  {blob.name[:12]}  {used_by}")
    """),
    md("""
        Three images, but busybox's 1 MB layer is on disk exactly once. Four images would cost
        the same: a new image built on a shared base costs only its own layers.

        ## ChainIDs: a layer means something only on top of its parents

        A layer is a *change* to the files below it: "add `/www/index.html`", "delete `/etc/group`".
        The same change laid on a different base gives a different filesystem. So a layer is
        identified in two ways:

        - its **diff_id**: the sha256 of the layer's own (uncompressed) tar — *what* it changes;
        - its **ChainID**: the first layer's ChainID is its diff_id; every next one is
          `sha256(ChainID_below + " " + diff_id)` — what it changes *and on top of what*.

        (A third name, the **layer digest**, is the sha256 of the layer as stored and sent:
        compressed. Compress the same tar again with another tool or another gzip level and it
        changes, while the diff_id does not — so layers are compared by diff_id and ChainID, never
        by layer digest. Lesson 1's picture shows all of them.)

        Unpacked layers on disk are kept per ChainID, so two images share an unpacked layer exactly
        when their ChainIDs are equal. Let us compute them by hand and compare with the engine's:
    """, """
        三个镜像，但 busybox 那 1 MB 的层在磁盘上只有一份。就算有四个镜像，花费也一样：
        建立在共享基础上的新镜像，只需付出它自己那几层的空间。

        ## ChainID：一层只有放在它的父层之上才有意义

        一层是对它下面那些文件的一次*改动*：“添加 `/www/index.html`”、“删除 `/etc/group`”。
        同样的改动放在不同的基础上，得到的是不同的文件系统。所以一层有两种标识：

        - **diff_id**：该层自身（未压缩）tar 的 sha256——表示它*改了什么*；
        - **ChainID**：第一层的 ChainID 就是它的 diff_id；之后每一层都是
          `sha256(下面一层的ChainID + " " + diff_id)`——表示它改了什么、*叠在什么之上*。

        （还有第三个名字——**层摘要**，它是这一层在存储和传输时的样子——压缩后——的 sha256。用别的工具或别的
        gzip 级别重新压缩同一个 tar，层摘要就变了，而 diff_id 不变——所以比较层时用 diff_id 和 ChainID，
        从不用层摘要。第 1 课的图把它们都画出来了。）

        磁盘上解包后的层按 ChainID 保存，所以只有 ChainID 相同时，两个镜像才共享同一个解包后的层。
        我们来手工计算一下，再和引擎算的对比：
    """),
    code("""
        import hashlib

        def chain_ids(diff_ids):
            chain = [diff_ids[0]]
            for diff_id in diff_ids[1:]:
                text = f"{chain[-1]} {diff_id}"
                chain.append("sha256:" + hashlib.sha256(text.encode()).hexdigest())
            return chain

        details = engine.image_inspect("web:1")
        layers = details["RootFS"]["Layers"]
        ours = chain_ids(layers)
        for diff_id, mine, engines in zip(layers, ours, details["ChainIDs"]):
            print("diff_id", diff_id[:19], " ChainID", mine[:19],
                  " same as the engine's:", mine == engines)
    """),
    md("""
        Now the interesting case: lay **the very same change** ("add the web page") on `tools:1`
        instead of on busybox:
    """, """
        现在看一个有意思的情况：把**完全相同的改动**（“添加网页”）叠在 `tools:1` 上，而不是 busybox 上：
    """),
    code("""
        %dock run --name make-web2 tools:1 \\
          sh -c 'mkdir /www && echo "<h1>hello</h1>" > /www/index.html'
        %dock commit -m "add a web page" make-web2 web:on-tools
        %dock rm make-web2
        for name in ["web:1", "web:on-tools"]:
            details = engine.image_inspect(name)
            top_diff_id = details["RootFS"]["Layers"][-1][7:19]
            top_chain_id = details["ChainIDs"][-1][7:19]
            print(f"{name:13} top diff_id {top_diff_id}   top ChainID {top_chain_id}")
    """),
    md("""
        Same diff_id (the same tar, stored once as a blob), different ChainIDs (it sits on different
        parents). In the graph the web-page change now appears twice — once on busybox, once on
        `tools:1` — while busybox's layer, at the bottom, is shared by all four images:
    """, """
        diff_id 相同（同一个 tar，作为 blob 只存一份），ChainID 不同（它的父层不同）。
        图中“添加网页”这一改动现在出现了两次——一次叠在 busybox 上，一次叠在 `tools:1` 上——
        而最底下 busybox 的层被全部四个镜像共享：
    """),
    code("%dock graph"),
    md("""
        ## Exercises

        **2.1 — Three layers on busybox.** Make an image `stack:3` that has busybox's layer at the
        bottom and **three** layers of yours above it. (Hint: run a container, change a file,
        commit; run a container *from what you committed*, change another file, commit again…)
    """, """
        ## 练习

        **2.1 —— 在 busybox 上叠三层。** 做一个镜像 `stack:3`：最底下是 busybox 的层，上面是你自己的**三**层。
        （提示：运行容器、改一个文件、提交；再从*刚提交的镜像*运行容器、改另一个文件、再提交……）
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock run --name s1 busybox sh -c 'echo one > /one.txt'
        %dock commit s1 stack:1
        %dock run --name s2 stack:1 sh -c 'echo two > /two.txt'
        %dock commit s2 stack:2
        %dock run --name s3 stack:2 sh -c 'echo three > /three.txt'
        %dock commit s3 stack:3
        %dock rm s1 s2 s3
        %dock history stack:3
    """),
    code('check("2.1")'),
    md("""
        **2.2 — Sharing more than busybox.** Make two different images `left:1` and `right:1` that
        share **two** layers: busybox's and one more. (Think ChainIDs: the shared layer must be the
        same change *on the same parent*. Make a common middle image first.)
    """, """
        **2.2 —— 共享 busybox 之外的层。** 做两个不同的镜像 `left:1` 和 `right:1`，让它们共享**两**层：
        busybox 的层，再加一层。（想想 ChainID：共享的那层必须是*在同一个父层上*的同一个改动。先做一个共同的中间镜像。）
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock run --name mid busybox sh -c 'echo shared > /shared.txt'
        %dock commit mid middle:1
        %dock run --name l middle:1 sh -c 'echo left > /side.txt'
        %dock commit l left:1
        %dock run --name r middle:1 sh -c 'echo right > /side.txt'
        %dock commit r right:1
        %dock rm mid l r
        %dock graph left:1 right:1
    """),
    code('check("2.2")'),
    md("""
        ## What we saw

        - An image is a **stack of layers (分层)**; a new image is an old one plus one more layer.
        - Images built on the same base **share** its layers: stored once, downloaded once.
        - A layer is shared together with everything under it: its **ChainID** names the whole stack.

        Next, lesson 3: why none of these layers can ever change.
    """, """
        ## 本课小结

        - 镜像是一**叠层（分层）**；新镜像就是旧镜像再加一层。
        - 建立在同一基础上的镜像**共享**这些层：只存一份，只下载一次。
        - 一层总是连同它下面的所有层一起被共享：它的 **ChainID** 代表了整叠层。

        下一课（第 3 课）：为什么这些层永远不能被修改。
    """),
]
