from cells import code, info, md, setup, work

NUMBER, SLUG = "03", "images-are-read-only"

CELLS = [
    md("""
        # Lesson 3 · Images are read-only

        **Goals** — by the end of this lesson you can:
        - explain a **content address**: a blob's name is the sha256 of its bytes, so its name and its content cannot disagree;
        - tell a **tag** (a name that can move) from a **digest** (a name that never does);
        - see why an image can never be modified — only replaced — and watch a damaged byte get caught.

        *About 20 minutes.*
    """, """
        # 第 3 课 · 镜像是只读的

        **学习目标** —— 学完本课，你能够：
        - 解释**内容寻址**：blob 的名字就是它内容的 sha256，所以名字和内容不可能对不上；
        - 区分**标签**（可以移动的名字）和**摘要**（永远不变的名字）；
        - 明白为什么镜像永远不能被修改，只能被替换——并亲眼看到一个损坏的字节被发现。

        *大约 20 分钟。*
    """),
    setup("03"),
    *info(),
    md("""
        ## A name computed from the content

        Every blob in the store lives in a file named after the sha256 of its bytes. Let us hash
        busybox's manifest ourselves and compare with its **manifest digest** (lesson 1's picture:
        the `sha256:4e73…` that `bootstrap` printed):
    """, """
        ## 由内容算出来的名字

        存储中的每个 blob 都保存在一个以其内容 sha256 命名的文件里。我们自己来算一下 busybox 的
        manifest 的哈希，再和它的 **manifest 摘要**比较（第 1 课的图：就是 `bootstrap` 打印的 `sha256:4e73…`）：
    """),
    code("""
        import hashlib
        from pathlib import Path
        from minidock_magic.facade import Minidock
        engine = Minidock(HOME)
        busybox = engine.bootstrap()
        blob = Path(HOME, "oci", "blobs", "sha256", busybox.digest.encoded)
        print("the engine says:  ", busybox.digest)
        ours = hashlib.sha256(blob.read_bytes()).hexdigest()
        print("we compute:       ", "sha256:" + ours)
    """, """
        import hashlib
        from pathlib import Path
        from minidock_magic.facade import Minidock
        engine = Minidock(HOME)
        busybox = engine.bootstrap()
        blob = Path(HOME, "oci", "blobs", "sha256", busybox.digest.encoded)
        print("引擎给出的摘要：", busybox.digest)
        ours = hashlib.sha256(blob.read_bytes()).hexdigest()
        print("我们算出的摘要：", "sha256:" + ours)
    """),
    md("""
        The manifest itself names the config (its digest is the IMAGE ID) and the layers (by their
        layer digests):
    """, """
        而 manifest 本身又用摘要来指明 config（它的摘要就是 IMAGE ID）和各个层（用层摘要）：
    """),
    code("print(blob.read_text())"),
    md("""
        This chain of fingerprints is why an image is **read-only (只读)**. Change one byte of a
        layer and the layer's digest changes; the manifest that lists it would then have to change,
        and so would its manifest digest — the name `busybox@sha256:…` and every registry use. You
        cannot edit an image in place; you can only make **another** image. The store even marks
        blob files read-only on disk:
    """, """
        这条“指纹链”正是镜像**只读**的原因。改动某一层的一个字节，这一层的摘要就变了；列出这一层的
        manifest 也就必须跟着变，它的 manifest 摘要——`busybox@sha256:…` 这种名字和所有仓库服务器用的正是它——也随之改变。
        你无法原地编辑一个镜像，只能做出**另一个**镜像。存储甚至在磁盘上把 blob 文件设成了只读：
    """),
    code("""
        import stat
        print(stat.filemode(blob.stat().st_mode), blob.name[:12])
    """),
    md("""
        ## Tags move, digests do not

        `busybox` is short for `busybox:latest`: a **tag**, a label on a repository that points at
        one image *for now*. Give the same image another tag, and both names show the same IMAGE ID:
    """, """
        ## 标签会移动，摘要不会

        `busybox` 是 `busybox:latest` 的简写：一个**标签**，它是仓库上的一个标记，*暂时*指向某一个镜像。
        给同一个镜像再打一个标签，两个名字显示的是同一个 IMAGE ID：
    """),
    code("""
        %dock tag busybox mybox:v1
        %dock images
    """),
    md("""
        Now "update" `mybox:v1`: make a changed image and give it the same tag. The tag moves to the
        new image; the old image is still there, untouched, under its manifest digest:
    """, """
        现在来“更新” `mybox:v1`：做一个改动过的镜像，并给它打上同一个标签。标签移到了新镜像上；
        旧镜像依然在那里，原封不动，用它的 manifest 摘要仍能找到：
    """),
    code("""
        %dock run --name changer busybox sh -c 'echo "version 2" > /VERSION'
        %dock commit changer mybox:v1
        %dock rm changer
        %dock images
    """),
    code("""
        %dock run --rm mybox:v1 cat /VERSION
        %dock run --rm busybox@{busybox.digest} \\
          sh -c 'cat /VERSION || echo "no /VERSION: this is the original"'
    """),
    md("""
        A name with `@` and a manifest digest is **pinned**: whatever happens to tags, it always means exactly
        those bytes. That is how you make sure a build or a deployment uses precisely the image
        you tested.

        ## Exercises (part 1)

        **3.1 — A second name.** Give busybox the tag `teaching/busybox:stable`, and check with
        `%dock images` that it has busybox's IMAGE ID.
    """, """
        带 `@` 和 manifest 摘要的名字是**固定的**：不管标签怎么变，它永远指的是那几个确定的字节。
        这样就能保证构建或部署用的正是你测试过的那个镜像。

        ## 练习（第一部分）

        **3.1 —— 第二个名字。** 给 busybox 打上标签 `teaching/busybox:stable`，再用 `%dock images`
        确认它和 busybox 的 IMAGE ID 相同。
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock tag busybox teaching/busybox:stable
        %dock images
    """),
    code('check("3.1")'),
    md("""
        **3.2 — Pinned.** Create (don't run) a container named `pinned` from busybox **by digest**:
        a name `busybox@sha256:…` with busybox's **manifest digest** (not the IMAGE ID). It is
        `busybox.digest` in Python, or the `RepoDigests` of `%dock image inspect busybox`.
    """, """
        **3.2 —— 固定下来。** **按摘要**从 busybox 创建（不运行）一个名为 `pinned` 的容器：
        名字写成 `busybox@sha256:…`，用 busybox 的 **manifest 摘要**（不是 IMAGE ID）。它在 Python 里是 `busybox.digest`，
        也可以在 `%dock image inspect busybox` 的 `RepoDigests` 里找到。
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock create --name pinned busybox@{busybox.digest}
    """),
    code('check("3.2")'),
    md("""
        ## A flipped byte

        Disks fail, copies get truncated, someone edits a file by hand. Content addressing makes all
        of these visible. We make a small image `note:1`, keep a copy of it in `note.tar`, and then
        flip **one bit** of its layer on disk (we have to force the file writable first):
    """, """
        ## 翻转一个比特

        磁盘会坏，复制会被截断，也会有人手工改文件。内容寻址让这些问题都无处藏身。我们先做一个小镜像
        `note:1`，把它备份到 `note.tar`，然后在磁盘上把它的层翻转**一个比特**（得先强行让文件可写）：
    """),
    code("""
        %dock run --name writer busybox sh -c 'echo "meet at ten" > /note.txt'
        %dock commit writer note:1
        %dock rm writer
        %dock save -o {HOME}/note.tar note:1

        note = engine.image("note:1")
        top_layer = note.layers[-1].digest.encoded
        layer_file = Path(HOME, "oci", "blobs", "sha256", top_layer)
        layer_file.chmod(0o644)
        data = bytearray(layer_file.read_bytes())
        data[len(data) // 2] ^= 0x01
        layer_file.write_bytes(bytes(data))
        print("flipped one bit in", note.layers[-1].digest)
    """, """
        %dock run --name writer busybox sh -c 'echo "meet at ten" > /note.txt'
        %dock commit writer note:1
        %dock rm writer
        %dock save -o {HOME}/note.tar note:1

        note = engine.image("note:1")
        top_layer = note.layers[-1].digest.encoded
        layer_file = Path(HOME, "oci", "blobs", "sha256", top_layer)
        layer_file.chmod(0o644)
        data = bytearray(layer_file.read_bytes())
        data[len(data) // 2] ^= 0x01
        layer_file.write_bytes(bytes(data))
        print("已翻转一个比特：", note.layers[-1].digest)
    """),
    md("""
        `%dock system check` re-hashes every blob and compares with its name:
    """, """
        `%dock system check` 会重新计算每个 blob 的哈希，并与它的名字比较：
    """),
    code("%dock system check"),
    code("%dock run --rm note:1 cat /note.txt"),
    md("""
        The engine refuses to build a container from a damaged layer. Nothing can quietly go wrong:
        either the bytes match their name, or you are told.

        ## Exercise (part 2)

        **3.3 — Repair the store.** Make `system check` say OK again and get `note:1` back whole.
        Blobs are never overwritten, so first remove the damaged image (`%dock rmi` deletes blobs
        nothing else uses), then load the good copy from `note.tar` (`%dock load -i FILE`), and run
        `cat /note.txt` in it.
    """, """
        引擎拒绝用损坏的层创建容器。不会有任何东西悄悄出错：要么字节与名字相符，要么你会被告知。

        ## 练习（第二部分）

        **3.3 —— 修复存储。** 让 `system check` 重新报告 OK，并让 `note:1` 完好地回来。
        blob 永远不会被覆盖，所以先删除受损的镜像（`%dock rmi` 会删掉没有其他镜像使用的 blob），
        再从 `note.tar` 加载完好的副本（`%dock load -i 文件`），然后在其中运行 `cat /note.txt`。
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock rmi note:1
        %dock load -i {HOME}/note.tar
        %dock run --rm note:1 cat /note.txt
        %dock system check
    """),
    code('check("3.3")'),
    md("""
        ## What we saw

        - Blobs are **content-addressed**: the name is the sha256 of the bytes, checked on every use.
        - So images are **read-only (只读)**: "changing" one makes a new image with a new digest.
        - **Tags** are movable labels; **digests** pin exactly one image.
        - Damage is detected, never silently used.

        Next, lesson 4: if images cannot change, how does a running container write files?
    """, """
        ## 本课小结

        - blob 是**内容寻址**的：名字就是内容的 sha256，每次使用都会核对。
        - 所以镜像是**只读**的：“修改”镜像其实是做出一个摘要不同的新镜像。
        - **标签**是可移动的标记；**摘要**固定指向唯一的镜像。
        - 损坏一定会被发现，绝不会被悄悄使用。

        下一课（第 4 课）：既然镜像不能改，运行中的容器又是怎么写文件的？
    """),
]
