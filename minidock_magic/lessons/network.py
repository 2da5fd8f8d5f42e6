"""Lesson 9's exercises (a container's own network) and the free port its notebooks publish on.

Like every check, these only look: the container's record, its published ports, its writable
layer, and one GET of the published page through the host port (what a browser would do).

Both exercises are about a network namespace of the container's own. Where containers get none
(proot: a pod without user namespaces) a port can only be published as itself and every
container shares the host's network, so once the student has started (the image ``mysite:1`` or
a container exists) the answer is "cannot be checked on this host", never a tick.
"""

from __future__ import annotations

import socket
import urllib.request
from typing import Any

from ..containers.publish import stored_bindings
from .backend import container_isolation, has_namespaces
from .checker import CANNOT, DONE, HINT, TODO, Msg, Outcome, exercise
from .exercises import _container, _image


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick), so a lesson run twice, or two lessons
    at once, never fight over a fixed number like 8080."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(host: str, port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/", timeout=5) as answer:
            return answer.read().decode(errors="replace")
    except OSError:
        return None


def _without_network_namespace(engine: Any, *configs: Any) -> Outcome | None:
    """CANNOT once lesson 9's work has begun where its containers have no network namespace;
    None where they have one, or where nothing is there yet (then the usual "not yet")."""
    present = [config for config in configs if config is not None]
    isolation = container_isolation(present[0] if present else None)  # None: the host's
    if has_namespaces(isolation) or not (present or _image(engine, "mysite:1")):
        return None
    return CANNOT, Msg(f"under {isolation} a container has no network namespace of its own: it "
                       "shares the host's, so a port is published only as itself (-p 8080:8080) "
                       "and nothing is forwarded into a container or shared between two; on a "
                       "host with namespaces the same commands show it",
                       f"在 {isolation} 下容器没有自己的网络命名空间：它和宿主机共用网络，所以端口只能"
                       "原样发布（-p 8080:8080），既没有转发进容器，也没有两个容器共用的网络；"
                       "在有命名空间的机器上，同样的命令就能演示出来")


@exercise("9.1", "Your own site", "你自己的网站")
def own_site(engine: Any) -> Outcome:
    config = _container(engine, "mysite")
    if (cannot := _without_network_namespace(engine, config)) is not None:
        return cannot
    if config is None:
        return TODO, Msg("no container named mysite yet: %dock run -d --name mysite -p PORT:80 IMAGE",
                         "还没有名为 mysite 的容器：%dock run -d --name mysite -p 端口:80 镜像")
    state = engine.containers.lifecycle.state(config)
    if state.status != "running":
        return HINT, Msg(f"mysite is {state.status}: its server must keep running (httpd -f)",
                         f"mysite 的状态是 {state.status}：它的服务要一直运行（httpd -f）")
    web = [b for b in stored_bindings(state.ports) if b.container_port == 80]
    if not web:
        return HINT, Msg("mysite publishes no port 80: remove it and run it again with -p PORT:80",
                         "mysite 没有发布 80 端口：删除它，再用 -p 端口:80 重新运行")
    page = _get(web[0].host_ip, web[0].host_port)
    if page is None:
        return HINT, Msg(f"nothing answers on {web[0].host_ip}:{web[0].host_port}: does httpd "
                         "serve port 80 from the directory with your page (-p 80 -h DIR)?",
                         f"{web[0].host_ip}:{web[0].host_port} 没有应答：httpd 是否在 80 端口、"
                         "从你的网页所在目录提供服务（-p 80 -h 目录）？")
    if "my page" not in page:
        return HINT, Msg("the page answers, but does not say 'my page'",
                         "网页有应答，但内容里没有 'my page'")
    return DONE, Msg(f"your page answers on {web[0].host_ip}:{web[0].host_port}, forwarded into "
                     "mysite's own network namespace, port 80",
                     f"你的网页在 {web[0].host_ip}:{web[0].host_port} 应答，"
                     "被转发到 mysite 自己的网络命名空间的 80 端口")


@exercise("9.2", "Neighbours on one network", "同一个网络里的邻居")
def neighbour(engine: Any) -> Outcome:
    config = _container(engine, "visitor")
    site = _container(engine, "mysite")
    if (cannot := _without_network_namespace(engine, site, config)) is not None:
        return cannot
    if config is None:
        return TODO, Msg("no container named visitor yet", "还没有名为 visitor 的容器")
    if site is None or config.network != f"container:{site.id}":
        return HINT, Msg("visitor does not share mysite's network: --network container:mysite",
                         "visitor 没有和 mysite 共用网络：--network container:mysite")
    changes, source = engine.containers.writable_changes(config)
    saved = source / "page.html"
    if not any(str(c) == "A /page.html" for c in changes) or "my page" not in saved.read_text(
            errors="replace"):
        return HINT, Msg("visitor has no /page.html with your page: wget -O /page.html "
                         "http://localhost/", "visitor 里没有保存着你网页的 /page.html："
                         "wget -O /page.html http://localhost/")
    return DONE, Msg("visitor fetched mysite's page from localhost: one network namespace, two "
                     "containers", "visitor 从 localhost 取到了 mysite 的网页：一个网络命名空间，两个容器")
