"""The exercise checker against engines in prepared states: not yet, a hint, then a tick.

Each exercise is driven through the three answers a student meets: untouched (○ not yet), half
done (✘ a hint that says what is missing) and done (✔). The states are made with the same engine
calls the lessons' solutions use.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from minidock_magic.containers.options import RunOptions
from minidock_magic.lessons import (
    CANNOT,
    DONE,
    EXERCISES,
    HINT,
    TODO,
    CheckReport,
    CheckResult,
    Msg,
    check,
    current_language,
    exercise,
    forget_tries,
    use_language,
)
from minidock_magic.lessons.backend import has_namespaces, host_isolation
from minidock_magic.registry import RegistryServer, add_user

pytestmark = pytest.mark.integration  # real containers and a real registry on 127.0.0.1


def run(engine, name, script, image="busybox", **options):
    out, err = io.BytesIO(), io.BytesIO()
    config, code = engine.containers.run(image, RunOptions(command=["sh", "-c", script], name=name,
                                                           **options), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    return config


def commit(engine, name, script, reference, image="busybox", changes=None):
    run(engine, name, script, image)
    image = engine.containers.commit(name, reference, changes=changes or [])
    engine.containers.remove(name)
    return image


def status(exercise_id, engine):
    result = check(exercise_id, engine)
    assert isinstance(result, CheckResult)
    assert result.message and "\n" not in result.message
    return result.status


@pytest.fixture(autouse=True)
def english():
    use_language("en")
    forget_tries()
    yield
    use_language("en")


# -- the checker itself ----------------------------------------------------------------------


def test_every_lesson_has_two_or_three_exercises():
    lessons = {}
    for exercise_id in EXERCISES:
        lessons.setdefault(exercise_id.split(".")[0], []).append(exercise_id)
    assert sorted(lessons) == [str(n) for n in range(1, 10)]
    assert all(2 <= len(ids) <= 3 for ids in lessons.values()), lessons


def test_results_render_as_text_and_html_in_both_languages(busybox_engine):
    todo = check("4.1", busybox_engine)
    assert str(todo).startswith("○ 4.1 Not yet — ") and not todo and not todo.ok
    html = todo._repr_html_()
    assert "<div" in html and "4.1" in html and "Not yet" in html
    chinese = check("4.1", busybox_engine, lang="zh")
    assert str(chinese).startswith("○ 4.1 尚未开始 — ") and "notes" in chinese.message
    use_language("zh")
    assert check("4.1", busybox_engine).lang == "zh"
    assert check("4.1", busybox_engine, lang="en").lang == "en"


def test_language_comes_from_the_environment_unless_chosen(monkeypatch):
    from minidock_magic import i18n
    monkeypatch.setattr(i18n, "_language", None)
    monkeypatch.setenv("MINIDOCK_LANG", "zh_CN.UTF-8")
    assert current_language() == "zh"
    monkeypatch.setenv("MINIDOCK_LANG", "fr")
    assert current_language() == "en"
    with pytest.raises(ValueError):
        use_language("fr")


def test_a_whole_lesson_at_once(busybox_engine):
    report = check("4", busybox_engine)
    assert isinstance(report, CheckReport) and [r.id for r in report] == ["4.1", "4.2"]
    assert not report and str(report).count("\n") == 1
    assert report._repr_html_().count("<div") == 2
    assert [r.id for r in check("04", busybox_engine)] == ["4.1", "4.2"]


def test_an_unknown_exercise_is_one_line_not_an_error(busybox_engine):
    result = check("9.9", busybox_engine)
    assert result.status == "unknown" and "1.1" in result.message and str(result).startswith("? 9.9")


def test_a_store_that_cannot_answer_gives_a_hint(busybox_engine):
    busybox_engine.tag("busybox", "stack:3")
    busybox_engine.rmi("busybox")  # 2.1 compares with busybox, which is gone now
    result = check("2.1", busybox_engine)
    assert result.status == HINT and "bootstrap" in result.message


def test_exercises_register_with_a_decorator(busybox_engine):
    @exercise("0.9", "a test exercise", "测试练习")
    def _always(engine):
        return DONE, Msg("fine", "好")
    try:
        assert str(check("0.9", busybox_engine)) == "✔ 0.9 Done — fine"
        assert check("0.9", busybox_engine, lang="zh").title == "测试练习"
    finally:
        del EXERCISES["0.9"]


def test_check_finds_the_engine_of_the_notebook(busybox_engine):
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "minidock_magic")
    shell.run_line_magic("config", f"DockMagics.home = {str(busybox_engine.home)!r}")
    try:
        run(busybox_engine, "notes", "echo hi > /notes.txt")
        assert check("4.1").status == DONE
    finally:
        shell.run_line_magic("config", "DockMagics.home = ''")


# -- lesson 1 -------------------------------------------------------------------------------


def test_lesson_1(busybox_engine, tmp_path):
    engine = busybox_engine
    assert [status(i, engine) for i in ("1.1", "1.2", "1.3")] == [TODO] * 3
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "hello.txt").write_text("not at the root")
    engine.import_image(empty, "my-rootfs:1")
    assert status("1.1", engine) == HINT
    (empty / "hello.txt").write_text("hello")
    engine.import_image(empty, "my-rootfs:1")
    assert status("1.1", engine) == DONE

    engine.import_image(empty, "my-rootfs:2")
    assert status("1.2", engine) == HINT  # no programs
    rootfs = engine.unpack("busybox", tmp_path / "rootfs2")
    engine.import_image(rootfs, "my-rootfs:2")
    assert "hello.txt" in check("1.2", engine).message and status("1.2", engine) == HINT
    (rootfs / "hello.txt").write_text("hello")
    engine.import_image(rootfs, "my-rootfs:2")
    assert status("1.2", engine) == DONE

    archive = Path(engine.home) / "my-rootfs.tar"
    archive.write_text("not a tar")
    assert status("1.3", engine) == HINT
    with open(archive, "wb") as out:
        engine.save(["my-rootfs:1"], out)
    assert status("1.3", engine) == HINT  # the wrong image
    with open(archive, "wb") as out:
        engine.save(["my-rootfs:2"], out)
    assert status("1.3", engine) == DONE


def test_a_hidden_file_is_not_the_file_an_exercise_asks_for(busybox_engine, tmp_path):
    """Member names lose their ``./`` prefix, not their dots: ``.hello.txt`` is not ``/hello.txt``."""
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / ".hello.txt").write_text("hello")
    busybox_engine.import_image(hidden, "my-rootfs:1")
    assert status("1.1", busybox_engine) == HINT


# -- lesson 2 -------------------------------------------------------------------------------


def test_lesson_2(busybox_engine):
    engine = busybox_engine
    assert status("2.1", engine) == TODO and status("2.2", engine) == TODO
    commit(engine, "a", "echo 1 > /1", "stack:1")
    engine.tag("stack:1", "stack:3")
    assert "1 layer" in check("2.1", engine).message and status("2.1", engine) == HINT
    commit(engine, "b", "echo 2 > /2", "stack:2", image="stack:1")
    commit(engine, "c", "echo 3 > /3", "stack:3", image="stack:2")
    assert status("2.1", engine) == DONE

    commit(engine, "l", "echo left > /side", "left:1")
    assert status("2.2", engine) == HINT  # right:1 missing
    commit(engine, "r", "echo right > /side", "right:1")
    assert "only busybox" in check("2.2", engine).message
    commit(engine, "l", "echo left > /side", "left:1", image="stack:1")
    commit(engine, "r", "echo right > /side", "right:1", image="stack:1")
    assert status("2.2", engine) == DONE


# -- lesson 3 -------------------------------------------------------------------------------


def test_lesson_3_tags_and_digests(busybox_engine):
    engine = busybox_engine
    assert status("3.1", engine) == TODO and status("3.2", engine) == TODO
    commit(engine, "x", "echo 2 > /VERSION", "teaching/busybox:stable")
    assert status("3.1", engine) == HINT
    engine.tag("busybox", "teaching/busybox:stable")
    assert status("3.1", engine) == DONE

    engine.containers.create("busybox", RunOptions(name="pinned"))
    assert "tag" in check("3.2", engine).message and status("3.2", engine) == HINT
    engine.containers.remove("pinned")
    engine.containers.create(f"busybox@{engine.image('busybox').digest}", RunOptions(name="pinned"))
    assert status("3.2", engine) == DONE


def test_lesson_3_repair(busybox_engine):
    engine = busybox_engine
    assert status("3.3", engine) == HINT  # a healthy store, but no note:1 to repair
    note = commit(engine, "w", "echo ten > /note.txt", "note:1")
    archive = Path(engine.home) / "note.tar"
    with open(archive, "wb") as out:
        engine.save(["note:1"], out)
    assert status("3.3", engine) == DONE
    blob = engine.content.path(note.layers[-1].digest)
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 1
    blob.write_bytes(bytes(data))
    assert status("3.3", engine) == TODO
    with open(archive, "rb") as source:  # load without rmi first: the damaged blob stays
        engine.load(source)
    answer = check("3.3", engine)
    assert answer.status == HINT and "never overwrites" in answer.message, answer
    engine.rmi("note:1")
    assert status("3.3", engine) == HINT
    with open(archive, "rb") as source:
        engine.load(source)
    assert status("3.3", engine) == DONE


# -- lesson 4 -------------------------------------------------------------------------------


def test_lesson_4(busybox_engine):
    engine = busybox_engine
    assert status("4.1", engine) == TODO and status("4.2", engine) == TODO
    run(engine, "notes", "echo hi > /other.txt")
    assert status("4.1", engine) == HINT
    engine.containers.remove("notes")
    run(engine, "notes", "echo hi > /notes.txt")
    assert status("4.1", engine) == DONE

    run(engine, "twin1", "echo same > /twin.txt")
    assert status("4.2", engine) == HINT
    run(engine, "twin2", "echo same > /twin.txt")
    assert "same" in check("4.2", engine).message
    engine.containers.remove("twin2")
    run(engine, "twin2", "echo different > /twin.txt")
    assert status("4.2", engine) == DONE


# -- lesson 5 -------------------------------------------------------------------------------


def test_5_1_is_never_ticked_where_there_is_no_uts_namespace(busybox_engine, monkeypatch):
    """Under proot the host name is the machine's: the answer says it cannot be checked (no ✔)."""
    from minidock_magic.lessons import backend
    engine = busybox_engine
    try:
        engine.containers.run("busybox", RunOptions(command=["sleep", "600"], name="server",
                                                    hostname="classroom"), detach=True)
        monkeypatch.setattr(backend, "host_isolation", lambda: "proot")
        answer = check("5.1", engine)
        assert answer.status == CANNOT and not answer
        assert str(answer).startswith("⊘ 5.1 Cannot be checked on this host — ") and "proot" in str(answer)
        assert check("5.1", engine, lang="zh").label == "在这台机器上无法检查"
    finally:
        engine.containers.remove("server", force=True)


def test_lesson_5(busybox_engine):
    engine = busybox_engine
    assert status("5.1", engine) == TODO and status("5.2", engine) == TODO
    try:
        engine.containers.create("busybox", RunOptions(command=["sleep", "600"], name="server",
                                                       hostname="classroom"))
        assert "created" in check("5.1", engine).message
        engine.containers.start("server")
        assert status("5.1", engine) == (DONE if has_namespaces(host_isolation()) else CANNOT)
        engine.containers.remove("server", force=True)
        engine.containers.run("busybox", RunOptions(command=["sleep", "600"], name="server"),
                              detach=True)
        assert "-h classroom" in check("5.1", engine).message
    finally:
        engine.containers.remove("server", force=True)

    config = run(engine, "counter", "echo run >> /count.log")
    assert "starting it again" in check("5.2", engine).message
    assert "%dock start -a counter" in check("5.2", engine).message  # the command on the second try
    engine.containers.start(config.name, attach=True, stdout=io.BytesIO(), stderr=io.BytesIO())
    assert status("5.2", engine) == DONE


# -- lesson 6 -------------------------------------------------------------------------------


def test_lesson_6(busybox_engine):
    engine = busybox_engine
    assert status("6.1", engine) == TODO and status("6.2", engine) == TODO
    commit(engine, "g", "echo 'echo hi' > /greet.sh", "greeter:1")
    assert "still starts sh" in check("6.1", engine).message
    commit(engine, "g", "echo 'echo hi' > /greet.sh", "greeter:1", changes=['CMD ["sh", "/greet.sh"]'])
    assert status("6.1", engine) == DONE

    engine.tag("greeter:1", "greeter:2")
    assert "RUN" in check("6.2", engine).message and status("6.2", engine) == HINT
    from minidock_magic.build.builder import build
    build(engine, None, 'FROM busybox\nRUN echo "echo hi" > /greet.sh\n', tags=["greeter:2"],
          out=io.StringIO())
    assert "CMD" in check("6.2", engine).message
    build(engine, None, 'FROM busybox\nRUN echo "echo hi" > /greet.sh\nCMD ["sh", "/greet.sh"]\n',
          tags=["greeter:2"], out=io.StringIO())
    assert status("6.2", engine) == DONE


# -- lesson 7 -------------------------------------------------------------------------------


@pytest.fixture
def registries(tmp_path):
    accounts = tmp_path / "accounts"
    add_user(accounts, "alice", "alice-secret")
    add_user(accounts, "bob", "bob-secret")
    hub = RegistryServer(tmp_path / "hub", auth_mode="public", htpasswd=accounts).start()
    company = RegistryServer(tmp_path / "company", auth_mode="private", htpasswd=accounts).start()
    yield hub.address, company.address
    hub.stop()
    company.stop()


def test_lesson_7(busybox_engine, registries):
    engine, (hub, company) = busybox_engine, registries
    assert status("7.1", engine) == TODO and status("7.2", engine) == TODO
    engine.tag("busybox", f"{hub}/bob/hello:1")
    assert "log in as bob" in check("7.1", engine).message  # tagged, not pushed
    engine.login(hub, "bob", "bob-secret")
    engine.push(f"{hub}/bob/hello:1", quiet=True)
    assert status("7.1", engine) == DONE

    engine.login(company, "alice", "alice-secret")
    engine.tag("busybox", f"{company}/team/tool:1")
    engine.push(f"{company}/team/tool:1", quiet=True)
    assert status("7.2", engine) == DONE  # logged in, and the registry has it
    engine.logout(company)
    assert "logged in" in check("7.2", engine).message  # the registry refuses to confirm


# -- lesson 8 -------------------------------------------------------------------------------


def test_lesson_8(busybox_engine):
    engine = busybox_engine
    assert status("8.1", engine) == TODO and status("8.2", engine) == TODO
    commit(engine, "h", "echo 'echo hi' > /hello.sh", "hello:1")
    both = Path(engine.home) / "both.tar"
    with open(both, "wb") as out:
        engine.save(["hello:1"], out)
    assert "busybox:latest" in check("8.1", engine).message
    with open(both, "wb") as out:
        engine.save(["busybox", "hello:1"], out)
    assert status("8.1", engine) == DONE

    engine.tag("busybox", "gift:1")
    assert status("8.2", engine) == HINT  # not the gift from the file
    commit(engine, "w", "echo present > /gift.txt", "gift:1")
    assert status("8.2", engine) == DONE


def test_archives_that_are_not_archives(busybox_engine):
    path = Path(busybox_engine.home) / "both.tar"
    with tarfile.open(path, "w") as tar:
        tar.addfile(tarfile.TarInfo("hello.txt"), io.BytesIO(b""))
    assert status("8.1", busybox_engine) == HINT


# -- hints that teach ----------------------------------------------------------------------------


def test_hints_name_the_idea_first_and_the_command_only_on_a_later_try(busybox_engine):
    """A handed-out lesson shows the first answer: no exercise gives its command away there."""
    first = {i: check(i, busybox_engine).message for i in ("1.1", "1.3", "3.1", "3.2", "5.1", "8.1")}
    for exercise_id, message in first.items():
        assert "%dock" not in message, (exercise_id, message)
    again = check("1.1", busybox_engine)
    assert again.message.startswith(first["1.1"]) and "next step: make a directory" in again.message
    assert "%dock import" in again.message
    chinese = check("1.1", busybox_engine, lang="zh")
    assert "下一步" in chinese.message and "%dock import" in chinese.message
    forget_tries()
    assert check("1.1", busybox_engine).message == first["1.1"]
