"""The documentation is executable: every page's Python examples run, and every hook is documented.

Each ```python block of a page runs in order in one namespace per page, as a reader
would paste them into a fresh interpreter. Code is compiled against the page's own
file name and line numbers, so a failing example points at the line of the page.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

import leadlife.engine
from leadlife.plugins import get_plugin_manager

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.md"))
# The README's example is the first code a user runs: it is held to the same checks.
READABLE = [DOCS.parent / "README.md", *PAGES]
CONCEPT_PAGES = {
    "index.md",
    "stages.md",
    "events.md",
    "lead.md",
    "rulebook.md",
    "scoring.md",
    "plugins.md",
    "time.md",
    "routing.md",
    "architecture.md",
    "cli.md",
    "features.md",
    "inferred.md",
    "preparing-data.md",
    "model-scorer.md",
    "training.md",
}
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
HOOK_HEADING = re.compile(r"^## (leadlife_\w+)[ \t]*$", re.MULTILINE)
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*$", re.MULTILINE)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """``(first_line, code)`` of each ```python block, first_line counted from 1."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def anchors(page: Path) -> set[str]:
    """The anchors a Markdown renderer gives the page's headings (GitHub's rule)."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in HEADING.findall(text)
    }


def hook_names() -> list[str]:
    """Every ``leadlife_*`` hook the plugin manager knows."""
    pm = get_plugin_manager(load_entrypoints=False)
    return sorted(name for name in vars(pm.hook) if name.startswith("leadlife_"))


def _wall_clock() -> datetime:
    raise AssertionError("a docs example read the wall clock; give the engine a FixedClock")


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Docs run on the built-in plugins and never the wall clock; os.environ is restored."""
    monkeypatch.setattr(leadlife.engine, "system_clock", _wall_clock)
    saved = dict(os.environ)
    os.environ["LEADLIFE_PLUGINS"] = ""
    os.environ.pop("LEADLIFE_TRACE_HOOKS", None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_every_concept_has_a_page() -> None:
    """docs/ holds one page per concept, each with at least one Python example."""
    names = {page.name for page in PAGES}
    assert names >= CONCEPT_PAGES, f"missing pages: {sorted(CONCEPT_PAGES - names)}"
    empty = [page.name for page in PAGES if not python_blocks(page)]
    assert not empty, f"pages without a ```python example: {empty}"


@pytest.mark.usefixtures("clean_environ")
@pytest.mark.parametrize("page", READABLE, ids=[page.name for page in READABLE])
def test_page_examples_run(page: Path) -> None:
    """Every ```python block of the page runs in order, in one shared namespace, without error."""
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    for first_line, code in python_blocks(page):
        # Pad with blank lines so tracebacks name the page's own line numbers.
        compiled = compile("\n" * (first_line - 1) + code, str(page), "exec")
        exec(compiled, namespace)


def test_every_hook_has_one_heading_in_plugins_page() -> None:
    """docs/plugins.md has one `## leadlife_<name>` heading per hook, and none for other names."""
    headings = Counter(HOOK_HEADING.findall((DOCS / "plugins.md").read_text(encoding="utf-8")))
    hooks = hook_names()
    assert hooks, "the plugin manager lists no leadlife_* hooks"
    missing = [name for name in hooks if name not in headings]
    repeated = sorted(name for name, count in headings.items() if count > 1)
    unknown = sorted(set(headings) - set(hooks))
    assert not missing, f"hooks without a heading in docs/plugins.md: {missing}"
    assert not repeated, f"hooks with more than one heading: {repeated}"
    assert not unknown, f"headings for hooks that do not exist: {unknown}"


@pytest.mark.parametrize("page", READABLE, ids=[page.name for page in READABLE])
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link on the page points at a file that exists, and at a heading in it."""
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        path, _, anchor = target.partition("#")
        linked = page if not path else page.parent / path
        if not linked.exists() or (
            anchor and linked.suffix == ".md" and anchor not in anchors(linked)
        ):
            broken.append(target)
    assert not broken, f"broken links in {page.name}: {broken}"
