"""The container commands (docker's grammar) over records, snapshots, the runtime and images."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..content.store import ContentStore
from ..errors import Conflict, InvalidArgument, NotFound, Unsupported
from ..images.image import Image
from ..images.store import ImageStore
from ..oci.config import History, rfc3339
from ..oci.descriptor import Descriptor
from ..oci.reference import Reference
from ..runtime.seccomp import describe as describe_seccomp
from ..snapshots.base import Snapshotter
from . import processes
from .lifecycle import Lifecycle, default_isolation, shares_host_network
from .options import RunOptions, parse_signal, process_argv, process_env, seccomp_setting
from .publish import (
    PortBinding,
    as_host_ports,
    bindings_for,
    inspect_ports,
    port_lines,
    stored_bindings,
)
from .record import ContainerConfig, ContainerStore, new_id, now

# create, run and remove are what most calls do, so what only the other commands need (layer
# writing and applying for commit/export/cp, result tables for ps/diff/top) is imported by them.
if TYPE_CHECKING:
    from ..diff.changes import Change
    from .results import ContainerList, Diff, Top


def _has_fd(stream: Any) -> bool:
    """None (inherit) or a stream backed by a real file descriptor."""
    if stream is None or isinstance(stream, int):
        return True
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return False
    return True


class Containers:
    def __init__(self, root: Path, lock_path: Path, *, home: Path, content: ContentStore,
                 names: ImageStore, snapshotter: Callable[[], Snapshotter],
                 image: Callable[[str], Image], compression: str,
                 unpack: Callable[[Image], str]) -> None:
        self.store = ContainerStore(root, lock_path)
        self._snapshotter = snapshotter
        self._image = image
        self._unpack = unpack
        self.content, self.names, self.compression = content, names, compression
        self.lifecycle = Lifecycle(self.store, self.mounts_of, home)

    @property
    def snapshotter(self) -> Snapshotter:
        return self._snapshotter()

    def mounts_of(self, config: ContainerConfig) -> Any:
        return self.snapshotter.mounts(config.snapshot)

    def get(self, text: str) -> ContainerConfig:
        return self.store.find(text)

    # -- create / run -------------------------------------------------------------------------
    def create(self, image_text: str, options: RunOptions) -> ContainerConfig:
        image = self._image(image_text)
        run = image.config.run
        argv = process_argv(run, options)
        if options.isolation == "proot" and self.snapshotter.name.startswith("overlay"):
            raise InvalidArgument("--isolation proot cannot mount this home's overlay layers: use a "
                                  "home made with MINIDOCK_SNAPSHOTTER=copy for proot containers (in "
                                  "a notebook: %config DockMagics.isolation = 'proot' before "
                                  "%config DockMagics.home = a new home)")
        network = self._network(options.network)
        published = self._published(options, network, run.get("ExposedPorts"))
        name = (options.name or "").lstrip("/")  # none: the store picks a free one
        if options.name and not name:
            raise InvalidArgument(f"invalid container name {options.name!r}")
        limits = {k: v for k, v in (("memory", options.memory), ("cpus", options.cpus),
                                    ("pids", options.pids_limit)) if v is not None} or None
        container_id = new_id()
        parent = self._unpack(image)
        config = ContainerConfig(
            id=container_id, name=name, image=image_text, image_id=str(image.id),
            image_target=image.target.to_json(), snapshot=f"container-{container_id}",
            parent_snapshot=parent, argv=argv, env=process_env(run, options.env),
            cwd=options.workdir or run.get("WorkingDir") or "/",
            user=options.user if options.user is not None else run.get("User", ""),
            hostname=options.hostname or "", network=network,
            isolation=options.isolation or "", auto_remove=options.auto_remove,
            interactive=options.interactive, limits=limits, labels=dict(options.labels),
            security_opt=list(options.security_opt),
            seccomp=seccomp_setting(options.security_opt), created=now(),
            ports=[binding.to_json() for binding in published])
        config = self.store.create(config)  # a name conflict is refused before anything is prepared
        try:
            self.snapshotter.prepare(config.snapshot, parent)
        except BaseException:
            self.store.delete(container_id)
            raise
        return config

    def _network(self, text: str) -> str:
        """``none``, ``host``, or ``container:NAME`` kept as ``container:<id>`` (a rename or a
        new container of the same name must not change whose namespace is joined)."""
        if text in ("none", "host"):
            return text
        kind, _, other = text.partition(":")
        if kind != "container" or not other:
            raise InvalidArgument(f"network {text!r} is not available: use none, host or "
                                  "container:NAME")
        return f"container:{self.get(other).id}"

    def _published(self, options: RunOptions, network: str,
                   exposed: dict[str, Any] | None) -> list[PortBinding]:
        bindings = bindings_for(options.publish, options.publish_all, exposed)
        if bindings and network.startswith("container:"):
            raise InvalidArgument("conflicting options: port publishing and the container type "
                                  "network mode (publish the ports on the container that owns "
                                  "the network)")
        shared = shares_host_network(network, options.isolation or default_isolation())
        return as_host_ports(bindings, shared) if shared else bindings

    def run(self, image_text: str, options: RunOptions, *, detach: bool = False,
            stdout: Any = None, stderr: Any = None, stdin: Any = None) -> tuple[ContainerConfig, int]:
        config = self.create(image_text, options)
        if detach:
            self.lifecycle.start_detached(config)
            return config, 0
        try:
            code = self.lifecycle.run_attached(config, stdout=stdout, stderr=stderr, stdin=stdin)
        finally:
            if options.auto_remove:
                self._remove(config, force=True)
        return config, code

    def start(self, text: str, *, attach: bool = False, stdout: Any = None,
              stderr: Any = None) -> tuple[ContainerConfig, int]:
        config = self.get(text)
        if attach:
            try:
                return config, self.lifecycle.run_attached(config, stdout=stdout, stderr=stderr)
            finally:  # docker's `create --rm` + `start -a` (its layer was volatile: lifecycle),
                # unless it was refused for running already
                if config.auto_remove and not self.lifecycle.running(config):
                    self._remove(config, force=True)
        self.lifecycle.start_detached(config)
        return config, 0

    def stop(self, text: str, timeout: float = 10.0) -> ContainerConfig:
        config = self.get(text)
        self.lifecycle.stop(config, timeout)
        return config

    def restart(self, text: str, timeout: float = 10.0) -> ContainerConfig:
        config = self.stop(text, timeout)
        self.lifecycle.start_detached(config)
        return config

    def kill(self, text: str, sig: str = "KILL") -> ContainerConfig:
        config = self.get(text)
        self.lifecycle.kill(config, parse_signal(sig))
        return config

    def wait(self, text: str) -> int:
        return self.lifecycle.wait(self.get(text))

    def remove(self, text: str, *, force: bool = False) -> ContainerConfig:
        return self._remove(self.get(text), force=force)

    def _remove(self, config: ContainerConfig, *, force: bool) -> ContainerConfig:
        if self.lifecycle.running(config):
            if not force:
                raise Conflict(f"You cannot remove a running container {config.short_id}. Stop the "
                               "container before attempting removal or force remove (-f)")
            self.lifecycle.kill(config, signal.SIGKILL)
            self.lifecycle.wait_exit(config, 10.0)
        try:
            # --rm: the run returns once the records are gone, the layer's files go meanwhile
            self.snapshotter.remove(config.snapshot, background=config.auto_remove)
        except NotFound:
            pass  # a half-created container: nothing was prepared
        self.store.delete(config.id)
        return config

    # -- looking at containers ----------------------------------------------------------------
    def ps(self, *, all: bool = False) -> ContainerList:
        from .results import ContainerList, ContainerRow
        rows = []
        for config in self.store.list():
            state = self.lifecycle.state(config)
            if all or state.status == "running":
                rows.append(ContainerRow(config, state))
        return ContainerList(rows)

    def inspect(self, text: str) -> dict[str, Any]:
        config = self.get(text)
        state = self.lifecycle.state(config)
        mounts = self.mounts_of(config)
        return {
            "Id": config.id, "Name": f"/{config.name}", "Created": rfc3339(int(config.created)),
            "Path": config.argv[0], "Args": config.argv[1:],
            "State": {"Status": state.status, "Running": state.status == "running",
                      "Pid": state.pid, "ExitCode": state.exit_code or 0, "Error": state.error,
                      "StartedAt": rfc3339(int(state.started_at)) if state.started_at else "",
                      "FinishedAt": rfc3339(int(state.finished_at)) if state.finished_at else ""},
            "Image": config.image_id, "RestartCount": state.restart_count,
            "Config": {"Hostname": config.hostname or config.short_id, "User": config.user,
                       "Env": config.env, "Cmd": config.argv, "Image": config.image,
                       "WorkingDir": config.cwd, "Labels": config.labels},
            "HostConfig": {"NetworkMode": config.network, "AutoRemove": config.auto_remove,
                           "PortBindings": inspect_ports(stored_bindings(config.ports)),
                           "Memory": (config.limits or {}).get("memory", 0),
                           "NanoCpus": int((config.limits or {}).get("cpus", 0) * 1e9),
                           "PidsLimit": (config.limits or {}).get("pids"),
                           "SecurityOpt": config.security_opt or None},
            "GraphDriver": {"Name": self.snapshotter.name, "Data": {
                "LowerDir": ":".join(str(p) for p in self.snapshotter.layer_dirs(config.parent_snapshot))
                if config.parent_snapshot else "",
                "UpperDir": str(self.snapshotter.layer_dirs(config.snapshot)[0]),
                "MergedDir": str(mounts.rootfs)}},
            "NetworkSettings": {"Ports": inspect_ports(stored_bindings(state.ports))},
            "Isolation": config.isolation or "default",
            # What the container's processes run under, whatever SecurityOpt says.
            "Seccomp": describe_seccomp(config.seccomp),
        }

    def port(self, text: str, private: str | None = None) -> list[str]:
        """``docker port``: where the running container's ports are published on the host."""
        config = self.get(text)
        lines = port_lines(stored_bindings(self.lifecycle.state(config).ports), private)
        if private is not None and not lines:
            raise NotFound(f"No public port '{private if '/' in private else private + '/tcp'}' "
                           f"published for {config.name}")
        return lines

    def logs(self, text: str, *, follow: bool = False) -> Iterator[bytes]:
        config = self.get(text)
        with open(self.store.log_path(config.id), "rb") as log:
            while True:
                chunk = log.read(65536)
                if chunk:
                    yield chunk
                    continue
                if not follow or not self.lifecycle.running(config):
                    if chunk := log.read():
                        yield chunk
                    return
                time.sleep(0.05)

    def top(self, text: str) -> Top:
        from .results import Top
        return Top(processes.in_pid_namespace_of(self._running(text)[1].pid))

    def _running(self, text: str) -> tuple[ContainerConfig, Any]:
        config = self.get(text)
        state = self.lifecycle.state(config)
        if state.status != "running":
            raise Conflict(f"Container {config.short_id} is not running")
        return config, state

    def exec(self, text: str, argv: list[str], *, env: list[str] | None = None,
             workdir: str | None = None, user: str | None = None, stdin: Any = None,
             stdout: Any = None, stderr: Any = None, detach: bool = False) -> int:
        """Run another process in a running container: the runtime enters the namespaces and
        cgroups of its PID 1 and gives the process PID 1's confinement (``runtime.enter``)."""
        from ..runtime.process import exec_in
        from ..runtime.spec import ExecSpec
        config, state = self._running(text)
        if config.isolation == "proot":
            raise Unsupported("exec is not possible under proot isolation (no namespaces to enter)")
        if not argv:
            raise InvalidArgument("exec needs a command")
        spec = ExecSpec(pid=state.pid, pid_start=state.pid_start or None, argv=argv,
                        env=process_env({"Env": config.env}, env or []),
                        cwd=workdir or config.cwd,
                        user=config.user if user is None else user, seccomp=config.seccomp)
        if detach:
            stdin = stdout = stderr = subprocess.DEVNULL
        elif not (_has_fd(stdout) and _has_fd(stderr)):
            stderr = subprocess.STDOUT  # a notebook cell's stream: one stream, pumped into it
        process = exec_in(spec, stdin=stdin, stdout=stdout, stderr=stderr)
        return 0 if detach else process.wait()

    def writable_changes(self, config: ContainerConfig) -> tuple[list[Change], Path]:
        """What the container changed, without the runtime's own mount points: like docker's
        init layer, the empty files that /etc/hosts & co. are bind-mounted onto are not the
        container's doing, so neither ``diff`` shows them nor ``commit`` keeps them."""
        changes, source = self.snapshotter.changes(config.snapshot)
        from .mountpoints import hide_mountpoints  # with diff.changes: only `diff` needs them
        return hide_mountpoints(changes, source), source

    def diff(self, text: str) -> Diff:
        from .results import Diff
        return Diff(self.writable_changes(self.get(text))[0])

    def commit(self, text: str, reference: str | None = None, *, message: str | None = None,
               author: str | None = None, changes: list[str] | None = None) -> Image:
        """A new image: the container's writable layer, as one more layer on its image."""
        from ..diff.writer import write_layer
        from ..images.changes import apply_changes
        from .owners import container_owners
        from ..images.writer import source_date_epoch, store_image
        config = self.get(text)
        target = Reference.parse(reference) if reference else None
        image_target = Descriptor.from_json(config.image_target)
        from ..images.image import load_image
        base = load_image(self.content, image_target)
        found, source = self.writable_changes(config)
        epoch = source_date_epoch()
        with self.content.writer() as blob:
            layer = write_layer(found, source, blob, compression=self.compression,
                                source_date_epoch=epoch, owners=container_owners())
            blob.commit()
        run = apply_changes(base.config.run, changes or [])
        created = rfc3339(epoch)
        derived = base.config.derive(
            diff_id=layer.diff_id, run=run, created=created, author=author,
            history=History(created=created, created_by=" ".join(config.argv), author=author,
                            comment=message))
        descriptor = store_image(self.content, derived, [*base.layers,
                                                         Descriptor(layer.media_type, layer.digest, layer.size)])
        if target is not None:
            self.names.set(target, descriptor)
        else:
            self.names.keep_untagged(descriptor)
        return load_image(self.content, descriptor, (target,) if target else ())

    def export(self, text: str, out: BinaryIO) -> None:
        from . import files
        files.export(self, self.get(text), out, self.scratch)

    def copy(self, source: str, dest: str) -> Path:
        """``docker cp``: exactly one side is ``CONTAINER:PATH``."""
        from . import files
        src_container, _, src_path = source.partition(":") if ":" in source else ("", "", source)
        dst_container, _, dst_path = dest.partition(":") if ":" in dest else ("", "", dest)
        if bool(src_container) == bool(dst_container):
            raise InvalidArgument("cp copies between a container and the host: one of SRC and DEST "
                                  "must be CONTAINER:PATH")
        if src_container:
            return files.copy_out(self, self.get(src_container), src_path, Path(dst_path), self.scratch)
        config = self.get(dst_container)
        state = self.lifecycle.state(config)
        if state.status == "running":  # the live rootfs, seen through the container's own root
            return files.copy_in(Path(f"/proc/{state.pid}/root"), Path(src_path), dst_path)
        target = self.snapshotter.apply_target(config.snapshot)
        layer = target.path
        if target.whiteouts == "delete":  # a copy snapshot: the writable dir is the whole rootfs
            return files.copy_in(layer, Path(src_path), dst_path)
        with tempfile.TemporaryDirectory(dir=self.scratch, prefix="cp-") as tmp:
            merged = files.materialize(self, config, Path(tmp) / "rootfs")
            return files.copy_in(layer, Path(src_path), dst_path, merged=merged)

    @property
    def scratch(self) -> Path:
        path = self.store.root.parent / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def image_roots(self) -> list[Descriptor]:
        return [Descriptor.from_json(c.image_target) for c in self.store.list()]
