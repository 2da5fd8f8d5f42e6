from cells import code, info, md, setup, work

NUMBER, SLUG = "05", "isolation-and-lifecycle"

CELLS = [
    md("""
        # Lesson 5 · Isolation and lifecycle

        **Goals** — by the end of this lesson you can:
        - show that a container is an **isolated process**: its own process IDs, host name, network and mounts (Linux *namespaces*);
        - move a container through its life: **create → start → stop → start/restart → rm**;
        - say what survives a stop or a restart (the writable layer) and what does not (processes).

        *About 25 minutes.*
    """, """
        # 第 5 课 · 隔离与生命周期

        **学习目标** —— 学完本课，你能够：
        - 证明容器是一个**被隔离的进程**：它有自己的进程号、主机名、网络和挂载（Linux *命名空间*）；
        - 让容器走完一生：**创建 → 启动 → 停止 → 再启动/重启 → 删除**；
        - 说出停止或重启之后什么会保留（可写层），什么不会（进程）。

        *大约 25 分钟。*
    """),
    setup("05"),
    *info(),
    md("""
        ## A process that sees a world of its own

        A container is not a virtual machine: it is an ordinary process on this machine's kernel,
        started inside **namespaces** — separate views of process IDs, host name, network and
        mounts. Each namespace has an identity (a number) in `/proc/self/ns/`. Let us compare the
        notebook's with a container's:
    """, """
        ## 一个看到自己小世界的进程

        容器不是虚拟机：它是本机内核上的一个普通进程，只是在**命名空间**里启动——进程号、主机名、网络、挂载
        各有一份独立的视图。每个命名空间在 `/proc/self/ns/` 里都有一个标识（一个编号）。我们把 notebook 的
        和容器的比较一下：
    """),
    code("""
        %%namespaced ns-inside
        %%capture inside
        %%dock run --rm busybox
        for ns in pid uts net mnt ipc; do echo $ns $(readlink /proc/self/ns/$ns); done
    """),
    code("""
        %%namespaced ns-compare
        import os
        for line in inside.stdout.splitlines():
            ns, theirs = line.split()
            ours = os.readlink(f"/proc/self/ns/{ns}")
            verdict = "shared" if ours == theirs else "separate"
            print(f"{ns:4} notebook {ours}  container {theirs}  ->", verdict)
    """, """
        %%namespaced ns-compare
        import os
        for line in inside.stdout.splitlines():
            ns, theirs = line.split()
            ours = os.readlink(f"/proc/self/ns/{ns}")
            verdict = "共享" if ours == theirs else "独立"
            print(f"{ns:4} notebook {ours}  container {theirs}  ->", verdict)
    """),
    md("""
        Where containers run under `proot` (a host without user namespaces, such as Binder) there
        are no namespaces at all: the cells marked `%%namespaced` then say so in one line and show
        what a namespaced host prints, recorded, instead of passing the host's own processes, host
        name and network off as the container's. Now what each one means:

        **PID namespace** — the container's first process is PID 1, and it sees only its own processes:
    """, """
        如果容器是用 `proot` 运行的（宿主机不允许用户命名空间，比如 Binder），那就根本没有命名空间：标有
        `%%namespaced` 的单元格会用一行字说明这一点，并显示在有命名空间的机器上记录下来的输出，而不会把宿主机自己的
        进程、主机名和网络冒充成容器的。下面逐个看看它们的含义：

        **PID 命名空间** —— 容器里的第一个进程是 1 号进程，而且它只能看到自己的进程：
    """),
    code("""
        %%namespaced pid
        %%dock run --rm busybox
        echo "my PID is $$"
        ps
    """),
    md("""
        **UTS namespace** — its own host name (by default the container's short ID; `-h` sets one):
    """, """
        **UTS 命名空间** —— 有自己的主机名（默认是容器的短 ID；用 `-h` 可以指定）：
    """),
    code("""
        %%namespaced uts
        %dock run --rm -h classroom busybox hostname
    """),
    md("""
        **Network namespace** — by default only a private loopback interface `lo`: no way out,
        and no way in. (`--network host` would share the machine's network instead.)
    """, """
        **网络命名空间** —— 默认只有一个私有的回环接口 `lo`：出不去，也进不来。
        （`--network host` 则会改为共用本机的网络。）
    """),
    code("""
        %%namespaced net
        %dock run --rm busybox ip addr
    """),
    md("""
        **Mount namespace** — its `/` is the image's layers plus the writable layer, with a fresh
        `/proc`, a minimal `/dev`, and the files `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`.
        Nothing of the notebook's own files is there:
    """, """
        **挂载命名空间** —— 它的 `/` 是镜像各层加上可写层，另有全新的 `/proc`、精简的 `/dev`，以及
        `/etc/hosts`、`/etc/hostname`、`/etc/resolv.conf` 这几个文件。notebook 自己的文件一个也不在里面：
    """),
    code("""
        %%namespaced mnt
        %dock run --rm busybox \\
          sh -c 'cut -d" " -f2,3 /proc/mounts | head -n 4; ls /root /home'
    """),
    md("""
        ## The life of a container

        `%dock run` = `create` + `start`. Doing them one by one shows the states. We create a
        container whose command adds a line to `/starts.log` each time it starts, says which start
        this is, and then sleeps:
    """, """
        ## 容器的一生

        `%dock run` = `create` + `start`。一步一步来做，就能看清各个状态。我们创建一个容器，它的命令在每次启动时
        往 `/starts.log` 添一行，报告这是第几次启动，然后休眠：
    """),
    code("""
        %dock create --name web busybox sh -c 'echo started >> /starts.log; \\
          echo "start number $(wc -l < /starts.log)"; exec sleep 600'

        from minidock_magic.facade import Minidock
        engine = Minidock(HOME)

        def status(name):
            state = engine.containers.inspect(name)["State"]
            exited = state["Status"] == "exited"
            extra = f", exit code {state['ExitCode']}" if exited else ""
            print(f"{name}: {state['Status']}{extra}")

        status("web")
    """),
    md("""
        *Created*: the writable layer exists, but no process runs yet. `start` runs the command in
        the background:
    """, """
        *已创建（created）*：可写层已经有了，但还没有进程在运行。`start` 在后台运行命令：
    """),
    code("""
        %dock start web
        status("web")
    """),
    md("""
        From the machine's side, the container's PID 1 is an ordinary process with an ordinary,
        large PID (`%dock top`). `%dock ps` lists running containers. (Both change on every run, so
        your numbers will differ.)
    """, """
        从宿主机这边看，容器里的 1 号进程只是一个普通进程，有一个普通的、较大的进程号（`%dock top`）。
        `%dock ps` 列出正在运行的容器。（这两者每次运行都会变化，所以你看到的数字会不同。）
    """),
    code("""
        # NBVAL_IGNORE_OUTPUT
        processes = %dock top web
        display(processes)
        %dock ps
    """),
    md("""
        `stop` sends SIGTERM, waits (here 1 second, `-t 1`), then SIGKILL. `sleep` running as PID 1
        ignores SIGTERM, so it gets killed: exit code 137 = 128 + 9 (SIGKILL). (Under proot there
        is no PID 1: SIGTERM ends `sleep` at once, with exit code 143 = 128 + 15 (SIGTERM), so
        the next two cells show a namespaced host's answer, labelled.)
    """, """
        `stop` 先发送 SIGTERM，等待一会儿（这里用 `-t 1`，等 1 秒），再发送 SIGKILL。作为 1 号进程运行的 `sleep`
        不理会 SIGTERM，所以它被强行杀掉：退出码 137 = 128 + 9（SIGKILL）。（在 proot 下没有 1 号进程：SIGTERM
        会立刻结束 `sleep`，退出码是 143 = 128 + 15（SIGTERM），所以接下来两个单元格显示的是有命名空间的机器的结果，并有标注。）
    """),
    code("""
        %%namespaced stop --run
        %dock stop -t 1 web
        status("web")
        %dock logs web
        %dock diff web
    """),
    md("""
        The process is gone, but the container — its **writable layer** — is still there: `%dock diff`
        still shows `/starts.log`, and `%dock logs` what the process printed. Start it again, restart
        it (= stop + start), stop it, and read the log:
    """, """
        进程没了，但容器——也就是它的**可写层**——还在：`%dock diff` 仍然显示 `/starts.log`，`%dock logs`
        显示进程打印过的内容。再启动它，重启它（= 停止 + 启动），停止它，然后读日志：
    """),
    code("""
        %%namespaced restart --run
        %dock start web
        %dock restart -t 1 web
        %dock stop -t 1 web
        status("web")
        %dock logs web
    """),
    md("""
        Start number 3: the file written at each start **survived** every stop. But each start ran
        a brand-new process — processes, and anything they held in memory, do **not** survive
        (`%dock top web` would show a new host PID each time). Finally, remove the container.
        Start it once more: a running container is refused unless forced:
    """, """
        第 3 次启动：每次启动写下的文件都在每次停止后**保留**了下来。但每次启动运行的都是一个全新的进程——
        进程，以及它们放在内存里的任何东西，都**不会**保留（`%dock top web` 每次都会显示一个新的宿主机进程号）。
        最后删除容器。再启动它一次：正在运行的容器不能删，除非强制：
    """),
    code("""
        %dock start web
        %dock rm web
    """),
    code("""
        %dock rm -f web
        %dock diff web
    """),
    md("""
        `rm` deletes the writable layer too: whatever existed only there is gone for good. (To keep
        it, `commit` it into an image first — lesson 6.)

        `%dock panel` drives a container with buttons (live notebook only):
    """, """
        `rm` 会连可写层一起删掉：只存在于可写层里的东西就永远没了。（想保留的话，先把它 `commit` 成镜像——见第 6 课。）

        `%dock panel` 可以用按钮操作一个容器（仅限运行中的 notebook）：
    """),
    code("""
        # NBVAL_IGNORE_OUTPUT
        %dock create --name panel-demo busybox sleep 600
        %dock panel panel-demo
    """),
    md("""
        ## Exercises

        **5.1 — A server called classroom.** Start a container in the background (`-d`) named
        `server` with the host name `classroom`, whose command keeps running (for example
        `sleep 600`). Check its host name in `%dock inspect server` (under `Config`).
    """, """
        ## 练习

        **5.1 —— 名叫 classroom 的服务。** 在后台（`-d`）启动一个名为 `server`、主机名为 `classroom` 的容器，
        它的命令要一直运行（比如 `sleep 600`）。在 `%dock inspect server` 的输出里（`Config` 下面）检查它的主机名。
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock run -d --name server -h classroom busybox sleep 600
        details = %dock inspect server
        details.data[0]["Config"]["Hostname"]
    """),
    code('check("5.1")'),
    md("""
        **5.2 — What survives.** Make a container `counter` whose command appends a line to
        `/count.log` each time it runs (and then ends). Start it at least twice (`%dock start -a
        counter` waits for it), and show the log with `%dock diff` or by committing it.
    """, """
        **5.2 —— 留下了什么。** 创建一个容器 `counter`，它的命令每次运行时往 `/count.log` 追加一行（然后结束）。
        至少启动它两次（`%dock start -a counter` 会等它结束），再用 `%dock diff` 或提交成镜像来查看日志。
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %dock run --name counter busybox \\
          sh -c 'echo "one more run" >> /count.log; wc -l < /count.log'
        %dock start -a counter
        %dock start -a counter
        %dock diff counter
    """),
    code('check("5.2")'),
    md("""
        ## Clean up

        Containers started with `-d` keep running after the notebook closes. Remove every
        container of this lesson:
    """, """
        ## 清理

        用 `-d` 启动的容器在 notebook 关闭后仍会继续运行。删除本课的所有容器：
    """),
    code("""
        for row in engine.containers.ps(all=True):
            engine.containers.remove(row.config.id, force=True)
        %dock ps -a
    """),
    md("""
        ## What we saw

        - A container is an ordinary process in **namespaces**: its own PIDs, host name, network and mounts.
        - Its life: **create → start → stop → start/restart → rm**; `run` is create + start.
        - Stopping ends the process but keeps the **writable layer**; only `rm` deletes it.

        Next, lesson 6: turning a container's changes into a new image.
    """, """
        ## 本课小结

        - 容器是运行在**命名空间**里的普通进程：有自己的进程号、主机名、网络和挂载。
        - 它的一生：**创建 → 启动 → 停止 → 再启动/重启 → 删除**；`run` 就是创建 + 启动。
        - 停止会结束进程，但保留**可写层**；只有 `rm` 才会删除它。

        下一课（第 6 课）：把容器的改动变成一个新镜像。
    """),
]
