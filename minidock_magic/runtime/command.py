"""Find the program to run inside the rootfs and word failures like docker does.

Docker's exit statuses are part of what students learn: 125 the engine failed, 126 the command
cannot be executed, 127 it was not found. The lookup follows Go's ``exec.LookPath`` (what runc
uses): a bare name is searched along the *container's* ``PATH``, skipping non-executables.
``to_host`` maps a container path to where it is readable now: identity after ``pivot_root``,
``resolve_in_root`` for proot, which never changes the engine's root.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

NOT_EXECUTABLE = 126
NOT_FOUND = 127
ENGINE_ERROR = 125


@dataclass(frozen=True, slots=True)
class CommandFailure:
    """Why a command cannot start: docker's exit status and message."""

    status: int
    message: str


def env_value(env: list[str], name: str) -> str | None:
    prefix = name + "="
    return next((e[len(prefix):] for e in reversed(env) if e.startswith(prefix)), None)


def as_mapping(env: list[str]) -> dict[str, str]:
    """``K=V`` entries as ``execve`` wants them; a later entry wins, as in docker."""
    return dict(e.split("=", 1) for e in env)


def with_defaults(env: list[str], *, home: str, hostname: str, tty: bool) -> list[str]:
    """``env`` plus what docker always provides when the image or user did not set it.

    >>> with_defaults(["A=1"], home="/root", hostname="box", tty=False)[:2]
    ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=box']
    """
    added = [("PATH", DEFAULT_PATH), ("HOSTNAME", hostname), ("HOME", home)]
    if tty:
        added.append(("TERM", "xterm"))
    return [f"{k}={v}" for k, v in added if env_value(env, k) is None] + list(env)


def _executable(host_path: str) -> int:
    """0 if runnable, else the errno that running it would give."""
    try:
        st = os.stat(host_path)
    except OSError as exc:
        return exc.errno or errno.ENOENT
    if stat.S_ISDIR(st.st_mode) or not os.access(host_path, os.X_OK):
        return errno.EACCES
    return 0


def failure(argv0: str, err: int, shown: str | None = None) -> CommandFailure:
    """The docker-style outcome of errno ``err`` when starting ``argv0``."""
    shown = shown or argv0
    if err in (errno.ENOENT, errno.ENOTDIR):
        return CommandFailure(NOT_FOUND,
                              f'exec: "{argv0}": stat {shown}: no such file or directory')
    if err == errno.ENOEXEC:
        return CommandFailure(NOT_EXECUTABLE, f'exec: "{argv0}": exec format error')
    if err in (errno.EACCES, errno.EPERM, errno.EISDIR):
        return CommandFailure(NOT_EXECUTABLE, f'exec: "{argv0}": permission denied')
    return CommandFailure(NOT_EXECUTABLE, f'exec: "{argv0}": {os.strerror(err).lower()}')


def find_executable(argv0: str, env: list[str], cwd: str,
                    to_host: Callable[[str], str]) -> str | CommandFailure:
    """The container path to ``execve`` for ``argv0``, or why it cannot run."""
    if "/" in argv0:
        path = argv0 if argv0.startswith("/") else os.path.join(cwd, argv0)
        err = _executable(to_host(os.path.normpath(path)))
        return os.path.normpath(path) if err == 0 else failure(argv0, err)
    search = env_value(env, "PATH")
    for directory in (DEFAULT_PATH if search is None else search).split(":"):
        candidate = os.path.join(directory or cwd, argv0)
        if not candidate.startswith("/"):
            candidate = os.path.join(cwd, candidate)
        if _executable(to_host(os.path.normpath(candidate))) == 0:
            return candidate
    return CommandFailure(NOT_FOUND, f'exec: "{argv0}": executable file not found in $PATH')
