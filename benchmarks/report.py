"""The generated part of RESULTS.md, from ``results.json``: ``python -m benchmarks.report JSON [MD]``.

``python -m benchmarks --json benchmarks/results.json --results benchmarks/RESULTS.md`` measures
and writes both; this module alone re-renders the table from a JSON already written. Only the
text between the two markers below is replaced; the analysis around it is written by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .harness import Row, markdown_table

BEGIN = "<!-- BEGIN GENERATED: python -m benchmarks.report; edits here are overwritten -->"
END = "<!-- END GENERATED -->"


def render(results: dict[str, Any]) -> str:
    """Command, wall time per benchmark, the table, the machine and the peers, as printed."""
    durations: dict[str, float] = results.get("durations", {})
    lines = [f"Command: `{results.get('command', 'python -m benchmarks')}`  ",
             f"Total wall time: {results.get('total_seconds', sum(durations.values())):.0f} s ("
             + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in durations.items()) + ")",
             "", markdown_table([Row.from_json(row) for row in results["rows"]]), ""]
    facts: dict[str, str] = results.get("facts", {})
    lines.append("Machine: " + "; ".join(f"{k}: {v}" for k, v in facts.items()) + "  ")
    peers: dict[str, str] = results.get("peers", {})
    if peers:
        lines.append("Peers: " + "; ".join(f"{k}: {v}" for k, v in peers.items()))
    return "\n".join(lines)


def splice(document: str, generated: str) -> str:
    """``document`` with the text between the markers replaced (markers added at the top if
    missing).

    >>> splice("# T\\n" + BEGIN + "\\nold\\n" + END + "\\nmore", "new") == (
    ...     "# T\\n" + BEGIN + "\\nnew\\n" + END + "\\nmore")
    True
    >>> splice("# T\\n\\nprose", "new").startswith("# T\\n\\n" + BEGIN + "\\nnew\\n" + END)
    True
    """
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return f"{head}{BEGIN}\n{generated}\n{END}{tail}"
    title, _, body = document.partition("\n\n")
    return f"{title}\n\n{BEGIN}\n{generated}\n{END}\n\n{body}"


def update(markdown: Path, results: dict[str, Any]) -> None:
    text = markdown.read_text() if markdown.exists() else "# Benchmarks\n\n"
    markdown.write_text(splice(text, render(results)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__)
    parser.add_argument("json", type=Path, help="results written by python -m benchmarks --json")
    parser.add_argument("markdown", type=Path, nargs="?",
                        help="rewrite the generated part of this file (else print it)")
    args = parser.parse_args(argv)
    results = json.loads(args.json.read_text())
    if args.markdown is None:
        print(render(results))
    else:
        update(args.markdown, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
