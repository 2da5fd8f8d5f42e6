from cells import code, info, md, setup, work

NUMBER, SLUG = "04", "containers"

CELLS = [
    md("""
        # Lesson 4 · Containers: a writable layer on top

        **Goals** — by the end of this lesson you can:
        - explain what a **container (容器)** adds to an image: a thin **writable layer (可写层)** on top of the image's **read-only layers (只读层)**;
        - write and delete files in a container and read the result with `%dock diff` (A added, C changed, D deleted);
        - show that two containers from one image do not see each other's changes, and the image stays the same — like two objects of one class.

        *About 20 minutes.*
    """, """
        # 第 4 课 · 容器：顶上的一层可写层

        **学习目标** —— 学完本课，你能够：
        - 说明**容器**在镜像之上多了什么：在镜像的**只读层**之上，加了薄薄的一层**可写层**；
        - 在容器里写入、删除文件，并用 `%dock diff` 读出结果（A 新增，C 修改，D 删除）；
        - 证明同一镜像创建的两个容器互相看不到对方的改动，而镜像本身保持不变——就像同一个类的两个对象。

        *大约 20 分钟。*
    """),
    setup("04"),
    *info(),
    md("""
        ## Writing into a read-only image?

        Lesson 3 showed that an image cannot change. Yet programs in a container write files all the
        time. The trick: when a container is created, the engine lays one more, **empty, writable**
        layer on top of the image's layers. The container sees all layers merged into one
        filesystem; every write lands in the top layer. Let us write, change and delete:
    """, """
        ## 往只读的镜像里写东西？

        第 3 课说明了镜像不能改。可是容器里的程序时时刻刻都在写文件。窍门在于：创建容器时，引擎在镜像的各层之上
        再铺一层**空的、可写的**层。容器看到的是所有层合并而成的一个文件系统；所有写入都落在最上面这一层。
        我们来写入、修改、删除：
    """),
    code("""
        %dock bootstrap
        image_before = %dock image inspect busybox
        %dock run --name c1 busybox sh -c 'echo "dear diary" > /diary.txt; \\
          echo "guest:x:1000:1000::/home:/bin/sh" >> /etc/passwd; rm /etc/group'
    """),
    md("""
        `%dock diff` lists what is in the container's writable layer, compared with the image:
        **A**dded, **C**hanged, **D**eleted. (`/etc` shows as changed because its list of entries
        changed.)
    """, """
        `%dock diff` 列出容器可写层里有什么（与镜像相比）：**A** 新增、**C** 修改、**D** 删除。
        （`/etc` 显示为修改，是因为它里面的条目列表变了。）
    """),
    code("%dock diff c1"),
    md("""
        How can a container delete a file that lives in a read-only layer? It cannot — it *hides*
        it: the writable layer records a marker ("whiteout") saying "`/etc/group` is gone", and the
        merged view honours it. And a changed file is first **copied up** into the writable layer,
        then changed there; the original stays in the image.

        ## Two containers, one image

        A second container from the same image gets its **own** empty writable layer. It sees
        busybox exactly as it was built:
    """, """
        容器怎么能删除只读层里的文件？它删不掉——它只是把文件*藏起来*：可写层记下一个标记（“whiteout”，白障），
        表示“`/etc/group` 没了”，合并后的视图就照此处理。被修改的文件则先**复制上来**（copy-up）到可写层，
        再在那里修改；原文件仍留在镜像里。

        ## 两个容器，一个镜像

        同一个镜像创建的第二个容器，会得到**属于它自己的**空可写层。它看到的 busybox 和构建时一模一样：
    """),
    code("""
        %dock run --name c2 busybox \\
          sh -c 'cat /diary.txt; tail -n 1 /etc/passwd; head -n 1 /etc/group'
        %dock diff c2
    """),
    md("""
        `c2` sees no diary, no guest user, and `/etc/group` is there; its diff is empty. And the
        image? Its digest and layers are exactly what they were before `c1` wrote anything:
    """, """
        `c2` 看不到日记，没有 guest 用户，`/etc/group` 也还在；它的 diff 是空的。那镜像呢？它的摘要和各层，
        与 `c1` 写入任何东西之前完全一样：
    """),
    code("""
        image_after = %dock image inspect busybox
        print("busybox unchanged:", image_before.data == image_after.data)
        %dock system check
    """, """
        image_after = %dock image inspect busybox
        print("busybox 没有变化：", image_before.data == image_after.data)
        %dock system check
    """),
    md("""
        The graph shows it, read from the bottom up: busybox's one read-only (R/O) layer, the image
        on it, and on top two thin writable (R/W) layers (dashed, green), one per container:
    """, """
        图上一目了然，从下往上读：busybox 唯一的只读层，其上是镜像，最上面是两个薄薄的可写层（绿色虚线框），每个容器一个：
    """),
    code("%dock graph"),
    md("""
        `%dock panel` shows one container as a stack — its writable layer with the changes, over the
        read-only layers — with buttons to start and stop it. (A live notebook is needed to see it.)
    """, """
        `%dock panel` 把一个容器画成一叠——最上面是带着改动的可写层，下面是只读层——并附有启动、停止按钮。
        （需要在运行中的 notebook 里查看。）
    """),
    code("""
        # NBVAL_IGNORE_OUTPUT
        %dock panel c1
    """),
    md("""
        ## Class and object

        If you know object-oriented programming: an image is like a **class**, a container like an
        **object** (an instance) of it. The class is defined once; every object made from it starts
        out the same, keeps its own state, and changing one object changes neither the class nor the
        other objects. Python even has the same "copy up" and "hide" behaviour for attributes:
    """, """
        ## 类与对象

        如果你学过面向对象编程：镜像就像一个**类**，容器就像它的一个**对象**（实例）。类只定义一次；
        由它创建的每个对象一开始都一样，各自保存自己的状态；改动一个对象，既不会改变类，也不会改变其他对象。
        Python 的属性甚至有同样的“复制上来”和“遮盖”行为：
    """),
    code("""
        class Busybox:                      # the image: read-only, shared
            motd = "welcome to busybox"

        c1, c2 = Busybox(), Busybox()      # two containers
        c1.motd = "c1 was here"            # a write lands in c1's own layer
        print(c1.motd, "|", c2.motd, "|", Busybox.motd)
        del c1.motd                        # c1's copy gone: the image's shows through
        print(c1.motd)
    """, """
        class Busybox:                      # 镜像：只读、共享
            motd = "welcome to busybox"

        c1, c2 = Busybox(), Busybox()      # 两个容器
        c1.motd = "c1 was here"            # 写入落在 c1 自己的层里
        print(c1.motd, "|", c2.motd, "|", Busybox.motd)
        del c1.motd                        # c1 自己的副本没了：又能看到镜像里的那份
        print(c1.motd)
    """),
    md("""
        (One difference: deleting a *file* in a container hides the image's file, as we saw with
        `/etc/group`; Python's `del` here removes the object's own copy and the class value shows
        again.)

        ## Exercises

        **4.1 — A note.** Run a container named `notes` from busybox that writes a file
        `/notes.txt`, then look at `%dock diff notes`.
    """, """
        （有一点不同：在容器里删除*文件*会把镜像里的文件遮盖起来，就像刚才的 `/etc/group`；
        而这里 Python 的 `del` 删除的是对象自己的副本，于是类里的值又露了出来。）

        ## 练习

        **4.1 —— 一张便条。** 从 busybox 运行一个名为 `notes` 的容器，让它写一个文件 `/notes.txt`，
        然后看看 `%dock diff notes`。
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock run --name notes busybox sh -c 'echo "buy milk" > /notes.txt'
        %dock diff notes
    """),
    code('check("4.1")'),
    md("""
        **4.2 — Twins.** Make two containers `twin1` and `twin2` from busybox. Each writes
        `/twin.txt`, with **different** content. Show with `%dock run` or `%dock diff` that neither
        sees the other's file content, and that busybox has not changed.
    """, """
        **4.2 —— 双胞胎。** 从 busybox 创建两个容器 `twin1` 和 `twin2`。各自写入 `/twin.txt`，内容**不同**。
        用 `%dock run` 或 `%dock diff` 证明它们看不到对方的文件内容，而且 busybox 没有变化。
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock run --name twin1 busybox sh -c 'echo "I am the first" > /twin.txt'
        %dock run --name twin2 busybox sh -c 'echo "I am the second" > /twin.txt'
        %dock run --rm busybox sh -c 'cat /twin.txt || echo "busybox has no /twin.txt"'
        diff1 = %dock diff twin1
        diff2 = %dock diff twin2
        display(diff1, diff2)
    """),
    code('check("4.2")'),
    md("""
        ## What we saw

        - A **container (容器)** = the image's **read-only layers (只读层)** + its own **writable layer (可写层)** + a process.
        - Writes, changes (copy-up) and deletions (whiteouts) all land in the writable layer; `%dock diff` shows them.
        - Containers from one image are independent, and the image never changes: class and objects.

        Next, lesson 5: the *process* part — isolation, and the life of a container.
    """, """
        ## 本课小结

        - **容器** = 镜像的**只读层** + 它自己的**可写层** + 一个进程。
        - 写入、修改（复制上来）和删除（白障）都落在可写层里；`%dock diff` 能把它们显示出来。
        - 同一镜像的容器彼此独立，镜像本身永远不变：就像类和对象。

        下一课（第 5 课）：*进程*这一面——隔离，以及容器的一生。
    """),
]
