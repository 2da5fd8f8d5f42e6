from cells import code, info, md, setup, work

NUMBER, SLUG = "09", "a-containers-own-network"

DIAGRAM = """
    ```
     host (your machine)                         container "web"
     network namespace of the host               its own network namespace
    ┌──────────────────────────────────┐        ┌───────────────────────────────┐
    │  httpx in this notebook          │        │  lo 127.0.0.1                 │
    │        │                         │        │                               │
    │        ▼                         │        │                               │
    │  127.0.0.1:PORT  ── forwarder ───┼───────▶│──▶ 127.0.0.1:80  httpd        │
    │  (published with -p PORT:80)     │ setns  │                               │
    └──────────────────────────────────┘        │  container "visitor" joins it │
                                                │  with --network container:web │
                                                └───────────────────────────────┘
    ```
"""
DIAGRAM_ZH = (DIAGRAM.replace("host (your machine)", "宿主机（你的电脑）")
              .replace("network namespace of the host", "宿主机的网络命名空间")
              .replace("its own network namespace", "它自己的网络命名空间")
              .replace('container "visitor" joins it', "容器 visitor 加入它    ")
              .replace("(published with -p PORT:80)", "（用 -p PORT:80 发布）     ")
              .replace("httpx in this notebook", "本 notebook 里的 httpx  "))

CELLS = [
    md("""
        # Lesson 9 · A container's own network

        **Goals** — by the end of this lesson you can:
        - build a small web-server image with a Dockerfile and run it in the background;
        - **publish** its port with `-p HOSTPORT:PORT` and open the page from the host;
        - let two containers share one network namespace (`--network container:NAME`);
        - say what `--network none` and `--network host` mean.

        *About 20 minutes.*
    """, """
        # 第 9 课 · 容器自己的网络

        **学习目标** —— 学完本课，你能够：
        - 用 Dockerfile 构建一个小小的 Web 服务器镜像，并在后台运行它；
        - 用 `-p 宿主机端口:端口` **发布**它的端口，从宿主机上打开网页；
        - 让两个容器共用一个网络命名空间（`--network container:名字`）；
        - 说明 `--network none` 和 `--network host` 的含义。

        *大约 20 分钟。*
    """),
    setup("09"),
    *info(),
    md("""
        ## A web server in an image

        busybox has a tiny web server, `httpd`. The Dockerfile puts a page into the image and
        says how to serve it: `EXPOSE 80` documents the port the server listens on *inside* the
        container; `CMD` runs it in the foreground (`-f`), so it is the container's process.
    """, """
        ## 镜像里的 Web 服务器

        busybox 自带一个很小的 Web 服务器 `httpd`。下面的 Dockerfile 把一个网页放进镜像，并说明如何提供服务：
        `EXPOSE 80` 记录服务器在容器*内部*监听的端口；`CMD` 让它在前台运行（`-f`），于是它就是容器的进程。
    """),
    code("""
        %%dock build -t web:1
        FROM busybox
        RUN mkdir /www && echo '<h1>Hello from a container</h1>' > /www/index.html
        EXPOSE 80
        CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
    """),
    md("""
        ## Publish a port and open the page

        The container has its **own network namespace**: its port 80 is not the host's port 80.
        `-p PORT:80` asks the engine to listen on the host at `127.0.0.1:PORT` and pass every
        connection on to port 80 inside the container. We let the computer pick a free `PORT`,
        so this lesson never collides with anything else (docker users often write `-p 8080:80`).
    """, """
        ## 发布端口，打开网页

        容器有**自己的网络命名空间**：它的 80 端口不是宿主机的 80 端口。`-p PORT:80` 让引擎在宿主机的
        `127.0.0.1:PORT` 上监听，并把每个连接转交给容器内部的 80 端口。我们让计算机挑一个空闲的 `PORT`，
        这样本课永远不会和别的程序冲突（docker 用户常写 `-p 8080:80`）。
    """),
    md("""
        > **On a host without namespaces.** If `isolation()` above says `proot` (Binder and many
        > hosted JupyterHubs), containers get no network of their own: they share the host's,
        > so there is nothing to publish into and nothing to keep apart. The cells marked
        > `%%namespaced` then say so in one line and show, labelled, what a host with namespaces
        > printed; checks 9.1 and 9.2 answer "⊘ cannot be checked on this host" instead of a tick.
        > Read them as a demonstration: the commands are the same everywhere.
    """, """
        > **在没有命名空间的机器上。** 如果上面的 `isolation()` 显示 `proot`（Binder 和很多在线 JupyterHub 就是这样），容器就没有自己的网络：它们和宿主机共用同一个网络，所以既没有可以转发进去的地方，也没有什么被隔开。这时标有 `%%namespaced` 的单元格会用一行字说明这一点，并显示在有命名空间的机器上记录下来的输出（带有标注）；检查 9.1 和 9.2 会回答"⊘ 在这台机器上无法检查"，而不会打勾。请把它们当作演示来看：命令在哪里都一样。
    """),
    code("""
        import time
        import httpx
        from minidock_magic.lessons import free_port
        PORT = free_port()
        url = f"http://127.0.0.1:{PORT}/"
    """),
    code("""
        %%namespaced publish
        %dock run -d -p {PORT}:80 --name web web:1 httpd -f -p 80 -h /www
        %dock port web
    """),
    code("""
        %%namespaced fetch
        for attempt in range(100):  # the server needs a moment to start listening
            try:
                page = httpx.get(url)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(page.status_code, page.text)
    """, """
        %%namespaced fetch
        for attempt in range(100):  # 服务器需要一点时间才开始监听
            try:
                page = httpx.get(url)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(page.status_code, page.text)
    """),
    md("""
        The request went from this notebook to `127.0.0.1:PORT` on the host, where a small
        **forwarder** listens. The forwarder is a process that entered the container's network
        namespace, so each connection it makes lands on the container's own `127.0.0.1:80` —
        and only there: it cannot be used to reach anything else on the host.
    """ + DIAGRAM + """
        `%dock inspect` shows the same as docker, under `NetworkSettings.Ports`:
    """, """
        请求从本 notebook 发往宿主机上的 `127.0.0.1:PORT`，那里有一个小小的**转发器**在监听。转发器是一个进入了
        容器网络命名空间的进程，所以它建立的每个连接都落在容器自己的 `127.0.0.1:80` 上——而且只会落在那里：
        不能借它访问宿主机上的其他任何东西。
    """ + DIAGRAM_ZH + """
        `%dock inspect` 在 `NetworkSettings.Ports` 里显示同样的信息，与 docker 一致：
    """),
    code("""
        %%namespaced inspect
        details = %dock inspect web
        print(details.data[0]["NetworkSettings"])
    """),
    md("""
        ## Two containers, one network

        A second container can **join** the first one's network namespace instead of getting
        its own: `--network container:web`. Then `localhost` is the same for both — which is
        how the containers of one Kubernetes pod talk to each other.
    """, """
        ## 两个容器，一个网络

        第二个容器可以**加入**第一个容器的网络命名空间，而不是拥有自己的：`--network container:web`。
        这样 `localhost` 对二者来说是同一个——Kubernetes 同一个 pod 里的容器就是这样互相通信的。
    """),
    code("""
        %%namespaced shared
        %dock run --rm --network container:web busybox wget -qO- localhost:80
    """),
    md("""
        ## `--network none` and `--network host`

        Without `--network`, a container gets a namespace with nothing but the loopback
        interface `lo` (that is `--network none`): it cannot reach the host's `127.0.0.1:PORT`,
        nor anything else. Publishing a port is the one door we opened, from the outside in.
    """, """
        ## `--network none` 和 `--network host`

        不指定 `--network` 时，容器得到一个只有回环接口 `lo` 的命名空间（也就是 `--network none`）：
        它既访问不到宿主机的 `127.0.0.1:PORT`，也访问不到其他任何地方。发布端口是我们开的唯一一扇门，方向是从外向里。
    """),
    code("""
        %%namespaced none
        %dock run --rm busybox sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1'
        %dock run --rm busybox sh -c 'wget -qO- {url} 2>&1 || echo no way out'
    """),
    md("""
        `--network host` is the opposite: no namespace of its own, the host's network as it is.
        The same `wget` now reaches the published page — and a server in such a container would
        listen directly on the host's ports, so there is nothing to map. (Under `proot`, which has
        no namespaces, every container is like this: only `-p 8080:8080` is accepted there.)
    """, """
        `--network host` 正好相反：没有自己的命名空间，直接使用宿主机的网络。同样的 `wget` 现在能取到发布的网页——
        而这种容器里的服务器会直接监听宿主机的端口，所以也就没有什么需要映射的。（在没有命名空间的 `proot` 下，
        每个容器都是这样：那里只接受 `-p 8080:8080` 这种写法。）
    """),
    code("""
        %%namespaced host
        %dock run --rm --network host busybox wget -qO- {url}
    """),
    md("""
        ## Exercises

        **9.1 — Your own site.** Build an image `mysite:1` whose page (`/www/index.html`) says
        `my page`, and run it in the background as a container named `mysite`, with port 80
        published on a free host port (`SITE = free_port()`). Fetch it with `httpx`.
    """, """
        ## 练习

        **9.1 —— 你自己的网站。** 构建镜像 `mysite:1`，它的网页（`/www/index.html`）内容包含 `my page`；
        在后台以名为 `mysite` 的容器运行它，把 80 端口发布到宿主机的一个空闲端口（`SITE = free_port()`）。用 `httpx` 取回网页。
    """),
    work("""
        # your code here (a Dockerfile can go in a %%dock build cell of its own)
    """, """
        # 在这里写你的代码（Dockerfile 可以放在单独的 %%dock build 单元格里）
    """, """
        %%namespaced site --run
        from pathlib import Path
        Path(HOME, "Dockerfile.mysite").write_text(
            "FROM busybox\\n"
            "RUN mkdir /www && echo '<p>my page</p>' > /www/index.html\\n"
            'CMD ["httpd", "-f", "-p", "80", "-h", "/www"]\\n')
        %dock build -q -t mysite:1 -f {HOME}/Dockerfile.mysite {HOME}
        SITE = free_port()
        %dock run -d --name mysite -p {SITE}:80 mysite:1
        for attempt in range(100):
            try:
                print(httpx.get(f"http://127.0.0.1:{SITE}/").text)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
    """),
    code('check("9.1")'),
    md("""
        **9.2 — Neighbours.** Run a container named `visitor` that shares `mysite`'s network and
        saves the page it fetches from `http://localhost/` as `/page.html` (busybox's
        `wget -O FILE URL`). The file stays in `visitor`'s writable layer.
    """, """
        **9.2 —— 邻居。** 运行一个名为 `visitor` 的容器，让它与 `mysite` 共用网络，并把从 `http://localhost/` 取到的网页保存为 `/page.html`（busybox 的 `wget -O 文件 URL`）。这个文件会留在 `visitor` 的可写层里。
    """),
    work("""
        # your code here
    """, """
        # 在这里写你的代码
    """, """
        %%namespaced visitor
        %dock run --network container:mysite --name visitor busybox \\
            sh -c 'wget -qO /page.html http://localhost/ && cat /page.html'
        %dock diff visitor
    """),
    code('check("9.2")'),
    md("""
        ## Tidy up

        A published port stays open as long as its container runs. Removing the containers
        closes the ports again:
    """, """
        ## 收拾干净

        只要容器在运行，发布的端口就一直开着。删除容器，端口随之关闭：
    """),
    code("""
        from minidock_magic.facade import Minidock
        lesson = Minidock(HOME)
        for container in lesson.containers.store.list():
            lesson.containers.remove(container.id, force=True)
        try:
            httpx.get(url)
        except httpx.ConnectError:
            print("nothing listens on the published port any more")
    """),
    md("""
        ## What we saw

        - A container has its own network namespace; `-p HOSTPORT:PORT` publishes one of its
          ports on the host (here on 127.0.0.1), through a forwarder that lives as long as it.
        - `--network container:NAME` shares one namespace between containers: `localhost` is common.
        - `--network none` (the default here) means only `lo`; `--network host` means the host's network, unmapped.
    """, """
        ## 本课小结

        - 容器有自己的网络命名空间；`-p 宿主机端口:端口` 通过一个与容器同生共死的转发器，把容器的某个端口发布到宿主机上（这里是 127.0.0.1）。
        - `--network container:名字` 让多个容器共用一个命名空间：`localhost` 是共同的。
        - `--network none`（这里的默认值）表示只有 `lo`；`--network host` 表示直接使用宿主机的网络，不做映射。
    """),
]
