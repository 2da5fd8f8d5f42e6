"""The container view and the lifecycle panel: a stub engine for the error paths, real
containers for the rest (``integration``: namespaces and a shim)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from minidock_magic.containers.options import RunOptions
from minidock_magic.containers.record import ContainerConfig, ContainerState
from minidock_magic.display import container_view, lifecycle_panel
from minidock_magic.display.container_view import LOG_TAIL, ContainerView, LifecyclePanel
from minidock_magic.errors import Conflict, NotFound

# -- a stub engine: errors are one red line, never a traceback ---------------------------------


class StubContainers:
    def __init__(self, config: ContainerConfig, logs: bytes = b"") -> None:
        self.config, self.log_bytes = config, logs
        self.state = ContainerState(status="exited", exit_code=3, finished_at=time.time())
        self.lifecycle = SimpleNamespace(state=lambda config: self.state)

    def get(self, text: str) -> ContainerConfig:
        if text not in (self.config.name, self.config.id):
            raise NotFound(f"No such container: {text}")
        return self.config

    def start(self, text: str) -> None:
        raise Conflict("cannot start:\n  the runtime said no")

    def stop(self, text: str, timeout: float) -> None:
        raise RuntimeError("boom")

    def restart(self, text: str, timeout: float) -> None:
        self.state = ContainerState(status="running", started_at=time.time())

    def remove(self, text: str) -> None:
        pass

    def logs(self, text: str) -> Iterator[bytes]:
        yield from (self.log_bytes[i:i + 1000] for i in range(0, len(self.log_bytes), 1000))


def stub_engine(logs: bytes = b"") -> SimpleNamespace:
    config = ContainerConfig(id="ab" * 32, name="web", image="busybox", image_id="sha256:" + "0" * 64,
                             image_target={}, snapshot="container-x", parent_snapshot=None,
                             argv=["true"], env=[])
    return SimpleNamespace(containers=StubContainers(config, logs))


def test_panel_errors_are_one_red_line():
    panel = lifecycle_panel(stub_engine(), "web")
    assert isinstance(panel, LifecyclePanel)
    assert panel.status == "exited" and "Exited (3)" in panel.status_line
    panel.buttons["start"].click()
    assert panel.error == "start: cannot start: the runtime said no"
    assert "color:#b00020" in panel.error_line.value and "Traceback" not in panel.error_line.value
    panel.stop()
    assert panel.error == "stop: boom"
    panel.restart()
    assert panel.error == "" and panel.error_line.value == "" and panel.status == "running"
    assert panel.buttons["start"].disabled and not panel.buttons["stop"].disabled
    panel.remove()
    assert panel.removed and panel.status == "removed"
    assert all(button.disabled for button in panel.buttons.values())


def test_panel_logs_keep_the_tail():
    panel = lifecycle_panel(stub_engine(b"a" * LOG_TAIL + b"the end\n"), "web")
    assert len(panel.logs_text) == LOG_TAIL and panel.logs_text.endswith("the end\n")
    assert "the end" in panel.logs_view.value


def test_unknown_container_is_the_engines_error():
    with pytest.raises(NotFound):
        lifecycle_panel(stub_engine(), "nothere")


# -- real containers ---------------------------------------------------------------------------


@pytest.fixture
def containers(busybox_engine):
    yield busybox_engine
    for row in busybox_engine.containers.ps(all=True):
        busybox_engine.containers.remove(row.config.id, force=True)


def run(engine, *command: str, **options):  # attached: returns when the command exits
    config, _code = engine.containers.run("busybox", RunOptions(command=list(command), **options),
                                          stdout=io.BytesIO(), stderr=io.BytesIO())
    return config


@pytest.mark.integration
def test_container_view_shows_the_writable_layer_on_the_read_only_stack(containers):
    config = run(containers, "sh", "-c", "echo x > /new; rm /bin/ls; echo more >> /etc/passwd",
                 name="changer")
    view = container_view(containers, "changer")
    assert isinstance(view, ContainerView)
    assert {str(c) for c in view.changes} >= {"A /new", "D /bin/ls", "C /etc/passwd"}
    image = containers.image("busybox")
    assert [row.position for row in view.stack] == \
        ["writable", *(str(i) for i in reversed(range(len(image.layers))))]
    assert view.stack[1].what == image.layers[-1].digest.short
    html = view.body.value
    assert "可写层" in html and "只读层" in html and "/new" in html and "changer" in html
    assert config.id[:12] in html


@pytest.mark.integration
def test_container_view_of_a_removed_container_is_a_red_line(containers):
    run(containers, "true", name="gone")
    view = container_view(containers, "gone")
    containers.containers.remove("gone")
    view.refresh()
    assert view.changes == [] and view.error.startswith("cannot read the writable layer:")
    assert "color:#b00020" in view.body.value


@pytest.mark.integration
def test_lifecycle_panel_drives_a_real_container(containers, needs_namespaces: None):
    containers.containers.run("busybox", RunOptions(
        command=["sh", "-c", "echo hello from $(hostname); exec sleep 1000"], name="sleeper"),
        detach=True)
    panel = LifecyclePanel(containers, "sleeper", stop_timeout=0.5)
    assert panel.status == "running" and panel.status_line.startswith("sleeper: Up ")
    assert panel.buttons["start"].disabled and not panel.buttons["stop"].disabled
    panel.buttons["rm"].click()  # docker refuses to remove a running container: one line says why
    assert not panel.removed and "Stop the container" in panel.error and "\n" not in panel.error
    panel.buttons["stop"].click()  # sleep as PID 1 ignores SIGTERM: killed after stop_timeout
    assert panel.status == "exited" and panel.error == ""
    assert not panel.buttons["start"].disabled and panel.buttons["stop"].disabled
    panel.buttons["start"].click()  # detached again, through the shim
    assert panel.status == "running" and panel.error == ""
    panel.restart()
    assert panel.status == "running" and panel.error == ""
    deadline = time.monotonic() + 5
    while panel.logs_text.count("hello from ") < 3 and time.monotonic() < deadline:
        panel.refresh_logs()
        time.sleep(0.05)
    assert panel.logs_text.count("hello from ") == 3  # one line per start
    panel.stop()
    panel.buttons["rm"].click()
    assert panel.removed and panel.status == "removed" and panel.error == ""
    assert all(button.disabled for button in panel.buttons.values())
    with pytest.raises(NotFound):
        containers.containers.get("sleeper")


def test_lifecycle_panel_shows_published_ports(tmp_path):
    config = ContainerConfig(id="c" * 64, name="web", image="busybox", image_id="", image_target={},
                             snapshot="s", parent_snapshot=None, argv=["httpd"], env=[])
    stub = StubContainers(config)
    stub.state = ContainerState(status="running", started_at=time.time(),
                                ports=[["127.0.0.1", 8080, 80, "tcp"]])
    panel = LifecyclePanel(SimpleNamespace(containers=stub), "web")
    assert panel.status_line.endswith("— ports 127.0.0.1:8080->80/tcp")


@pytest.mark.integration
def test_panel_names_the_image_as_typed_and_says_no_changes(containers):
    run(containers, "true", name="quiet")
    view = container_view(containers, "quiet")
    html = view.body.value
    assert "<code>busybox</code>" in html and "<none>" not in html
    assert "no changes" in html and "<table class='minidock'><thead><tr><th>KIND" not in html


@pytest.mark.integration
def test_panel_disables_its_buttons_while_it_acts_and_notices_a_removal(containers):
    containers.containers.run("busybox", RunOptions(command=["sleep", "1000"], name="slow"), detach=True)
    panel = LifecyclePanel(containers, "slow", stop_timeout=0.5)
    seen = []
    stop = containers.containers.stop

    def watched_stop(*args, **kwargs):
        seen.append(([b.disabled for b in panel.buttons.values()], panel.state_label.value))
        return stop(*args, **kwargs)
    containers.containers.stop = watched_stop
    try:
        panel.buttons["stop"].click()
    finally:
        del containers.containers.stop
    [(disabled, label)] = seen
    assert all(disabled) and "stopping…" in label
    containers.containers.remove("slow", force=True)  # rm -f in another cell
    panel.refresh()
    assert panel.removed and panel.error == "" and all(b.disabled for b in panel.buttons.values())


@pytest.mark.integration
def test_panel_saved_without_a_widget_frontend_says_what_it_would_show(containers):
    from minidock_magic.display import container_panel
    run(containers, "sh", "-c", "echo x > /new", name="saved")
    bundle = container_panel(containers, "saved")._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "VBox" not in bundle["text/plain"] and "container saved on busybox" in bundle["text/plain"]
    assert "/new" in bundle["text/html"] and "start, stop" in bundle["text/html"]


@pytest.mark.integration
def test_a_created_container_has_no_output_yet_not_an_error(containers):
    containers.containers.create("busybox", RunOptions(command=["true"], name="fresh"))
    panel = LifecyclePanel(containers, "fresh")
    assert panel.error == "" and "no output yet" in panel.logs_view.value
