"""Documentation search: sections, ranking, plain-text snippets and queries that must not raise."""

from pathlib import Path

import pytest

from voice_agent.docs_search import DocsIndex, fts_query, get_index, split_sections

REPO_DOCS = Path(__file__).resolve().parents[2] / "docs"

DEPLOY = """\
# Deploying

Build the images and start the stack with `docker compose up -d`.

## Rotating the API secret

To rotate the **API secret**, generate a new secret, update the
[configuration](configuration.md) and restart every service.

| Variable | Meaning |
|----------|---------|
| `LIVEKIT_API_SECRET` | the *shared* secret |

```bash
# not a heading: a comment inside a code block
openssl rand -base64 32
```
"""

BILLING = """\
# Billing

## Invoices

Invoices are sent on the first day of each month. A missing invoice is usually
in the spam folder.
"""

WEBHOOKS_HEADING = """\
## Webhooks

The server posts events to your endpoint.
"""

WEBHOOKS_BODY = """\
## Events

The server posts webhooks events to your endpoint.
"""


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "guides").mkdir()
    (tmp_path / "deploy.md").write_text(DEPLOY)
    (tmp_path / "guides" / "billing.md").write_text(BILLING)
    (tmp_path / "hooks.md").write_text(WEBHOOKS_HEADING)
    (tmp_path / "events.md").write_text(WEBHOOKS_BODY)
    (tmp_path / "notes.txt").write_text("rotate the secret: not markdown, not indexed")
    return tmp_path


def test_sections_split_by_heading_and_code_blocks_are_not_headings():
    sections = split_sections("deploy.md", DEPLOY)

    assert [s.heading for s in sections] == ["Deploying", "Rotating the API secret"]
    assert "openssl rand" in sections[1].text
    assert "not a heading" in sections[1].text


def test_every_markdown_file_is_indexed_recursively(docs):
    hits = DocsIndex.build(docs).search("invoice spam")

    assert hits[0].source == "guides/billing.md"
    assert hits[0].heading == "Invoices"
    rotate = DocsIndex.build(docs).search("rotate")
    assert {hit.source for hit in rotate} == {"deploy.md"}, "notes.txt is not markdown"


def test_the_right_section_ranks_first(docs):
    hits = DocsIndex.build(docs).search("how do I rotate the secret?")

    assert (hits[0].source, hits[0].heading) == ("deploy.md", "Rotating the API secret")
    assert hits[0].score > 0
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_a_match_in_a_heading_outweighs_one_in_the_body(docs):
    hits = DocsIndex.build(docs).search("webhooks")

    assert [hit.source for hit in hits[:2]] == ["hooks.md", "events.md"]


def test_snippets_are_plain_text(docs):
    index = DocsIndex.build(docs)
    queries = ("rotate secret", "variable meaning", "openssl")
    snippets = [hit.snippet for query in queries for hit in index.search(query)]

    assert snippets
    for snippet in snippets:
        for markup in ("**", "`", "](", "[", "|", "#", "\n"):
            assert markup not in snippet, (markup, snippet)
    rotate = index.search("rotate secret")[0].snippet
    assert "update the configuration and restart" in rotate
    assert "LIVEKIT_API_SECRET; the shared secret" in rotate


def test_snippets_are_about_thirty_words(docs):
    long_doc = "# Long\n\n" + " ".join(f"word{i}" for i in range(300)) + " needle " + "tail " * 300
    (docs / "long.md").write_text(long_doc)

    snippet = DocsIndex.build(docs).search("needle")[0].snippet

    assert "needle" in snippet
    assert 20 <= len(snippet.split()) <= 32


ODD_QUERIES = ['what\'s "AND" -', "", "   ", '"', "*", "-", "^", "NEAR(a b)", "col:val"]
ODD_QUERIES += ["AND OR NOT", "_", "😀 日本語", "x" * 5000, "(((", "'; DROP TABLE sections; --"]


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_queries_never_raise(docs, query):
    hits = DocsIndex.build(docs).search(query)

    assert isinstance(hits, list)


def test_queries_without_words_find_nothing(docs):
    index = DocsIndex.build(docs)

    assert index.search("") == []
    assert index.search("  -- * ") == []
    assert index.search("secret", limit=0) == []


def test_query_words_are_quoted_and_stop_words_dropped():
    assert fts_query('what\'s the "AND" of NEAR(x)') == '"near" OR "x"'
    assert fts_query("what is it") == '"what" OR "is" OR "it"'  # only stop words: keep them


def test_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        DocsIndex.build(tmp_path / "nope")


def test_the_index_is_built_once_per_folder(docs):
    assert get_index(docs) is get_index(docs / "guides" / "..")


def test_the_repository_docs_answer_about_webhook_signatures():
    index = get_index(REPO_DOCS)

    hits = index.search("webhook signature")

    assert len(index) > 10
    assert hits[0].source in {"architecture.md", "troubleshooting.md"}
    assert "signature" in hits[0].snippet.lower()
