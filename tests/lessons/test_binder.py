"""The Binder environment, built from ``binder/`` alone, runs a lesson.

repo2docker copies the repository, installs ``binder/apt.txt`` with apt and runs
``pip install -r binder/requirements.txt`` from the repository root (a local path there means the
repository). We do the pip part the same way in a fresh virtual environment — with a copy of the
repository, so nothing is written into the checkout — add nbval (Binder's own Jupyter stands in
for it there), and check lesson 1 with its outputs compared.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lessons.helpers import NOTEBOOKS, REPO, nbval, shorten

pytestmark = [pytest.mark.slow, pytest.mark.integration]

LESSON = NOTEBOOKS / "01-what-is-an-image.ipynb"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*")


def copy_repository(target: Path) -> Path:
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, target / name)
    for name in ("minidock_magic", "binder"):
        shutil.copytree(REPO / name, target / name, ignore=IGNORE)
    (target / "notebooks").mkdir()
    for path in (LESSON, NOTEBOOKS / "sanitize.cfg"):
        shutil.copy2(path, target / "notebooks" / path.name)
    return target


def test_binder_requirements_install_and_run_lesson_1(tmp_path):
    repo = copy_repository(tmp_path / "repo")
    for line in (repo / "binder" / "apt.txt").read_text().split("\n"):
        package = line.split("#")[0].strip()
        if package.startswith("fonts-"):  # a font, not a program: fontconfig must know a CJK one
            fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
            assert fonts.strip(), f"{package} from binder/apt.txt is not installed here (no CJK font)"
        elif package:
            tool = {"busybox-static": "busybox", "graphviz": "dot"}.get(package, package)
            assert shutil.which(tool), f"{package} from binder/apt.txt is not installed here"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for command in (["-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
                    ["-m", "pip", "install", "-q", "nbval"]):
        done = subprocess.run([python, *command], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=600, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    where = subprocess.run([python, "-c", "import minidock_magic; print(minidock_magic.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(repo)), where.stdout  # the copy, installed editable

    workdir = tmp_path / "work"
    workdir.mkdir()
    result = nbval([repo / "notebooks" / LESSON.name], workdir, python=python, env=env,
                   sanitize=repo / "notebooks" / "sanitize.cfg")
    report = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode == 0, shorten(report)
