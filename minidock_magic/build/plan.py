"""Parsed Dockerfile + build args -> the steps to build, every variable substituted (pure).

Everything a step's *text* depends on is known before any step runs: ARG values, ENV values,
the base images' configs. So the whole Dockerfile is planned first, and a typo on line 40 is
reported before line 2 has built anything (bad input changes nothing).

Substitution follows docker: only ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME,
WORKDIR (and ARG defaults) are substituted; RUN, CMD and ENTRYPOINT reach the shell as written.
FROM sees only the ARGs declared before the first FROM; a stage sees an ARG once it declares it
(``ARG NAME`` re-imports a global one); ENV beats ARG of the same name.

>>> from .parser import parse
>>> df = parse('ARG V=1\\nFROM base\\nARG V\\nENV A=$V B="x y"\\nWORKDIR app\\nRUN echo $A\\nCMD run')
>>> steps = plan(df, {"V": "2"}, lambda name: {"Env": ["PATH=/bin"]}).stages[0].steps
>>> [(s.keyword, s.text) for s in steps]
[('FROM', 'FROM base'), ('ARG', 'ARG V'), ('ENV', 'ENV A=2 B="x y"'), ('WORKDIR', 'WORKDIR /app'), ('RUN', 'RUN |1 V=2 /bin/sh -c echo $A'), ('CMD', 'CMD ["/bin/sh","-c","run"]')]
>>> steps[4].env, steps[4].argv, steps[-1].run["Cmd"]
(('PATH=/bin', 'A=2', 'B=x y', 'V=2'), ('/bin/sh', '-c', 'echo $A'), ['/bin/sh', '-c', 'run'])
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument, NotFound
from ..images.changes import set_env
from ..oci.descriptor import Platform
from .parser import Dockerfile, Instruction, pairs
from .words import Lexer, split_raw

DEFAULT_SHELL = ("/bin/sh", "-c")
_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE)
_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?\Z", re.IGNORECASE)
#: ARGs docker defines for every build (only visible once declared with ``ARG NAME``).
AUTOMATIC_ARGS = ("TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
                  "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT")


@dataclass(frozen=True, slots=True)
class Step:
    number: int                             # 1-based over the whole build ("Step 3/6")
    stage: int
    line: int
    keyword: str
    shown: str                              # as written, for "Step 3/6 : ..."
    text: str                               # substituted: the history's created_by, the cache key
    run: dict[str, Any] = field(compare=False)  # the image's run config after this step
    author: str | None = None
    argv: tuple[str, ...] = ()              # RUN: the process
    env: tuple[str, ...] = ()               # RUN: its environment (Env, then ARGs in scope)
    sources: tuple[str, ...] = ()           # COPY/ADD
    dest: str = ""                          # COPY/ADD/WORKDIR: where, as written (may be relative)
    workdir: str = "/"                      # the working directory the step sees
    user: str = ""
    chown: str | None = None
    chmod: int | None = None
    copy_from: str | None = None            # COPY --from: a stage name/index, or an image
    base: str = ""                          # FROM: the image or stage name
    notes: tuple[str, ...] = ()             # what was accepted but ignored (FROM --platform)


@dataclass(frozen=True, slots=True)
class StagePlan:
    index: int
    name: str | None
    base: str                               # substituted
    base_stage: int | None                  # when ``base`` names an earlier stage
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    stages: tuple[StagePlan, ...]
    unused_args: tuple[str, ...]            # --build-arg names no ARG declared (docker warns)

    @property
    def steps(self) -> list[Step]:
        return [step for stage in self.stages for step in stage.steps]


def automatic_args() -> dict[str, str]:
    host = Platform.host()
    values = {"PLATFORM": f"{host.os}/{host.architecture}" + (f"/{host.variant}" if host.variant else ""),
              "OS": host.os, "ARCH": host.architecture, "VARIANT": host.variant or ""}
    return {f"{kind}{key}": value for kind in ("TARGET", "BUILD") for key, value in values.items()}


class _Planner:
    def __init__(self, df: Dockerfile, build_args: Mapping[str, str]) -> None:
        self.df, self.build_args = df, dict(build_args)
        self.lex = Lexer(df.escape)
        self.consumed: set[str] = set()
        self.number = 0

    def fail(self, ins: Instruction, exc: Exception) -> InvalidArgument:
        return self.df.error(ins.line, f"{ins.keyword}: {exc}")

    def declare(self, ins: Instruction, scope: dict[str, str], env: Mapping[str, str],
                inherited: Mapping[str, str]) -> None:
        """Apply an ARG line to ``scope`` (a build arg, else the default, else a global value)."""
        for word in split_raw(ins.args, self.df.escape):
            key, sep, default = word.partition("=")
            self.consumed.add(key)
            if key in self.build_args:
                scope[key] = self.build_args[key]
            elif sep:
                scope[key] = self.word(ins, default, {**scope, **env})
            elif key in inherited:
                scope[key] = inherited[key]
            elif key in AUTOMATIC_ARGS:
                scope[key] = automatic_args()[key]
            else:
                scope.pop(key, None)  # declared but without a value: unset, as in docker

    def word(self, ins: Instruction, text: str, env: Mapping[str, str]) -> str:
        try:
            return self.lex.word(text, env)
        except InvalidArgument as exc:
            raise self.fail(ins, exc) from None

    def words(self, ins: Instruction, env: Mapping[str, str]) -> list[str]:
        try:
            if ins.exec_form is not None:
                return [self.lex.word(w, env) for w in ins.exec_form]
            return self.lex.words(ins.args, env)
        except InvalidArgument as exc:
            raise self.fail(ins, exc) from None

    def step(self, stage: int, ins: Instruction, text: str, run: dict[str, Any], **extra: Any) -> Step:
        self.number += 1
        return Step(self.number, stage, ins.line, ins.keyword, str(ins), text, run, **extra)


def _env_map(run: Mapping[str, Any]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in run.get("Env") or [] if "=" in e)


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _command(ins: Instruction, shell: tuple[str, ...]) -> list[str]:
    return list(ins.exec_form) if ins.exec_form is not None else [*shell, ins.args]


def _ports(ins: Instruction, words: list[str], fail: Callable[[Instruction, Exception], Exception]) -> list[str]:
    ports = []
    for word in words:
        match = _PORT.match(word)
        if not match or int(match.group(1)) > 65535 or int(match.group(2) or 0) > 65535:
            raise fail(ins, InvalidArgument(f"invalid port {word!r}: use PORT, PORT/tcp, PORT/udp "
                                            "or a range like 8000-8010"))
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        ports += [f"{p}/{(match.group(3) or 'tcp').lower()}" for p in range(first, last + 1)]
    return ports


def plan(df: Dockerfile, build_args: Mapping[str, str], image_run: Callable[[str], dict[str, Any]],
         *, target: str | None = None) -> Plan:
    """The steps of every stage up to ``target`` (default: the last). ``image_run(name)`` gives
    a base image's run config (Env, Cmd, …); it raises NotFound for an unknown image."""
    planner = _Planner(df, build_args)
    globals_: dict[str, str] = {}
    for ins in df.global_args:
        planner.declare(ins, globals_, {}, {})
    last = len(df.stages) - 1
    if target is not None:
        index = next((s.index for s in df.stages if s.name == target.lower()), None)
        if index is None and target.isdigit() and int(target) <= last:
            index = int(target)
        if index is None:
            raise InvalidArgument(f"--target {target}: no stage of that name in {df.name} "
                                  f"(stages: {', '.join(s.name or str(s.index) for s in df.stages)})")
        last = index
    finals: dict[int, dict[str, Any]] = {}
    stages = []
    for stage in df.stages[:last + 1]:
        origin = stage.origin
        base = planner.word(origin, stage.base, globals_)
        if not base:
            raise df.error(origin.line, f"FROM: {stage.base!r} is empty after substitution "
                           "(give the ARG a default, or --build-arg)")
        base_stage = next((s.index for s in df.stages[:stage.index] if s.name == base.lower()), None)
        platform = planner.word(origin, origin.flag("platform") or "", globals_)
        host = automatic_args()["TARGETPLATFORM"]
        notes = (f"FROM --platform={platform} is ignored: minidock builds for this host ({host})",) \
            if platform else ()
        try:
            run = dict(finals[base_stage]) if base_stage is not None else \
                ({} if base == "scratch" else image_run(base))
        except InvalidArgument as exc:
            raise planner.fail(origin, exc) from None
        except LookupError as exc:
            raise NotFound(f"{df.name}:{origin.line}: FROM {base}: {exc} (pull it first, or build "
                           "it)") from None
        steps = [planner.step(stage.index, origin, f"FROM {base}", run, base=base, notes=notes)]
        steps += _plan_stage(planner, stage.index, stage.instructions, run, globals_)
        finals[stage.index] = steps[-1].run
        stages.append(StagePlan(stage.index, stage.name, base, base_stage, tuple(steps)))
    return Plan(tuple(stages), tuple(sorted(set(build_args) - planner.consumed)))


@dataclass
class _Stage:
    """What a stage's instructions carry from one to the next, besides the run config."""

    planner: _Planner
    index: int
    globals_: Mapping[str, str]
    scope: dict[str, str] = field(default_factory=dict)   # ARGs declared in this stage
    shell: tuple[str, ...] = DEFAULT_SHELL
    cmd_set: bool = False
    author: str | None = None


@dataclass
class _Line:
    """One instruction being planned: its own copy of the run config, which a handler changes,
    the values ``$VAR`` sees, and what the handler says the step is."""

    ins: Instruction
    run: dict[str, Any]
    env: dict[str, str]
    text: str
    extra: dict[str, Any] = field(default_factory=dict)  # Step fields: argv, sources, dest, …

    def word(self, stage: _Stage, text: str) -> str:
        return stage.planner.word(self.ins, text, self.env)

    def words(self, stage: _Stage) -> list[str]:
        return stage.planner.words(self.ins, self.env)

    def fail(self, stage: _Stage, message: str) -> InvalidArgument:
        return stage.planner.fail(self.ins, InvalidArgument(message))


def _plan_stage(planner: _Planner, index: int, instructions: tuple[Instruction, ...],
                run: dict[str, Any], globals_: Mapping[str, str]) -> list[Step]:
    stage = _Stage(planner, index, globals_)
    steps = []
    for ins in instructions:
        run = copy.deepcopy(run)  # every step keeps its own config
        line = _Line(ins, run, {**stage.scope, **_env_map(run)}, str(ins))
        _HANDLERS.get(ins.keyword, _as_written)(stage, line)
        steps.append(planner.step(index, ins, line.text, run, author=stage.author,
                                  workdir=run.get("WorkingDir") or "/", user=run.get("User") or "",
                                  **line.extra))
    return steps


def _as_written(stage: _Stage, line: _Line) -> None:
    """Instructions the plan does not change (ONBUILD, HEALTHCHECK, …): recorded as written."""


def _arg(stage: _Stage, line: _Line) -> None:
    stage.planner.declare(line.ins, stage.scope, _env_map(line.run), stage.globals_)


def _env(stage: _Stage, line: _Line) -> None:
    df = stage.planner.df
    found = [(line.word(stage, k), line.word(stage, v))
             for k, v in pairs(line.ins.args, "ENV", df.escape, df.name, line.ins.line)]
    for name, value in found:  # all substituted with the env from *before* this line
        line.run["Env"] = set_env(line.run.get("Env") or [], name, value)
    line.text = "ENV " + " ".join(f"{k}={_quoted(v) if ' ' in v or not v else v}" for k, v in found)


def _label(stage: _Stage, line: _Line) -> None:
    df = stage.planner.df
    labels = dict(line.run.get("Labels") or {})
    for name, value in pairs(line.ins.args, "LABEL", df.escape, df.name, line.ins.line):
        labels[line.word(stage, name)] = line.word(stage, value)
    line.run["Labels"] = labels
    line.text = "LABEL " + " ".join(f"{k}={_quoted(v)}" for k, v in labels.items())


def _workdir(stage: _Stage, line: _Line) -> None:
    path = line.word(stage, line.ins.args)
    workdir = posixpath.normpath(posixpath.join(line.run.get("WorkingDir") or "/", path))
    line.run["WorkingDir"] = line.extra["dest"] = workdir
    line.text = f"WORKDIR {workdir}"


def _user(stage: _Stage, line: _Line) -> None:
    line.run["User"] = line.word(stage, line.ins.args)
    line.text = f"USER {line.run['User']}"


def _stopsignal(stage: _Stage, line: _Line) -> None:
    value = line.word(stage, line.ins.args)
    if not (value.isdigit() or value.upper() in signal.Signals.__members__
            or f"SIG{value.upper()}" in signal.Signals.__members__):
        raise line.fail(stage, f"invalid signal {value!r}")
    line.run["StopSignal"], line.text = value, f"STOPSIGNAL {value}"


def _expose(stage: _Stage, line: _Line) -> None:
    ports = _ports(line.ins, line.words(stage), stage.planner.fail)
    line.run["ExposedPorts"] = {**(line.run.get("ExposedPorts") or {}), **{p: {} for p in ports}}
    line.text = "EXPOSE " + " ".join(ports)


def _volume(stage: _Stage, line: _Line) -> None:
    volumes = line.words(stage)
    if not all(volumes):
        raise line.fail(stage, "VOLUME specified can not be an empty string")
    line.run["Volumes"] = {**(line.run.get("Volumes") or {}), **{v: {} for v in volumes}}
    line.text = "VOLUME " + json.dumps(volumes)


def _cmd_or_entrypoint(stage: _Stage, line: _Line) -> None:
    key = line.ins.keyword
    command = _command(line.ins, stage.shell)
    line.run["Cmd" if key == "CMD" else "Entrypoint"] = command
    if key == "ENTRYPOINT" and not stage.cmd_set:
        line.run.pop("Cmd", None)  # docker: a new ENTRYPOINT drops a Cmd inherited from the base
    stage.cmd_set = stage.cmd_set or key == "CMD"
    line.text = f"{key} {json.dumps(command, separators=(',', ':'))}"


def _shell(stage: _Stage, line: _Line) -> None:
    stage.shell = tuple(line.ins.exec_form or ())


def _maintainer(stage: _Stage, line: _Line) -> None:
    stage.author = line.ins.args


def _run(stage: _Stage, line: _Line) -> None:
    argv = _command(line.ins, stage.shell)
    config_env = _env_map(line.run)
    args_env = [f"{k}={v}" for k, v in sorted(stage.scope.items()) if k not in config_env]
    prefix = f"|{len(args_env)} {' '.join(args_env)} " if args_env else ""
    line.text = f"RUN {prefix}{' '.join(argv)}"
    line.extra.update(argv=tuple(argv), env=(*(line.run.get("Env") or []), *args_env))


def _copy_or_add(stage: _Stage, line: _Line) -> None:
    ins, key = line.ins, line.ins.keyword
    words = line.words(stage)
    chmod = ins.flag("chmod")
    if chmod is not None and not re.fullmatch(r"[0-7]{3,4}", chmod):
        raise line.fail(stage, f"--chmod={chmod}: use octal, like 0755")
    urls = [w for w in words[:-1] if _URL.match(w)]
    if key == "ADD" and urls:  # (COPY takes "http://x" as a file name, as docker does)
        raise line.fail(stage, f"{urls[0]}: ADD from a URL needs the network, which builds here "
                        "do not have: download it into the build context and ADD (or COPY) the file")
    copy_from, chown = ins.flag("from"), ins.flag("chown")
    line.extra.update(sources=tuple(words[:-1]), dest=words[-1],
                      chown=line.word(stage, chown) if chown else None,
                      chmod=int(chmod, 8) if chmod else None,
                      copy_from=line.word(stage, copy_from) if copy_from else None)
    flags = "".join(f"--{k}={v} " for k, v in (("from", line.extra["copy_from"]),
                    ("chown", line.extra["chown"]), ("chmod", chmod)) if v)
    line.text = f"{key} {flags}{' '.join(words)}"


#: How each instruction changes the run config and what its step says; the rest are as written.
_HANDLERS: dict[str, Callable[[_Stage, _Line], None]] = {
    "ARG": _arg, "ENV": _env, "LABEL": _label, "WORKDIR": _workdir, "USER": _user,
    "STOPSIGNAL": _stopsignal, "EXPOSE": _expose, "VOLUME": _volume,
    "CMD": _cmd_or_entrypoint, "ENTRYPOINT": _cmd_or_entrypoint, "SHELL": _shell,
    "MAINTAINER": _maintainer, "RUN": _run, "COPY": _copy_or_add, "ADD": _copy_or_add,
}
