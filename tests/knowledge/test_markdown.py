"""Real wikis are messy: every shape below must come out as sensible sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.files import MAX_BYTES, UnreadableRunbook, read_runbook
from bot.knowledge.markdown import parse_runbook
from bot.knowledge.slug import Slugger, slugify


def headings(text: str, file: str = "page.md") -> list[tuple[int, str, str]]:
    return [(s.level, s.heading, s.anchor) for s in parse_runbook(text, file)]


def test_sections_are_leaves_with_breadcrumbs_text_and_verbatim_code():
    text = """# Ganeti

## Rebalancing a cluster

Run the balancer:

```
hbal -L -C -v -p
hbal -L -X
```

### HDD restrictions

Use `--ignore-soft-errors` **carefully**, see [the man page](https://example.org/hbal).
"""
    sections = parse_runbook(text, "howto/ganeti.md")
    rebalance, restrictions = sections[1], sections[2]
    assert rebalance.breadcrumbs == "Ganeti › Rebalancing a cluster"
    assert rebalance.code == ("hbal -L -C -v -p\nhbal -L -X",)
    assert rebalance.text == "Run the balancer:"
    assert "HDD restrictions" not in rebalance.text  # sub-sections are separate leaves
    assert restrictions.trail == ("Ganeti", "Rebalancing a cluster")
    assert restrictions.text == "Use --ignore-soft-errors carefully, see the man page."
    assert restrictions.page == "howto/ganeti"


def test_headings_keep_their_markup_and_anchors_follow_gitlab():
    assert headings("## The `gnt-node` command\n\n## What's N+1? (really)\n") == [
        (2, "The `gnt-node` command", "the-gnt-node-command"),
        (2, "What's N+1? (really)", "whats-n1-really"),
    ]


def test_duplicate_headings_get_numbered_anchors_like_gitlab():
    text = "## Troubleshooting\n\nx\n\n## Troubleshooting\n\ny\n\n## Troubleshooting\n\nz\n"
    assert [a for _, _, a in headings(text)] == ["troubleshooting", "troubleshooting-1", "troubleshooting-2"]
    slugger = Slugger()
    assert [slugger.anchor("A - B"), slugger.anchor("A  B")] == ["a-b", "a-b-1"]
    assert slugify("  Évacuer un nœud  ") == "évacuer-un-nœud"


def test_front_matter_toc_directives_and_comments_are_not_content():
    text = """---
title: Ganeti
tags: [ops]
---
[[_TOC_]]
[[!toc levels=2]]

<!-- TODO: rewrite this page -->

# Real heading

Body.
"""
    sections = parse_runbook(text, "p.md")
    assert [(s.heading, s.text) for s in sections] == [("Real heading", "Body.")]


def test_setext_headings_indented_code_and_tables():
    text = """Node failure
============

Check the node:

    gnt-node list
    gnt-cluster verify

| command | effect |
|---------|--------|
| `gnt-node migrate` | moves primaries |

Sub part
--------
text
"""
    sections = parse_runbook(text, "p.md")
    assert [(s.level, s.heading) for s in sections] == [(1, "Node failure"), (2, "Sub part")]
    assert sections[0].code == ("gnt-node list\ngnt-cluster verify",)
    assert "gnt-node migrate" in sections[0].text and "moves primaries" in sections[0].text


def test_a_page_without_headings_is_one_section_named_after_the_file():
    sections = parse_runbook("Just a note about `gnt-cluster verify`.\n", "notes/quick-tips.mdwn")
    assert len(sections) == 1
    assert (sections[0].heading, sections[0].anchor, sections[0].level) == ("quick-tips", "", 0)


def test_text_before_the_first_heading_is_kept_as_the_page_intro():
    sections = parse_runbook("Intro text.\n\n# First\n\nBody\n", "ganeti.md")
    assert [(s.heading, s.text) for s in sections] == [("ganeti", "Intro text."), ("First", "Body")]


def test_binary_and_huge_files_are_refused_and_bad_utf8_is_repaired(tmp_path):
    binary = tmp_path / "image.md"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    with pytest.raises(UnreadableRunbook, match="binary"):
        read_runbook(binary)
    huge = tmp_path / "huge.md"
    huge.write_bytes(b"a" * (MAX_BYTES + 1))
    with pytest.raises(UnreadableRunbook, match="limit"):
        read_runbook(huge)
    latin = tmp_path / "latin.md"
    latin.write_bytes(b"# Caf\xe9\n\nok\n")
    assert parse_runbook(read_runbook(latin).text, "latin.md")[0].heading == "Caf\ufffd"


def test_broken_markdown_never_crashes():
    nasty = "```\nunclosed fence\n# not a heading\n" + "[" * 500 + "\n> > > quote\n|a|\n|-|\n"
    sections = parse_runbook(nasty, "broken.md")
    assert sections and "not a heading" in sections[0].code[0]


SHARED = Path(__file__).resolve().parents[3] / "shared" / "corpus"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/corpus is not present on this machine")
def test_the_shared_corpus_parses_into_sections_with_unique_anchors():
    for path in SHARED.rglob("*.md"):
        sections = parse_runbook(read_runbook(path).text, path.name)
        anchors = [s.anchor for s in sections if s.anchor]
        assert len(anchors) == len(set(anchors)), path
        assert all(s.heading for s in sections), path
