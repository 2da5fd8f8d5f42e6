"""The Dockerfile grammar: directives, comments, continuations, forms, flags — and clear errors."""

from __future__ import annotations

import pytest

from minidock_magic.build.parser import parse
from minidock_magic.build.plan import plan
from minidock_magic.build.words import Lexer
from minidock_magic.errors import InvalidArgument, NotFound


def no_images(name: str) -> dict:
    raise NotFound(f"No such image: {name}")


def base_env(name: str) -> dict:
    return {"Env": ["PATH=/bin", "HOME=/root"], "Cmd": ["sh"]}


# -- the grammar ------------------------------------------------------------------------------
def test_keywords_are_case_insensitive_and_carry_their_line_numbers() -> None:
    df = parse("\n\nfrom busybox\n# a comment\n\nrun echo hi\nCopy a /b\n")
    assert [(i.line, i.keyword) for i in df.stages[0].instructions] == [(6, "RUN"), (7, "COPY")]
    assert df.stages[0].origin.line == 3


def test_continuations_join_lines_and_drop_comments_and_blank_lines_inside() -> None:
    df = parse("FROM busybox\nRUN echo a \\\n# not part of the command\n\n  && echo b\\\n  c\nENV X=1\n")
    run, env = df.stages[0].instructions
    assert run.line == 2 and run.args == "echo a   && echo b  c"
    assert env.line == 7


def test_continuation_at_end_of_file_ends_the_instruction() -> None:
    df = parse("FROM busybox\nRUN echo last \\")
    assert df.stages[0].instructions[0].args == "echo last"


def test_escape_directive_switches_to_backtick() -> None:
    df = parse("# escape=`\nFROM busybox\nRUN dir C:\\ `\n  && echo done\n")
    assert df.escape == "`"
    assert df.stages[0].instructions[0].args == "dir C:\\   && echo done"


def test_directives_only_count_at_the_top() -> None:
    df = parse("# syntax=docker/dockerfile:1\n# Escape = `\nFROM busybox\n# escape=\\\nRUN a `\n b\n")
    assert dict(df.directives) == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert df.stages[0].instructions[0].args == "a  b"
    # after a plain comment, "# escape=" is just a comment
    assert parse("# hello\n# escape=`\nFROM busybox\n").escape == "\\"


def test_exec_and_shell_forms() -> None:
    df = parse('FROM busybox\nRUN ["echo", "a b"]\nCMD echo hi\nENTRYPOINT ["sh", "-c"]\n'
               'CMD [ -f /x ]\n')
    run, cmd, entrypoint, odd = df.stages[0].instructions
    assert run.exec_form == ("echo", "a b") and cmd.exec_form is None
    assert entrypoint.exec_form == ("sh", "-c")
    assert odd.exec_form is None  # not JSON: docker falls back to the shell form


def test_flags_and_stages() -> None:
    df = parse("FROM --platform=linux/arm64 busybox AS Build\nRUN make\n"
               "FROM scratch\nCOPY --from=build --chown=1:2 /out /\n")
    first, second = df.stages
    assert first.name == "build" and first.origin.flag("platform") == "linux/arm64"
    assert second.base == "scratch" and second.name is None
    copy = second.instructions[0]
    assert copy.flag("from") == "build" and copy.flag("chown") == "1:2"
    assert str(copy) == "COPY --from=build --chown=1:2 /out /"


def test_arg_before_from_is_global() -> None:
    df = parse("ARG TAG=latest\nARG OTHER\nFROM busybox:$TAG\n")
    assert [a.args for a in df.global_args] == ["TAG=latest", "OTHER"]


# -- malformed Dockerfiles: one line, naming the Dockerfile line --------------------------------
MALFORMED = [
    ("FROM busybox\nRUN true\nRNU echo hi\n", "Dockerfile:3: unknown instruction: RNU"),
    ("RUN echo hi\nFROM busybox\n", "Dockerfile:1: RUN before the first FROM"),
    ("FROM busybox\nFROM\n", "Dockerfile:2: FROM requires at least one argument"),
    ("FROM busybox as\n", "Dockerfile:1: FROM requires either one argument, or three"),
    ("FROM busybox\n\nCOPY onlyone\n", "Dockerfile:3: COPY requires at least two arguments"),
    ("FROM busybox\nENV\n", "Dockerfile:2: ENV requires at least one argument"),
    ("FROM busybox\nENV A\n", "Dockerfile:2: ENV must have two arguments"),
    ("FROM busybox\nENV A=1 =2\n", "Dockerfile:2: ENV names can not be blank"),
    ("FROM busybox\nENV A=1 B\n", "Dockerfile:2: ENV: can't find = in 'B'"),
    ("FROM busybox\nLABEL a=\"unterminated\n", "Dockerfile:2: LABEL: unmatched double quote"),
    ("FROM busybox\nCOPY --form=x a b\n", "Dockerfile:2: unknown flag: --form"),
    ("FROM busybox\nRUN --mount=type=cache true\n", "Dockerfile:2: unknown flag: --mount"),
    ("FROM busybox\nCOPY --chown a b\n", "Dockerfile:2: COPY --chown needs a value"),
    ("# escape=x\nFROM busybox\n", "Dockerfile:1: invalid escape token 'x'"),
    ("# escape=`\n# escape=\\\nFROM busybox\n", "Dockerfile:2: only one escape parser directive"),
    ("FROM busybox AS a\nFROM busybox AS A\n", "Dockerfile:2: duplicate stage name 'a'"),
    ("FROM busybox AS 1st\n", "Dockerfile:1: invalid stage name '1st'"),
    ("FROM busybox\nSHELL /bin/bash -c\n", "Dockerfile:2: SHELL requires the arguments to be in JSON form"),
    ("FROM busybox\nHEALTHCHECK CMD true\n", "Dockerfile:2: HEALTHCHECK is not supported"),
    ("FROM busybox\nARG 9lives=1\n", "Dockerfile:2: ARG: '9lives' is not a valid variable name"),
    ("FROM busybox\nSTOPSIGNAL TERM KILL\n", "Dockerfile:2: STOPSIGNAL requires exactly one argument"),
    ("FROM busybox\nRUN echo \\\n  a \\\n  b\nWRKDIR /x\n", "Dockerfile:5: unknown instruction: WRKDIR"),
    ("FROM busybox\nRUN <<EOF\necho hi\nEOF\n", "Dockerfile:2: heredocs (RUN <<EOF) are not supported"),
    ("", "Dockerfile: the file has no instructions"),
    ("# only a comment\nARG A=1\n", "Dockerfile: no FROM instruction"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED, ids=[m[1][:40] for m in MALFORMED])
def test_malformed_dockerfiles_name_their_line(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        plan(parse(text), {}, base_env)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_the_file_name_is_the_one_given() -> None:
    with pytest.raises(InvalidArgument, match=r"^web\.Dockerfile:1: unknown instruction: FORM"):
        parse("FORM busybox\n", "web.Dockerfile")


# -- errors found while planning (substitution, values) ---------------------------------------
PLAN_ERRORS = [
    ("FROM busybox\nWORKDIR ${DIR\n", "Dockerfile:2: WORKDIR: missing '}'"),
    ("FROM busybox\nENV A=${B:?required}\n", "Dockerfile:2: ENV: B: required"),
    ("FROM busybox\nEXPOSE http\n", "Dockerfile:2: EXPOSE: invalid port 'http'"),
    ("FROM busybox\nEXPOSE 99999\n", "Dockerfile:2: EXPOSE: invalid port"),
    ("FROM busybox\nSTOPSIGNAL SIGNOPE\n", "Dockerfile:2: STOPSIGNAL: invalid signal"),
    ("FROM busybox\nCOPY --chmod=rwx a b\n", "Dockerfile:2: COPY: --chmod=rwx"),
    ("ARG IMAGE\nFROM $IMAGE\n", "Dockerfile:2: FROM: '$IMAGE' is empty after substitution"),
    ("FROM nosuchimage\n", "Dockerfile:1: FROM nosuchimage: No such image"),
    ("FROM busybox\nUSER \"unclosed\n", "Dockerfile:2: USER: unmatched double quote"),
]


@pytest.mark.parametrize(("text", "message"), PLAN_ERRORS, ids=[m[1][:40] for m in PLAN_ERRORS])
def test_planning_errors_name_their_line(text: str, message: str) -> None:
    lookup = no_images if "nosuch" in text else base_env
    with pytest.raises(InvalidArgument if "nosuch" not in text else LookupError) as raised:
        plan(parse(text), {}, lookup)
    assert str(raised.value).startswith(message)


def test_unknown_target_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="--target nope: no stage"):
        plan(parse("FROM busybox AS a\n"), {}, base_env, target="nope")


# -- substitution -------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("$A", "1"), ("${A}", "1"), ("${A}x", "1x"), ("$Ax", ""), ("${UNSET}", ""),
    ("${UNSET:-dflt}", "dflt"), ("${EMPTY:-dflt}", "dflt"), ("${EMPTY-dflt}", ""),
    ("${A:+alt}", "alt"), ("${UNSET:+alt}", ""), ("${EMPTY+alt}", "alt"),
    ("${UNSET:-$A and ${B}}", "1 and two"), ("'$A'", "$A"), ('"$A"', "1"), ("\\$A", "$A"),
    ("a\\ b", "a b"), ('"a\\"b"', 'a"b'), ('"\\n"', "\\n"), ("$", "$"), ("cost: 5$", "cost: 5$"),
])
def test_substitution(text: str, expected: str) -> None:
    env = {"A": "1", "B": "two", "EMPTY": ""}
    assert Lexer().word(text, env) == expected


def test_words_split_unquoted_values_only() -> None:
    env = {"FILES": "a.txt  b.txt"}
    assert Lexer().words("$FILES /dest/", env) == ["a.txt", "b.txt", "/dest/"]
    assert Lexer().words('"$FILES" /dest/', env) == ["a.txt  b.txt", "/dest/"]


def test_arg_scoping_follows_docker() -> None:
    text = ("ARG V=global\nARG ONLY_FROM=busybox\nFROM $ONLY_FROM\n"
            "LABEL before=\"[$V]\"\nARG V\nLABEL after=$V\nENV V=env\nARG V=ignored\n"
            "LABEL env_wins=$V\nRUN true\n")
    steps = plan(parse(text), {}, base_env).steps
    assert steps[0].text == "FROM busybox"
    labels = steps[-1].run["Labels"]
    assert labels == {"before": "[]", "after": "global", "env_wins": "env"}
    assert steps[-1].env == ("PATH=/bin", "HOME=/root", "V=env")  # ENV shadows the ARG


def test_build_args_override_defaults_and_unused_ones_are_reported() -> None:
    the_plan = plan(parse("FROM busybox\nARG A=1\nRUN echo $A\n"), {"A": "2", "B": "3"}, base_env)
    run = the_plan.steps[-1]
    assert run.text == "RUN |1 A=2 /bin/sh -c echo $A" and "A=2" in run.env
    assert the_plan.unused_args == ("B",)


def test_metadata_steps_build_the_run_config() -> None:
    text = ("FROM busybox\nENV A=1 B=\"two words\"\nWORKDIR /app\nWORKDIR sub\nUSER 1000:1000\n"
            "EXPOSE 80 53/udp 8000-8001\nVOLUME [\"/data\"]\nLABEL a=b\nSTOPSIGNAL SIGINT\n"
            "SHELL [\"/bin/ash\", \"-eo\"]\nENTRYPOINT exec app\nMAINTAINER me@example.org\n")
    steps = plan(parse(text), {}, base_env).steps
    run = steps[-1].run
    assert run["Env"] == ["PATH=/bin", "HOME=/root", "A=1", "B=two words"]
    assert run["WorkingDir"] == "/app/sub" and run["User"] == "1000:1000"
    assert set(run["ExposedPorts"]) == {"80/tcp", "53/udp", "8000/tcp", "8001/tcp"}
    assert run["Volumes"] == {"/data": {}} and run["Labels"] == {"a": "b"}
    assert run["StopSignal"] == "SIGINT"
    assert run["Entrypoint"] == ["/bin/ash", "-eo", "exec app"]
    assert "Cmd" not in run  # a new ENTRYPOINT drops the base image's Cmd, as in docker
    assert steps[-1].author == "me@example.org"


def test_cmd_after_entrypoint_is_kept() -> None:
    run = plan(parse('FROM busybox\nCMD ["a"]\nENTRYPOINT ["b"]\n'), {}, base_env).steps[-1].run
    assert run["Cmd"] == ["a"] and run["Entrypoint"] == ["b"]


def test_copy_words_are_substituted() -> None:
    step = plan(parse("FROM busybox\nARG SRC=a.txt\nARG U=1\nCOPY --chown=$U:2 ${SRC} /d/\n"),
                {}, base_env).steps[-1]
    assert step.sources == ("a.txt",) and step.dest == "/d/" and step.chown == "1:2"
    assert step.text == "COPY --chown=1:2 a.txt /d/"


def test_steps_are_numbered_across_stages_up_to_the_target() -> None:
    text = "FROM busybox AS a\nRUN one\nFROM a AS b\nRUN two\nFROM busybox AS c\nRUN three\n"
    the_plan = plan(parse(text), {}, base_env, target="b")
    assert [s.number for s in the_plan.steps] == [1, 2, 3, 4]
    assert the_plan.stages[1].base_stage == 0
