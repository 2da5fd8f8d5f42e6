from cells import code, info, md, setup, work

NUMBER, SLUG = "07", "registries-and-repositories"

CELLS = [
    md("""
        # Lesson 7 · Registries and repositories

        **Goals** — by the end of this lesson you can:
        - tell a **repository (仓库)** — one named collection of tagged images — from a **registry (仓库服务器)** — a server that holds many repositories;
        - run a public, Docker Hub-like registry and a private one, **log in**, **push** and **pull**;
        - read the HTTP conversation of a push or pull, and see that only the **missing layers** travel;
        - list what a registry holds: its catalog of repositories and a repository's tags.

        *About 30 minutes.*
    """, """
        # 第 7 课 · 仓库与仓库服务器

        **学习目标** —— 学完本课，你能够：
        - 区分**仓库**（repository，一组带标签的镜像的集合，有一个名字）和**仓库服务器**（registry，存放许多仓库的服务器）；
        - 运行一个类似 Docker Hub 的公共仓库服务器和一个私有仓库服务器，完成**登录**、**推送**、**拉取**；
        - 读懂推送或拉取时的 HTTP 对话，看到只有**缺少的层**才会被传输；
        - 列出仓库服务器上有什么：它的仓库目录，以及某个仓库的标签。

        *大约 30 分钟。*
    """),
    setup("07"),
    *info(),
    md("""
        ## What a name says

        An image name has up to three parts: **registry host / repository path : tag**. When the
        host is missing, docker assumes Docker Hub (`docker.io`), and one-word names live under
        `library/`:
    """, """
        ## 名字里包含了什么

        镜像名字最多有三部分：**仓库服务器地址 / 仓库路径 : 标签**。省略地址时，docker 默认是 Docker Hub（`docker.io`），
        只有一个单词的名字放在 `library/` 下：
    """),
    code("""
        from minidock_magic.oci.reference import Reference
        for name in ["busybox", "alice/hello:1", "127.0.0.1:5000/alice/hello:1"]:
            r = Reference.parse(name)
            print(f"{name:30} registry={r.domain:16}",
                  f"repository={r.path:15} tag={r.tag}")
    """),
    md("""
        So `alice/hello` is a **repository**: all versions (tags) of Alice's hello image. Docker Hub
        is a **registry**: a server holding millions of repositories. (People often say "仓库" for
        both; the difference matters when you run your own.)

        ## A public registry, like Docker Hub

        We start one here, in the background, on `127.0.0.1` and a free port. In `public` mode it
        behaves like Docker Hub: **anyone may pull**; **pushing needs an account**, and only into
        your own namespace (`alice/…` for Alice).

        *A word with two meanings:* a registry's **namespace** is the first part of a repository's
        path — an account's own corner of the registry. The Linux **namespaces** of lesson 5 are
        something else entirely: kernel features that give a process its own view of process IDs,
        host name, network. Same word, unrelated ideas.

        We create two accounts. Their passwords go into variables once; later cells name the
        variable, never the password:
    """, """
        所以 `alice/hello` 是一个**仓库**：Alice 的 hello 镜像的所有版本（标签）。Docker Hub 则是一个**仓库服务器**：
        一台存放着数以百万计仓库的服务器。（人们常常把两者都叫“仓库”；等你自己搭建的时候，区别就很重要了。）

        ## 一个公共仓库服务器，类似 Docker Hub

        我们在这里后台启动一个，监听 `127.0.0.1` 上的一个空闲端口。在 `public` 模式下，它的行为和 Docker Hub 一样：
        **任何人都能拉取**；**推送需要账号**，而且只能推送到你自己的命名空间（Alice 的是 `alice/…`）。

        *同一个词，两个意思：*仓库服务器的**命名空间**是仓库路径的第一段——某个账号在仓库服务器上专属的一块地方。
        第 5 课的 Linux **命名空间**则完全是另一回事：内核功能，让进程拥有自己的一份进程号、主机名、网络视图。
        词相同，概念毫不相干。

        我们建两个账号。密码只在变量里写一次；后面的单元格只写变量名，从不写密码本身：
    """),
    code("""
        from pathlib import Path
        from minidock_magic.registry import RegistryServer, add_user

        ALICE_PASSWORD, BOB_PASSWORD = "alice-secret", "bob-secret"
        accounts = Path(HOME) / "accounts.htpasswd"
        add_user(accounts, "alice", ALICE_PASSWORD)
        add_user(accounts, "bob", BOB_PASSWORD)
        hub = RegistryServer(Path(HOME) / "hub-data", auth_mode="public",
                             htpasswd=accounts).start()
        HUB = hub.address
        print("public registry listening on", HUB)
    """, """
        from pathlib import Path
        from minidock_magic.registry import RegistryServer, add_user

        ALICE_PASSWORD, BOB_PASSWORD = "alice-secret", "bob-secret"
        accounts = Path(HOME) / "accounts.htpasswd"
        add_user(accounts, "alice", ALICE_PASSWORD)
        add_user(accounts, "bob", BOB_PASSWORD)
        hub = RegistryServer(Path(HOME) / "hub-data", auth_mode="public",
                             htpasswd=accounts).start()
        HUB = hub.address
        print("公共仓库服务器正在监听", HUB)
    """),
    md("""
        ## Alice publishes an image

        This notebook's store is Alice's laptop. She makes `hello:1` (busybox plus one small
        layer), then names it for the registry: the name *is* the address.
    """, """
        ## Alice 发布一个镜像

        这个 notebook 的存储就是 Alice 的笔记本电脑。她做出 `hello:1`（busybox 加上一小层），然后按仓库服务器来给它命名：
        名字*就是*地址。
    """),
    code("""
        ALICE = HOME
        %dock bootstrap
        %dock run --name make-hello busybox \\
          sh -c 'echo "echo Hello from Alice" > /hello.sh'
        %dock commit -c 'CMD ["sh", "/hello.sh"]' make-hello hello:1
        %dock rm make-hello
        %dock tag hello:1 {HUB}/alice/hello:1
        %dock push {HUB}/alice/hello:1
    """),
    md("""
        Refused: a public registry lets anyone read, but only account holders write. Alice logs in,
        then pushes again. In your own notebook, `%dock login -u alice HOST` asks for the password
        in a password box and the saved cell keeps nothing; a lesson that must run unattended
        reads it from a variable with `--password-from`. `--trace` shows the HTTP conversation,
        grouped by step:
    """, """
        被拒绝了：公共仓库服务器允许任何人读取，但只有持有账号的人才能写入。Alice 先登录，再推送一次。
        在你自己的 notebook 里，`%dock login -u alice 地址` 会弹出密码框询问密码，保存下来的单元格里什么也不留；
        需要无人值守运行的课程则用 `--password-from` 从变量里读取密码。`--trace` 按步骤分组显示 HTTP 对话：
    """),
    code("%dock login -u alice --password-from ALICE_PASSWORD {HUB}"),
    code("%dock push --trace {HUB}/alice/hello:1"),
    md("""
        Read it from the top. For each blob (the layer, the config) the client first **checks**
        with `HEAD …/blobs/sha256:…` — *do you already have this?* — and **uploads** (`POST`, then
        `PUT` with the bytes, which **commits** the upload as a blob) only on `404 Not Found`. The
        first upload is answered `401` with a challenge; the client **logs in** for a token with
        Alice's password (`GET /token`) and retries. The **manifest** goes last, under the tag: once
        it is there, everything it names is there.

        Now publish the same image under a second tag. Every blob is already in the registry, so
        only the small manifest travels:
    """, """
        从头读一遍。对每个 blob（层、config），客户端先用 `HEAD …/blobs/sha256:…` **检查**——*你已经有这个了吗？*——
        只有收到 `404 Not Found` 时才**上传**（先 `POST`，再用 `PUT` 发送内容，这一步把上传**提交**为 blob）。
        第一次上传得到的是带有“质询”的 `401`；客户端用 Alice 的密码**登录**换取一个令牌（`GET /token`）后重试。
        **manifest** 最后上传，挂在标签下面：它一到位，它提到的所有东西就都已经到位了。

        现在用第二个标签发布同一个镜像。所有 blob 都已在仓库服务器上，所以只有那个小小的 manifest 需要传输：
    """),
    code("""
        %dock tag hello:1 {HUB}/alice/hello:latest
        %dock push --trace {HUB}/alice/hello:latest
    """),
    md("""
        Alice also publishes the image in a second repository of hers, `alice/greeting`. Watch for
        **Mounted from alice/hello**: the registry already holds these blobs for another
        repository, so instead of uploading them again the client asks it to *mount* them — to let
        `alice/greeting` use the copy it has (`POST …/uploads/?mount=…&from=alice/hello`). Each
        blob stays stored once:
    """, """
        Alice 还把这个镜像发布到她的第二个仓库 `alice/greeting`。注意 **Mounted from alice/hello**：
        仓库服务器已经为另一个仓库保存了这些 blob，所以客户端不再上传，而是请它*挂载*——让 `alice/greeting`
        直接使用已有的那一份（`POST …/uploads/?mount=…&from=alice/hello`）。每个 blob 仍然只存一份：
    """),
    code("""
        %dock tag hello:1 {HUB}/alice/greeting:1
        %dock push --trace {HUB}/alice/greeting:1
    """),
    md("""
        What does the registry hold now? Its **catalog** lists the repositories (`%dock search`
        filters it), and each repository lists its **tags**:
    """, """
        现在仓库服务器上有什么？它的**目录**（catalog）列出所有仓库（`%dock search` 可以筛选），每个仓库又列出它的**标签**：
    """),
    code("""
        %dock search --registry {HUB} hello
        from minidock_magic.remotes import list_tags
        from minidock_magic.lessons import current_engine
        tags = list_tags(current_engine(), f"{HUB}/alice/hello")
        print("tags of alice/hello:", tags)
    """),
    md("""
        ## Bob pulls it — on another machine

        Bob has his own laptop: a separate store. We switch the magic to a fresh home for him. He
        has made busybox too (the same bytes, so the same digests), but knows nothing of Alice's
        image. He does not log in: pulling from a public registry needs no account.
    """, """
        ## Bob 在另一台机器上拉取它

        Bob 有他自己的笔记本电脑：一个独立的存储。我们把魔法命令切换到为他新建的主目录。他也做了 busybox
        （字节相同，所以摘要相同），但对 Alice 的镜像一无所知。他没有登录：从公共仓库服务器拉取不需要账号。
    """),
    code("""
        BOB = fresh_home("07-bob")
        %config DockMagics.home = BOB
        %dock bootstrap
        %dock pull --trace {HUB}/alice/hello:1
    """),
    md("""
        Look for `Already exists`: busybox's layer was already on Bob's machine, so it was **not
        downloaded** — only the manifest, the config and Alice's one small layer were. Sharing
        layers saves disk (lesson 2) *and* network. And Bob runs exactly what Alice built:
    """, """
        注意 `Already exists`：busybox 的层 Bob 的机器上早就有了，所以它**没有被下载**——只下载了 manifest、
        config 和 Alice 的那一小层。共享层既节省磁盘（第 2 课），*也*节省网络。而 Bob 运行的正是 Alice 构建的那个镜像：
    """),
    code("%dock run --rm {HUB}/alice/hello:1"),
    md("""
        ## Exercise (part 1)

        **7.1 — Your own namespace.** As Bob, publish the image you just pulled on the public
        registry as `bob/hello:1`: log in as bob first (his password is in `BOB_PASSWORD`), then
        push. Then, still logged in as bob, try pushing it as `alice/hello:bob` too — what does the
        registry say, and why?
    """, """
        ## 练习（第一部分）

        **7.1 —— 你自己的命名空间。** 以 Bob 的身份，把刚拉取的镜像以 `bob/hello:1` 发布到公共仓库服务器上。
        先以 bob 登录（他的密码在 `BOB_PASSWORD` 里），再推送。然后，仍以 bob 的身份，试着把它也推送为 `alice/hello:bob`——
        仓库服务器怎么说？为什么？
    """),
    work("""
        # your code here (you are Bob: %dock uses BOB's store)
    """, """
        # 在这里写你的代码（你现在是 Bob：%dock 使用的是 BOB 的存储）
    """, """
        %dock login -u bob --password-from BOB_PASSWORD {HUB}
        %dock tag {HUB}/alice/hello:1 {HUB}/bob/hello:1
        %dock push {HUB}/bob/hello:1
        %dock tag {HUB}/alice/hello:1 {HUB}/alice/hello:bob
        %dock push {HUB}/alice/hello:bob
    """),
    code('check("7.1")'),
    md("""
        ## A private registry, for a team

        Inside a company or a class you often want to share images with your team only — handing
        around exported files is clumsy (lesson 8), and a public registry shows everything to
        everyone. A **private registry** (CNCF Distribution, Harbor, Artifactory, Nexus, or ours)
        requires a login for everything, pulling included. Alice pushes a team tool to one:
    """, """
        ## 私有仓库服务器：给团队用

        在公司或班级内部，常常只想和自己的团队分享镜像——来回传递导出的文件很麻烦（见第 8 课），而公共仓库服务器又对所有人公开。
        **私有仓库服务器**（CNCF Distribution、Harbor、Artifactory、Nexus，或者我们自己的）对一切操作都要求登录，
        包括拉取。Alice 把一个团队工具推送上去：
    """),
    code("""
        company = RegistryServer(Path(HOME) / "company-data", auth_mode="private",
                                 htpasswd=accounts).start()
        COMPANY = company.address
        %config DockMagics.home = ALICE
        %dock login -u alice --password-from ALICE_PASSWORD {COMPANY}
        %dock tag hello:1 {COMPANY}/team/tool:1
        %dock push {COMPANY}/team/tool:1
    """),
    md("""
        Back on Bob's machine, without logging in to the company registry, he can neither list it
        nor pull from it:
    """, """
        回到 Bob 的机器上，他还没有登录公司的仓库服务器，所以既不能列出它的内容，也不能从中拉取：
    """),
    code("""
        %config DockMagics.home = BOB
        %dock search --registry {COMPANY} tool
    """),
    code("%dock pull {COMPANY}/team/tool:1"),
    md("""
        ## Exercise (part 2)

        **7.2 — Team member.** Bob is on the team (his account exists on the company registry).
        Log in as bob to the company registry, pull `team/tool:1`, and run it.
    """, """
        ## 练习（第二部分）

        **7.2 —— 团队成员。** Bob 是团队的一员（他在公司仓库服务器上有账号）。以 bob 登录公司的仓库服务器，
        拉取 `team/tool:1` 并运行它。
    """),
    work("""
        # your code here (you are Bob)
    """, """
        # 在这里写你的代码（你现在是 Bob）
    """, """
        %dock login -u bob --password-from BOB_PASSWORD {COMPANY}
        %dock pull {COMPANY}/team/tool:1
        %dock run --rm {COMPANY}/team/tool:1
    """),
    code('check("7.2")'),
    md("""
        ## The registry's side

        What is inside the public registry now? Its repositories, and the blobs they point at:
    """, """
        ## 仓库服务器这一边

        现在公共仓库服务器里有什么？它的各个仓库，以及它们指向的 blob：
    """),
    code("hub.graph()"),
    md("""
        Read it bottom-up: the blobs below, each stored once, and above them the repositories that
        use them. `alice/hello` and `alice/greeting` point at the very same blobs (and so does
        `bob/hello`, once exercise 7.1 is done). The registry also kept a log of the requests it served — the
        protocol, visible. The first few, then all of them counted by method and status:
    """, """
        从下往上读：下面是 blob，每个只存一份；上面是使用它们的仓库。`alice/hello` 和 `alice/greeting` 指向完全相同的 blob
        （做完练习 7.1 后，`bob/hello` 也一样）。仓库服务器还记录了它处理过的请求——
        协议一目了然。先看前几条，再按方法和状态码统计全部请求：
    """),
    code("""
        from collections import Counter
        print(len(hub.request_log), "requests; the first five:")
        for request in hub.request_log[:5]:
            print(f"  {request.method:5} {request.status}  {request.target[:60]}")
        counts = Counter((request.method, request.status)
                         for request in hub.request_log)
        for (method, status), count in sorted(counts.items()):
            print(f"{count:3} x {method:5} answered {status}")
    """),
    md("""
        ## Sharing one registry in a class

        Everything above ran inside this notebook. For a whole class, a teacher runs one registry
        that everybody can reach, for example:

        ```
        minidock registry adduser --htpasswd class.htpasswd alice
        minidock registry serve --auth public --addr 0.0.0.0:5000 --data /srv/registry --htpasswd class.htpasswd
        ```

        Each student then uses `TEACHER-HOST:5000/<their name>/…` names. The same commands work
        against CNCF Distribution (`docker-registry`) or Harbor. (Over plain HTTP on a network, docker
        itself needs the host listed as an "insecure registry".) Finally we stop our two registries:
    """, """
        ## 全班共用一个仓库服务器

        上面的一切都在这个 notebook 里运行。对于整个班级，老师可以运行一个大家都能访问的仓库服务器，例如：

        ```
        minidock registry adduser --htpasswd class.htpasswd alice
        minidock registry serve --auth public --addr 0.0.0.0:5000 --data /srv/registry --htpasswd class.htpasswd
        ```

        然后每个学生使用 `老师的主机:5000/自己的名字/…` 这样的名字。同样的命令也适用于 CNCF Distribution
        （`docker-registry`）或 Harbor。（在网络上使用纯 HTTP 时，docker 本身需要把该主机列为“insecure registry”。）
        最后，停止我们的两个仓库服务器：
    """),
    code("""
        hub.stop()
        company.stop()
        %config DockMagics.home = ALICE
    """),
    md("""
        ## What we saw

        - A **repository (仓库)** is one name with its tags; a **registry (仓库服务器)** serves many repositories.
        - Public registries let anyone pull and account holders push into their own namespace;
          private ones require a login for everything.
        - Push and pull are plain HTTP: ask `HEAD` first, send only what is missing, the manifest last.

        Next, lesson 8: moving images without any registry at all.
    """, """
        ## 本课小结

        - **仓库**是一个名字连同它的各个标签；**仓库服务器**提供许多个仓库。
        - 公共仓库服务器允许任何人拉取、账号持有者推送到自己的命名空间；私有仓库服务器对一切操作都要求登录。
        - 推送和拉取就是普通的 HTTP：先用 `HEAD` 询问，只发送缺少的东西，manifest 最后发送。

        下一课（第 8 课）：完全不用仓库服务器来传递镜像。
    """),
]
