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


def _plan_stage(planner: _Planner, index: int, instructions: tuple[Instruction, ...],
                run: dict[str, Any], globals_: Mapping[str, str]) -> list[Step]:
    scope: dict[str, str] = {}
    shell: tuple[str, ...] = DEFAULT_SHELL
    cmd_set = False
    author = None
    steps = []
    for ins in instructions:
        run = json.loads(json.dumps(run))  # every step gets its own copy of the config
        env = {**scope, **_env_map(run)}
        key = ins.keyword
        text = str(ins)
        extra: dict[str, Any] = {}
        if key == "ARG":
            planner.declare(ins, scope, _env_map(run), globals_)
        elif key == "ENV":
            found = [(planner.word(ins, k, env), planner.word(ins, v, env)) for k, v in
                     pairs(ins.args, key, planner.df.escape, planner.df.name, ins.line)]
            for name, value in found:  # all substituted with the env from *before* this line
                run["Env"] = set_env(run.get("Env") or [], name, value)
            text = "ENV " + " ".join(f"{k}={_quoted(v) if ' ' in v or not v else v}" for k, v in found)
        elif key == "LABEL":
            labels = dict(run.get("Labels") or {})
            for name, value in pairs(ins.args, key, planner.df.escape, planner.df.name, ins.line):
                labels[planner.word(ins, name, env)] = planner.word(ins, value, env)
            run["Labels"] = labels
            text = "LABEL " + " ".join(f"{k}={_quoted(v)}" for k, v in labels.items())
        elif key == "WORKDIR":
            path = planner.word(ins, ins.args, env)
            run["WorkingDir"] = posixpath.normpath(posixpath.join(run.get("WorkingDir") or "/", path))
            text = f"WORKDIR {run['WorkingDir']}"
            extra["dest"] = run["WorkingDir"]
        elif key == "USER":
            run["User"] = planner.word(ins, ins.args, env)
            text = f"USER {run['User']}"
        elif key == "STOPSIGNAL":
            value = planner.word(ins, ins.args, env)
            if not (value.isdigit() or value.upper() in signal.Signals.__members__
                    or f"SIG{value.upper()}" in signal.Signals.__members__):
                raise planner.fail(ins, InvalidArgument(f"invalid signal {value!r}"))
            run["StopSignal"], text = value, f"STOPSIGNAL {value}"
        elif key == "EXPOSE":
            ports = _ports(ins, planner.words(ins, env), planner.fail)
            run["ExposedPorts"] = {**(run.get("ExposedPorts") or {}), **{p: {} for p in ports}}
            text = "EXPOSE " + " ".join(ports)
        elif key == "VOLUME":
            volumes = planner.words(ins, env)
            if not all(volumes):
                raise planner.fail(ins, InvalidArgument("VOLUME specified can not be an empty string"))
            run["Volumes"] = {**(run.get("Volumes") or {}), **{v: {} for v in volumes}}
            text = "VOLUME " + json.dumps(volumes)
        elif key in ("CMD", "ENTRYPOINT"):
            command = _command(ins, shell)
            run["Cmd" if key == "CMD" else "Entrypoint"] = command
            if key == "ENTRYPOINT" and not cmd_set:
                run.pop("Cmd", None)  # docker: a new ENTRYPOINT drops a Cmd inherited from the base
            cmd_set = cmd_set or key == "CMD"
            text = f"{key} {json.dumps(command, separators=(',', ':'))}"
        elif key == "SHELL":
            shell = tuple(ins.exec_form or ())
        elif key == "MAINTAINER":
            author = ins.args
        elif key == "RUN":
            argv = _command(ins, shell)
            args_env = [f"{k}={v}" for k, v in sorted(scope.items()) if k not in _env_map(run)]
            process_env = [*(run.get("Env") or []), *args_env]
            prefix = f"|{len(args_env)} {' '.join(args_env)} " if args_env else ""
            text = f"RUN {prefix}{' '.join(argv)}"
            extra.update(argv=tuple(argv), env=tuple(process_env))
        elif key in ("COPY", "ADD"):
            words = planner.words(ins, env)
            chmod = ins.flag("chmod")
            if chmod is not None and not re.fullmatch(r"[0-7]{3,4}", chmod):
                raise planner.fail(ins, InvalidArgument(f"--chmod={chmod}: use octal, like 0755"))
            urls = [w for w in words[:-1] if _URL.match(w)]
            if key == "ADD" and urls:  # (COPY takes "http://x" as a file name, as docker does)
                raise planner.fail(ins, InvalidArgument(
                    f"{urls[0]}: ADD from a URL needs the network, which builds here do not have: "
                    "download it into the build context and ADD (or COPY) the file"))
            copy_from = ins.flag("from")
            chown = ins.flag("chown")
            extra.update(sources=tuple(words[:-1]), dest=words[-1],
                         chown=planner.word(ins, chown, env) if chown else None,
                         chmod=int(chmod, 8) if chmod else None,
                         copy_from=planner.word(ins, copy_from, env) if copy_from else None)
            flags = "".join(f"--{k}={v} " for k, v in (("from", extra["copy_from"]),
                            ("chown", extra["chown"]), ("chmod", chmod)) if v)
            text = f"{key} {flags}{' '.join(words)}"
        steps.append(planner.step(index, ins, text, run, author=author,
                                  workdir=run.get("WorkingDir") or "/", user=run.get("User") or "",
                                  **extra))
    return steps

