"""Every example of README.md and docs/*.md runs (against a private Redis), so none can rot:
Python blocks are run in order, one namespace a page; JSON blocks must parse; console blocks
are commands and output, shown only (CONTRIBUTING.md, "Examples in the docs")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from docs_examples import NOT_RUN, PAGES, PARSED, RUN, SHOWN, blocks, unrun_coroutines

SECONDS_PER_BLOCK = 20  # a bound, far above what any example takes
EVERY = [block for page in PAGES for block in blocks(page)]
RUN_PAGES = [page for page in PAGES if any(b.lang == RUN and not b.not_run for b in blocks(page))]


@pytest.mark.parametrize("page", RUN_PAGES, ids=lambda page: page.name)
def test_the_python_examples_of_a_page_run(page, private_redis, tmp_path):
    server = private_redis()
    count = sum(block.lang == RUN for block in blocks(page))
    result = subprocess.run(
        [sys.executable, "-m", "docs_examples", str(page), server.url],
        capture_output=True,
        text=True,
        timeout=SECONDS_PER_BLOCK * count,
        cwd=tmp_path,  # what an example writes (a store, an export) lands there
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert result.returncode == 0, result.stderr


def test_every_block_has_a_language_the_rules_know():
    unknown = [b.where for b in EVERY if b.lang not in (RUN, PARSED, *SHOWN)]
    assert not unknown, f"blocks with no or an unknown language tag: {unknown}"


def test_a_block_not_run_says_why():
    assert all(len(b.not_run) > len(NOT_RUN) + 3 for b in EVERY if b.not_run)
    assert sum(bool(b.not_run) for b in EVERY) <= 2  # the exception, not the rule


@pytest.mark.parametrize("block", [b for b in EVERY if b.lang == PARSED], ids=lambda b: b.where)
def test_json_examples_parse(block):
    json.loads(block.code)


@pytest.mark.parametrize("block", [b for b in EVERY if b.lang == RUN], ids=lambda b: b.where)
def test_an_asyncio_example_runs_what_it_defines(block):
    assert not unrun_coroutines(block.code), f"{block.where} defines a coroutine it never runs"
