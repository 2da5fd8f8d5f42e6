"""Write every lesson notebook from its source, then execute it so its outputs are the real ones.

    python3 notebooks/_authoring/build.py              # all lessons, all editions, executed
    python3 notebooks/_authoring/build.py 04 07        # only lessons 04 and 07
    python3 notebooks/_authoring/build.py --no-execute # write the cells only

Four editions per lesson: ``notebooks/NN-slug.ipynb`` (English), ``notebooks/solutions/``,
``notebooks/zh/`` and ``notebooks/zh/solutions/``. Outputs are made the way the tests compare
them (``tests/lessons``): this checkout's package on ``PYTHONPATH`` and lesson homes in a temporary
``MINIDOCK_LESSONS_DIR``. Needs ``nbclient`` (``pip install nbclient``), only for authoring.
"""

from __future__ import annotations

import argparse
import json
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent
sys.path.insert(0, str(HERE))

from cells import Cell

EDITIONS = {  # (language, solutions) -> directory under notebooks/
    ("en", False): NOTEBOOKS,
    ("en", True): NOTEBOOKS / "solutions",
    ("zh", False): NOTEBOOKS / "zh",
    ("zh", True): NOTEBOOKS / "zh" / "solutions",
}
IGNORE_MARK = "# NBVAL_IGNORE_OUTPUT"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook(cells: list[Cell], lang: str, solutions: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    if lang == "zh":
        nb.metadata["language"] = "zh"
    for index, cell in enumerate(cells):
        source = cell.source(lang, solutions)
        tags = []
        if source.startswith(IGNORE_MARK):  # nbval reads the tag; a student need not see the marker
            source, tags = source.removeprefix(IGNORE_MARK).lstrip("\n"), ["nbval-ignore-output"]
        made = (nbformat.v4.new_markdown_cell if cell.kind == "markdown" else nbformat.v4.new_code_cell)(source)
        made["id"] = f"cell-{index:03d}"
        if tags:
            made.metadata["tags"] = tags
        nb.cells.append(made)
    return nb


def tidy_paths(nb: nbformat.NotebookNode, scratch: str) -> None:
    """Saved outputs show lesson homes under ``~/minidock-lessons``, not the author's temp dir
    (``notebooks/sanitize.cfg`` compares homes by lesson number, wherever they are)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = output["text"].replace(scratch, "~/minidock-lessons")
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and mime.startswith("text/"):
                    output["data"][mime] = value.replace(scratch, "~/minidock-lessons")
    if "widgets" in nb.metadata:  # the saved widget state: what nbviewer and GitHub draw
        state = json.dumps(nb.metadata["widgets"]).replace(scratch, "~/minidock-lessons")
        nb.metadata["widgets"] = json.loads(state)


def execute(nb: nbformat.NotebookNode, where: Path) -> None:
    from nbclient import NotebookClient
    client = NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False,
                            store_widget_state=True, resources={"metadata": {"path": str(where)}})
    client.execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata["language_info"] = {"name": "python"}  # not the author's Python version
    tidy_paths(nb, os.environ["MINIDOCK_LESSONS_DIR"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    parser.add_argument("--no-execute", action="store_true")
    parser.add_argument("--lang", choices=["en", "zh"], help="only this language")
    args = parser.parse_args()
    # the kernels import this checkout's package, whatever else is installed
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NOTEBOOKS.parent),
                                                              os.environ.get("PYTHONPATH")]))
    scratch = None
    if "MINIDOCK_LESSONS_DIR" not in os.environ:
        scratch = tempfile.TemporaryDirectory(prefix="minidock-lessons-", ignore_cleanup_errors=True)
        os.environ["MINIDOCK_LESSONS_DIR"] = scratch.name
    try:
        write_all(args)
    finally:
        if scratch is not None:
            scratch.cleanup()


def write_all(args: argparse.Namespace) -> None:
    for source in sorted(HERE.glob("lesson[0-9][0-9].py")):
        lesson = load(source)
        if args.lessons and lesson.NUMBER not in args.lessons:
            continue
        for (lang, solutions), directory in EDITIONS.items():
            if args.lang and lang != args.lang:
                continue
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{lesson.NUMBER}-{lesson.SLUG}.ipynb"
            nb = notebook(lesson.CELLS, lang, solutions)
            started = time.monotonic()
            if not args.no_execute:
                execute(nb, directory)
                record_namespaced(nb, lang)  # solutions too: an exercise's answer may need it
            nbformat.write(nb, path)
            print(f"{path.relative_to(NOTEBOOKS)}  {time.monotonic() - started:.1f}s", flush=True)


RECORDED = NOTEBOOKS.parent / "minidock_magic" / "lessons" / "recorded.json"


def record_namespaced(nb: nbformat.NotebookNode, lang: str) -> None:
    """Keep what each ``%%namespaced KEY`` cell printed here, for hosts without namespaces to show
    (labelled) instead of their own processes; only a namespaced build may record."""
    import json
    from minidock_magic.lessons.backend import has_namespaces, host_isolation
    if not has_namespaces(host_isolation()):
        print(f"not recording %%namespaced outputs: this host has {host_isolation()}, not namespaces")
        return
    saved = json.loads(RECORDED.read_text(encoding="utf-8")) if RECORDED.exists() else {}
    for cell in nb.cells:
        first = cell.source.split("\n", 1)[0]
        if cell.cell_type == "code" and first.startswith("%%namespaced "):
            saved[f"{lang}:{first.split()[1]}"] = [
                {k: v for k, v in output.items() if k != "execution_count"} for output in cell.outputs]
    RECORDED.write_text(json.dumps(saved, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                        encoding="utf-8")


if __name__ == "__main__":
    main()
