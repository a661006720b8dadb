"""The examples of README.md and docs/*.md, as the test suite runs them (CONTRIBUTING.md,
"Examples in the docs", has the rules).

A page's examples run in order in one namespace, as a reader would type them one after the
other. `python -m docs_examples PAGE REDIS_URL` runs one page's (the test does, in a process of
its own, so that a hanging example can be killed).
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

RUN = "python"  # the language tag of examples that are run
PARSED = "json"  # examples that are data: each must parse
SHOWN = ("console", "text")  # commands and output: shown, never run
SETUP = "example setup"  # <!-- example setup ... -->: Python run, not shown
NOT_RUN = "example not run:"  # <!-- example not run: REASON --> before a block

_BLOCK = re.compile(
    r"(?:<!-- (?P<not_run>example not run: [^\n]*?) -->\n)?"
    r"^(?P<indent> *)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```"
    r"|<!-- example setup\n(?P<setup>.*?)-->",
    re.S | re.M,
)
_URL = re.compile(r"redis://[\w.-]+:\d+(?:/\d+)?")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of its first line of code
    lang: str  # "python" for a setup
    code: str
    not_run: str | None = None  # the reason given

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for match in _BLOCK.finditer(text):
        key = "setup" if match.group("setup") is not None else "body"
        line = text.count("\n", 0, match.start(key)) + 1
        if key == "setup":
            found.append(Block(page, line, RUN, match.group("setup")))
            continue
        indent = len(match.group("indent"))
        code = "".join(row[indent:] for row in match.group("body").splitlines(keepends=True))
        found.append(Block(page, line, match.group("lang"), code, match.group("not_run")))
    return found


def unrun_coroutines(code: str) -> list[str]:
    """Top-level `async def` functions the block never calls: an asyncio example that defines
    main() and never runs it."""
    tree = ast.parse(code)
    defined = [node.name for node in tree.body if isinstance(node, ast.AsyncFunctionDef)]
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    return [name for name in defined if name not in called]


def run_page(page: Path, redis_url: str) -> None:
    """Run the page's Python examples in order in one namespace, every redis://HOST:PORT URL
    in them pointed at `redis_url`."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    for block in blocks(page):
        if block.lang != RUN or block.not_run:
            continue
        code = _URL.sub(redis_url, block.code)
        compiled = compile("\n" * (block.line - 1) + code, str(block.page), "exec")
        print(f"running {block.where}", file=sys.stderr, flush=True)
        exec(compiled, namespace)


if __name__ == "__main__":
    run_page(Path(sys.argv[1]), sys.argv[2])
