"""Which isolation a lesson's containers got, so a lesson never claims what this host cannot show.

Under ``namespaces`` (root) and ``rootless`` (a user namespace) a container has its own PID, UTS,
network and mount namespaces. Under ``proot`` (a pod without user namespaces: Binder, many
JupyterHubs) it has a changed root and nothing else: ``ps`` lists the host's processes,
``hostname`` is the host's. Lessons ask here, and say so instead of pretending.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

NAMESPACED = frozenset({"namespaces", "rootless"})


def host_isolation() -> str:
    """What a container gets here when nobody chooses: ``namespaces``, ``rootless``, ``proot``
    or ``none``."""
    from ..runtime import probe_host
    chosen = probe_host().default_isolation()
    return chosen.value if chosen is not None else "none"


def container_isolation(config: Any) -> str:
    """The isolation of one container (its ``--isolation``, else the host's default)."""
    return getattr(config, "isolation", "") or host_isolation()


def has_namespaces(isolation: str) -> bool:
    """
    >>> has_namespaces("rootless"), has_namespaces("proot")
    (True, False)
    """
    return isolation in NAMESPACED


# -- cells that only a namespaced host can show --------------------------------------------------

#: One line, removed by the ``[proot-label]`` sanitizer of ``notebooks/sanitize.cfg``: what
#: follows it is then compared with what the namespaced host that built the lesson printed.
LABEL = {"en": "[{isolation}: no PID, UTS or network namespaces on this host — "
               "what a namespaced host prints, recorded:]",
         "zh": "[{isolation}：这台机器上没有 PID、UTS 和网络命名空间——以下是在有命名空间的机器上记录的输出：]"}
RECORDED = Path(__file__).with_name("recorded.json")


def recorded(lang: str, key: str) -> list[dict[str, Any]]:
    """The outputs a namespaced host gave for cell ``key`` (``build.py`` records them)."""
    try:
        return json.loads(RECORDED.read_text(encoding="utf-8")).get(f"{lang}:{key}", [])
    except (OSError, ValueError):
        return []


def replay(outputs: list[dict[str, Any]]) -> None:
    """Show saved notebook outputs as if the cell had made them (streams and rich data)."""
    from IPython.display import display
    for output in outputs:
        if output.get("output_type") == "stream":
            stream = sys.stderr if output.get("name") == "stderr" else sys.stdout
            stream.write("".join(output.get("text", "")))
            stream.flush()
        elif "data" in output:
            display({k: "".join(v) if isinstance(v, list) else v for k, v in output["data"].items()},
                    raw=True)


def namespaced_cell(shell: Any, line: str, cell: str) -> None:
    """``%%namespaced KEY``: run the cell where containers have namespaces; elsewhere say so in
    one line and show what a namespaced host printed, labelled — never the host's own processes,
    host name or interfaces passed off as the container's.

    ``%%namespaced KEY --run``: a cell the lesson needs run everywhere (it stops and starts a
    container) but whose output only a namespaced host gets right (``stop``'s 137 is PID 1's
    answer, and under proot the program is not PID 1): it runs, and its output is replaced.
    """
    from .checker import current_language
    key, *flags = line.split()
    isolation = host_isolation()
    if has_namespaces(isolation):
        shell.run_cell(cell, store_history=False)
        return
    if "--run" in flags:
        from IPython.utils.capture import capture_output
        with capture_output():
            shell.run_cell(cell, store_history=False)
    outputs = recorded(current_language(), key)
    if outputs:
        print(LABEL[current_language()].format(isolation=isolation))
        replay(outputs)
