"""Dockerfile text -> stages of instructions, each with the line it starts on (pure).

The grammar is docker's (moby ``frontend/dockerfile/parser``): parser directives (``# syntax=``,
``# escape=``) only at the very top; ``#`` lines are comments, even inside a continued
instruction; a line ending in the escape character continues on the next; the first word is the
instruction (any case); leading ``--flag=value`` words are flags; RUN, CMD, ENTRYPOINT, COPY,
ADD, VOLUME and SHELL may be written as a JSON array (exec form). Variables are *not*
substituted here: their values are only known while building (see :mod:`.plan`).

Every malformed input is an :class:`InvalidArgument` naming its line, like a compiler::

    >>> parse("FROM busybox\\nRNU echo hi\\n")
    Traceback (most recent call last):
    ...
    minidock_magic.errors.InvalidArgument: Dockerfile:2: unknown instruction: RNU

>>> df = parse('''# escape=`
... ARG BASE=busybox
... FROM $BASE AS first
... # a comment inside a continuation is dropped
... RUN echo one `
...     # like this one
...     two
... COPY --from=first ["/a b", "/c/"]
... ''')
>>> df.escape, [a.args for a in df.global_args]
('`', ['BASE=busybox'])
>>> stage = df.stages[0]
>>> stage.name, stage.base, [(i.line, i.keyword) for i in stage.instructions]
('first', '$BASE', [(5, 'RUN'), (8, 'COPY')])
>>> stage.instructions[0].args
'echo one     two'
>>> copy = stage.instructions[1]
>>> copy.flag("from"), copy.exec_form
('first', ('/a b', '/c/'))
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..errors import InvalidArgument
from .words import split_raw

#: Instructions and the flags each accepts (docker's, minus the BuildKit-only mounts).
FLAGS: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset(),
    "COPY": frozenset({"from", "chown", "chmod"}),
    "ADD": frozenset({"chown", "chmod"}),
    **{name: frozenset() for name in ("ENV", "ARG", "WORKDIR", "USER", "LABEL", "EXPOSE", "CMD",
                                      "ENTRYPOINT", "VOLUME", "STOPSIGNAL", "SHELL", "MAINTAINER")},
}
NOT_SUPPORTED = {"HEALTHCHECK", "ONBUILD"}
EXEC_FORM = {"RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "VOLUME", "SHELL"}
DIRECTIVES = ("syntax", "escape", "check")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*\Z")
STAGE_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]*\Z")


def error(name: str, line: int, message: str) -> InvalidArgument:
    """The one shape of every Dockerfile error: ``Dockerfile:3: what is wrong``."""
    return InvalidArgument(f"{name}:{line}: {message}")


@dataclass(frozen=True, slots=True)
class Instruction:
    line: int                               # where the instruction starts (1-based)
    keyword: str                            # upper case: RUN, COPY, …
    args: str                               # the text after the flags, unsubstituted
    flags: tuple[tuple[str, str], ...] = ()
    exec_form: tuple[str, ...] | None = None  # the JSON array, when written that way

    def flag(self, name: str) -> str | None:
        return next((value for key, value in self.flags if key == name), None)

    def __str__(self) -> str:  # as docker echoes it: "Step 2/5 : COPY --chown=1 a /b"
        flags = "".join(f"--{k}={v} " for k, v in self.flags)
        return f"{self.keyword} {flags}{self.args}".rstrip()


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    base: str                               # the image (or earlier stage) after FROM, unsubstituted
    name: str | None                        # from ``AS name``, lower-cased as docker does
    origin: Instruction                     # the FROM instruction itself
    instructions: tuple[Instruction, ...]   # what follows FROM, up to the next FROM


@dataclass(frozen=True, slots=True)
class Dockerfile:
    name: str                               # "Dockerfile", or the -f file's name, for messages
    escape: str
    directives: tuple[tuple[str, str], ...]
    global_args: tuple[Instruction, ...]    # ARGs before the first FROM (usable in FROM lines)
    stages: tuple[Stage, ...]

    def error(self, line: int, message: str) -> InvalidArgument:
        return error(self.name, line, message)


def _directives(lines: list[str], name: str) -> tuple[dict[str, str], int]:
    """Parser directives at the top, and how many lines they took. The first line that is not
    a known directive ends them (an unknown one is then just a comment, as in docker)."""
    found: dict[str, str] = {}
    for number, line in enumerate(lines):
        match = _DIRECTIVE.match(line.strip())
        if not match or match.group(1).lower() not in DIRECTIVES:
            return found, number
        key = match.group(1).lower()
        if key in found:
            raise error(name, number + 1, f"only one {key} parser directive can be used")
        found[key] = match.group(2)
    return found, len(lines)


def _logical_lines(lines: list[str], start: int, escape: str) -> list[tuple[int, str]]:
    """(first line number, text) of each instruction, continuations joined, comments dropped."""
    continued = re.compile(re.escape(escape) + r"[ \t]*\Z")
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(lines[start:], start + 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (pending is not None and not stripped):
            continue  # comments vanish even mid-instruction; so do empty continuation lines
        text = raw if pending is not None else raw.lstrip()
        if not text.strip():
            continue
        ends = continued.search(text)
        piece = text[:ends.start()] if ends else text
        pending = (pending[0], pending[1] + piece) if pending else (number, piece)
        if not ends:
            out.append(pending)
            pending = None
    if pending is not None and pending[1].strip():
        out.append(pending)  # a continuation at the end of the file just ends there (docker too)
    return out


def _flags(rest: str, keyword: str, name: str, line: int) -> tuple[tuple[tuple[str, str], ...], str]:
    flags: list[tuple[str, str]] = []
    while rest.startswith("--"):
        word, _, after = rest.partition(" ")
        rest = after.lstrip()
        if word == "--":
            break
        key, sep, value = word[2:].partition("=")
        if key not in FLAGS[keyword]:
            raise error(name, line, f"unknown flag: --{key}" + (
                f" ({keyword} takes {', '.join('--' + f for f in sorted(FLAGS[keyword]))})"
                if FLAGS[keyword] else f" ({keyword} takes no flags)"))
        if not sep or not value:
            raise error(name, line, f"{keyword} --{key} needs a value: --{key}=VALUE")
        if any(k == key for k, _ in flags):
            raise error(name, line, f"{keyword} --{key} given twice")
        flags.append((key, value))
    return tuple(flags), rest


def _exec_form(rest: str) -> tuple[str, ...] | None:
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None  # docker falls back to the shell form, so `CMD [ -f x ]` still works
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _instruction(number: int, text: str, name: str, escape: str) -> Instruction:
    keyword, _, rest = text.strip().partition(" ")
    if "\t" in keyword:
        keyword, _, more = keyword.partition("\t")
        rest = f"{more} {rest}"
    keyword, rest = keyword.upper(), rest.strip()
    if keyword in NOT_SUPPORTED:
        raise error(name, number, f"{keyword} is not supported by minidock")
    if keyword not in FLAGS:
        raise error(name, number, f"unknown instruction: {text.split()[0]}")
    flags, rest = _flags(rest, keyword, name, number)
    if keyword in ("RUN", "COPY", "ADD") and re.match(r"<<-?\s*['\"]?[A-Za-z_]", rest):
        raise error(name, number, f"heredocs ({keyword} <<EOF) are not supported by minidock: "
                    "chain commands with && in one RUN, or COPY a file from the context")
    exec_form = _exec_form(rest) if keyword in EXEC_FORM else None
    instruction = Instruction(number, keyword, rest, flags, exec_form)
    _check_arity(instruction, name, escape)
    return instruction


def _check_arity(ins: Instruction, name: str, escape: str) -> None:
    """What can be checked before substitution: argument counts and KEY=VALUE shapes."""
    keyword, line = ins.keyword, ins.line
    try:
        words = split_raw(ins.args, escape) if ins.exec_form is None else list(ins.exec_form)
    except InvalidArgument as exc:
        raise error(name, line, f"{keyword}: {exc}") from None
    if not words and not (keyword in ("CMD", "ENTRYPOINT") and ins.exec_form is not None):
        raise error(name, line, f"{keyword} requires at least one argument")
    if keyword == "FROM" and not (len(words) == 1 or (len(words) == 3 and words[1].lower() == "as")):
        raise error(name, line, "FROM requires either one argument, or three: FROM image AS name")
    if keyword in ("COPY", "ADD") and len(words) < 2:
        raise error(name, line, f"{keyword} requires at least two arguments: source(s) and destination")
    if keyword == "SHELL" and ins.exec_form is None:
        raise error(name, line, 'SHELL requires the arguments to be in JSON form: SHELL ["/bin/sh", "-c"]')
    if keyword in ("ENV", "LABEL"):
        pairs(ins.args, keyword, escape, name, line)
    if keyword == "ARG":
        for word in words:
            key = word.partition("=")[0]
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise error(name, line, f"ARG: {key!r} is not a valid variable name")
    if keyword in ("STOPSIGNAL",) and len(words) != 1:
        raise error(name, line, f"{keyword} requires exactly one argument")


def pairs(text: str, keyword: str, escape: str, name: str, line: int) -> list[tuple[str, str]]:
    """``K=V K2="v 2"`` (or the legacy ``K value with spaces``) as raw (key, value) pairs;
    their quotes and variables are handled when building."""
    words = split_raw(text, escape)
    if len(words) == 0:
        raise error(name, line, f"{keyword} requires at least one argument")
    if "=" not in words[0]:
        if len(words) < 2:
            raise error(name, line, f"{keyword} must have two arguments: {keyword} {words[0]}=VALUE")
        return [(words[0], text.strip()[len(words[0]):].strip())]
    found = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise error(name, line, f"{keyword}: can't find = in {word!r}; use {keyword} name=value")
        if not key:
            raise error(name, line, f"{keyword} names can not be blank")
        found.append((key, value))
    return found


def parse(text: str, name: str = "Dockerfile") -> Dockerfile:
    lines = text.splitlines()
    directives, start = _directives(lines, name)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise error(name, list(directives).index("escape") + 1,
                    f"invalid escape token {escape!r}: use \\ or `")
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    current: list[Instruction] = []
    origin: Instruction | None = None
    names: dict[str, int] = {}

    def close() -> None:
        if origin is None:
            return
        words = split_raw(origin.args, escape)
        stage_name = words[2].lower() if len(words) == 3 else None
        stages.append(Stage(len(stages), words[0], stage_name, origin, tuple(current)))

    for number, logical in _logical_lines(lines, start, escape):
        ins = _instruction(number, logical, name, escape)
        if ins.keyword == "FROM":
            close()
            words = split_raw(ins.args, escape)
            if len(words) == 3:
                stage_name = words[2].lower()
                if not STAGE_NAME.match(stage_name):
                    raise error(name, number, f"invalid stage name {words[2]!r}: use letters, "
                                "digits, '-', '_' and '.', starting with a letter")
                if stage_name in names:
                    raise error(name, number, f"duplicate stage name {stage_name!r} "
                                f"(first used on line {names[stage_name]})")
                names[stage_name] = number
            origin, current = ins, []
        elif origin is None:
            if ins.keyword != "ARG":
                raise error(name, number, f"{ins.keyword} before the first FROM: only ARG may "
                            "come before FROM")
            global_args.append(ins)
        else:
            current.append(ins)
    close()
    if not stages:
        raise InvalidArgument(f"{name}: no FROM instruction: a Dockerfile starts with FROM "
                              "(or ARG lines, then FROM)" if global_args or text.strip()
                              else f"{name}: the file has no instructions")
    return Dockerfile(name, escape, tuple(directives.items()), tuple(global_args), tuple(stages))
