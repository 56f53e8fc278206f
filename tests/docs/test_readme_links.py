"""The README's links into the repository (docs/, bench/, examples/) lead somewhere: the
docs site checks the links between its pages (``mkdocs build --strict``), not the README's."""

from __future__ import annotations

import re

from tests.docs.samples import ROOT


def slug(heading: str) -> str:
    """A heading's anchor as GitHub and MkDocs make it."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"\s+", "-", text)


def test_the_readme_links_lead_to_files_and_headings() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    local = [link for link in links if not re.match(r"[a-z]+:", link) and link[0] != "#"]
    assert len(local) > 10
    for link in local:
        path, _, anchor = link.partition("#")
        target = ROOT / path
        assert target.exists(), f"README links to {link}: no such file"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", target.read_text(), re.M)
            assert anchor in {slug(h) for h in headings}, f"README links to {link}: no heading"
