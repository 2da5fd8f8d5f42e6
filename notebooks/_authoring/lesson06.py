from cells import code, info, md, setup, work

NUMBER, SLUG = "06", "making-images"

CELLS = [
    md("""
        # Lesson 6 · Making images

        **Goals** — by the end of this lesson you can:
        - make an image by hand: change files in a **temporary container**, then `commit` its writable layer as a new layer;
        - write the same steps as a **Dockerfile** and build it with `%%dock build`;
        - explain the **build cache**: why an unchanged step is not run again.

        *About 25 minutes.*
    """, """
        # 第 6 课 · 制作镜像

        **学习目标** —— 学完本课，你能够：
        - 手工制作镜像：在一个**临时容器**里改动文件，再用 `commit` 把它的可写层提交为新的一层；
        - 把同样的步骤写成 **Dockerfile**，并用 `%%dock build` 构建；
        - 解释**构建缓存**：为什么没有变化的步骤不会再运行一遍。

        *大约 25 分钟。*
    """),
    setup("06"),
    *info(),
    md("""
        ## By hand: a temporary container, then commit

        Images are read-only (lesson 3), so a new image is never "edited": we start a container
        from the base image, change files in its writable layer (lesson 4), and **commit** that
        layer. The container was only a workbench; afterwards we throw it away.
    """, """
        ## 手工制作：临时容器，然后提交

        镜像是只读的（第 3 课），所以新镜像从来不是“编辑”出来的：我们从基础镜像启动一个容器，在它的可写层里改动文件（第 4 课），
        然后**提交**这一层。容器只是一个工作台；用完就扔掉。
    """),
    code("""
        %dock bootstrap
        %dock run --name workbench busybox \\
          sh -c 'mkdir /app && echo "echo Hello from my image" > /app/greet.sh'
        %dock diff workbench
    """),
    code("""
        %dock commit -m "add greet.sh" -c 'CMD ["sh", "/app/greet.sh"]' \\
          workbench hello:1
        %dock rm workbench
        %dock run --rm hello:1
        %dock history hello:1
    """),
    md("""
        `-c 'CMD [...]'` changed the image's config as well: the command a container runs when you
        give none. `%dock history` shows the new layer (with our message) on top of busybox's.

        ## The same with a Dockerfile

        Doing this by hand for every change is tedious and easy to get wrong. A **Dockerfile** writes
        the steps down: `FROM` the base, one `RUN` per shell command, `CMD` for the default command.
        `%%dock build -t NAME` takes the cell as the Dockerfile. Watch what each step does:
    """, """
        `-c 'CMD [...]'` 同时修改了镜像的配置：也就是你不指定命令时容器默认运行的命令。`%dock history` 显示新的一层
        （带着我们的说明）叠在 busybox 的层之上。

        ## 用 Dockerfile 做同样的事

        每次改动都手工来做，既繁琐又容易出错。**Dockerfile** 把步骤写下来：`FROM` 指定基础镜像，每条 shell 命令一个 `RUN`，
        `CMD` 指定默认命令。`%%dock build -t 名字` 把单元格的内容当作 Dockerfile。看看每一步做了什么：
    """),
    code("""
        %%dock build -t hello:2
        FROM busybox
        RUN mkdir /app && echo "echo Hello from my image" > /app/greet.sh
        RUN rm /etc/group
        CMD ["sh", "/app/greet.sh"]
    """),
    md("""
        Each `RUN` step was exactly our manual recipe: **"Running in …"** is a temporary container,
        and **"Removing intermediate container"** throws it away after its layer was committed. `CMD`
        only changes the config, so it adds no layer.

        Because layers are made reproducibly, the first `RUN` made *the very same layer* as our
        manual commit — same change, same parent, same bytes:
    """, """
        每个 `RUN` 步骤做的正是我们手工的那一套：**“Running in …”** 是一个临时容器，**“Removing intermediate container”**
        在它的层提交之后把它扔掉。`CMD` 只改配置，所以不增加层。

        由于层是可重现地生成的，第一个 `RUN` 生成的层与我们手工提交的*完全相同*——同样的改动、同样的父层、同样的字节：
    """),
    code("""
        from minidock_magic.facade import Minidock
        engine = Minidock(HOME)
        for name in ["hello:1", "hello:2"]:
            layers = engine.image(name).layers
            ids = "  ".join(layer.digest.encoded[:12] for layer in layers)
            print(f"{name:8}", ids)
    """),
    md("""
        ### How a deletion travels

        The second `RUN` deleted `/etc/group`, a file of busybox's read-only layer. The new layer
        cannot remove it from below; it carries a **whiteout**: an empty entry named `.wh.group`
        that says "hide `group` in this directory":
    """, """
        ### 删除是怎么传递的

        第二个 `RUN` 删除了 `/etc/group`，这是 busybox 只读层里的文件。新的一层无法从下面把它删掉；它携带一个**白障（whiteout）**：
        一个名为 `.wh.group` 的空条目，意思是“在这个目录里隐藏 `group`”：
    """),
    code("""
        import tarfile
        with engine.content.open(engine.image("hello:2").layers[-1].digest) as blob:
            for member in tarfile.open(fileobj=blob, mode="r|*"):
                print(f"{member.size:>4}  {member.name}")
    """),
    md("""
        ## The build cache

        Build the same Dockerfile again. Every step was done before, from the same parent, with the
        same instruction — so the engine reuses the result ("Using cache") and runs nothing:
    """, """
        ## 构建缓存

        把同一个 Dockerfile 再构建一次。每一步以前都做过，父层相同、指令相同——所以引擎直接复用结果（“Using cache”），什么也不运行：
    """),
    code("""
        %%dock build -t hello:2
        FROM busybox
        RUN mkdir /app && echo "echo Hello from my image" > /app/greet.sh
        RUN rm /etc/group
        CMD ["sh", "/app/greet.sh"]
    """),
    md("""
        Now change the **second** `RUN`. The first step is still cached; from the changed step on,
        everything is rebuilt, because each later step's parent is now different. (That is why
        Dockerfiles put the steps that change least at the top.)
    """, """
        现在修改**第二个** `RUN`。第一步仍然命中缓存；从修改的那一步起，后面的都要重新构建，因为之后每一步的父层都变了。
        （这就是为什么 Dockerfile 要把最不常变化的步骤放在最前面。）
    """),
    code("""
        %%dock build -t hello:3
        FROM busybox
        RUN mkdir /app && echo "echo Hello from my image" > /app/greet.sh
        RUN rm /etc/passwd
        CMD ["sh", "/app/greet.sh"]
    """),
    md("""
        Read the graph from the bottom up: busybox's layer, then the layer of the first `RUN` —
        drawn once and marked shared, because all three images stand on it — and from there two
        stacks grow apart where `hello:2` and `hello:3` took different second steps:
    """, """
        从下往上读这张图：busybox 的层，然后是第一个 `RUN` 的层——它只画了一次并标为共享，因为三个镜像都站在它上面——
        从那里开始，`hello:2` 和 `hello:3` 的第二步不同，于是长出了两叠不同的层：
    """),
    code("%dock graph hello:1 hello:2 hello:3"),
    md("""
        ## Exercises

        **6.1 — greeter:1, by hand.** Start a container from busybox, write a script
        `/greet.sh` that prints a greeting, and commit the container as `greeter:1` with
        `-c 'CMD ["sh", "/greet.sh"]'`, so that a plain `%dock run --rm greeter:1` greets.
    """, """
        ## 练习

        **6.1 —— 手工做出 greeter:1。** 从 busybox 启动一个容器，写一个打印问候语的脚本 `/greet.sh`，
        再用 `-c 'CMD ["sh", "/greet.sh"]'` 把容器提交为 `greeter:1`，让 `%dock run --rm greeter:1` 直接打招呼。
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock run --name greeter-bench busybox \\
          sh -c 'echo "echo Hello, class" > /greet.sh'
        %dock commit -c 'CMD ["sh", "/greet.sh"]' greeter-bench greeter:1
        %dock rm greeter-bench
        %dock run --rm greeter:1
    """),
    code('check("6.1")'),
    md("""
        **6.2 — greeter:2, from a Dockerfile.** Write a Dockerfile that does the same (`FROM`,
        `RUN`, `CMD`) and build it as `greeter:2` with `%%dock build -t greeter:2` on the first line
        of the cell. Build it twice: what does the second build print?
    """, """
        **6.2 —— 用 Dockerfile 做出 greeter:2。** 写一个做同样事情的 Dockerfile（`FROM`、`RUN`、`CMD`），
        在单元格第一行写上 `%%dock build -t greeter:2` 来构建它。构建两次：第二次打印了什么？
    """),
    work("""
        # your Dockerfile here (the first line of the cell: %%dock build -t greeter:2)
    """, """
        # 在这里写你的 Dockerfile（单元格第一行：%%dock build -t greeter:2）
    """, """
        %%dock build -t greeter:2
        FROM busybox
        RUN echo "echo Hello, class" > /greet.sh
        CMD ["sh", "/greet.sh"]
    """),
    code('check("6.2")'),
    md("""
        ## What we saw

        - A new layer is made by changing files in a **temporary container** and committing its writable layer.
        - A **Dockerfile** automates exactly that: one temporary container per `RUN`; `CMD` and friends only change the config.
        - Deleting a lower layer's file is recorded as a **whiteout**.
        - The **build cache** reuses any step whose parent and instruction are unchanged.

        Next, lesson 7: sharing the images you made, through a registry.
    """, """
        ## 本课小结

        - 新的一层是这样产生的：在**临时容器**里改动文件，再提交它的可写层。
        - **Dockerfile** 把这一过程自动化：每个 `RUN` 一个临时容器；`CMD` 之类的指令只改配置。
        - 删除下层的文件会被记录为一个**白障（whiteout）**。
        - **构建缓存**会复用父层和指令都没有变化的步骤。

        下一课（第 7 课）：通过仓库服务器分享你制作的镜像。
    """),
]
