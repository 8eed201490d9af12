"""Full-text search over the project's markdown documentation, for the agent's docs tool.

`DocsIndex.build(folder)` splits every `*.md` file under `folder` into heading sections, turns
each into plain text (no markdown markup to be read aloud) and indexes them in an in-memory
SQLite FTS5 table (`porter unicode61` tokenizer). `search` ranks sections with bm25, a match in a
heading counting `HEADING_WEIGHT` times one in the body, and answers ~30-word snippets.
`get_index(folder)` builds once per process and folder.
"""

import re
import sqlite3
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HEADING_WEIGHT = 5.0
SNIPPET_WORDS = 30

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_HTML_TAG = re.compile(
    r"</?(a|b|i|em|strong|br|hr|p|div|span|img|sub|sup|kbd|code|pre|details|summary)\b[^>]*>", re.I
)
_LINE_PREFIX = re.compile(r"^\s*(>\s*)*([-*+]\s+|\d+[.)]\s+)?")
_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # image -> its alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # link -> its text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference link -> its text
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),  # autolink -> the URL
    (_HTML_TAG, ""),  # HTML tags, but not placeholders such as <key>
    (re.compile(r"`+"), ""),  # code spans keep their text
    (re.compile(r"\*+|~~|(?<!\w)_+|_+(?!\w)"), ""),  # emphasis; snake_case stays
    (re.compile(r"[|^#]+|-{2,}>?|<-{2,}|={2,}>?"), " "),  # table pipes, comments, ASCII art
    (re.compile(r"\s+"), " "),
]
_WORD = re.compile(r"\w+")
_STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it me my of on or our "
    "s should that the this to was what when where which who why will with you your".split()
)


@dataclass(frozen=True)
class DocHit:
    source: str  # the file, relative to the indexed folder, e.g. "troubleshooting.md"
    heading: str  # the section's heading ("" for text before the first heading)
    snippet: str  # plain text, about SNIPPET_WORDS words
    score: float  # bm25 relevance, higher is better


@dataclass(frozen=True)
class Section:
    source: str
    heading: str
    text: str


class DocsIndex:
    """An in-memory FTS5 index of markdown sections; safe to search from several threads."""

    def __init__(self, sections: list[Section]) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE VIRTUAL TABLE sections USING fts5("
            "source UNINDEXED, heading, body, tokenize = 'porter unicode61')"
        )
        self._db.executemany(
            "INSERT INTO sections (source, heading, body) VALUES (?, ?, ?)",
            [(s.source, s.heading, s.text) for s in sections],
        )
        self._size = len(sections)

    def __len__(self) -> int:
        """The number of sections indexed."""
        return self._size

    @classmethod
    def build(cls, folder: Path) -> "DocsIndex":
        """Index every `*.md` under `folder`, recursively; a missing folder is an error."""
        if not folder.is_dir():
            raise FileNotFoundError(f"documentation folder not found: {folder}")
        sections: list[Section] = []
        for path in sorted(folder.rglob("*.md")):
            source = path.relative_to(folder).as_posix()
            sections += split_sections(source, path.read_text(encoding="utf-8", errors="replace"))
        return cls(sections)

    def search(self, query: str, limit: int = 3) -> list[DocHit]:
        """The `limit` best sections for the query's words; [] when it has none."""
        match = fts_query(query)
        if not match or limit < 1:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT source, heading, snippet(sections, 2, '', '', '...', ?),"
                " bm25(sections, 0.0, ?, 1.0) AS rank"
                " FROM sections WHERE sections MATCH ? ORDER BY rank LIMIT ?",
                (SNIPPET_WORDS, HEADING_WEIGHT, match, limit),
            ).fetchall()
        return [
            DocHit(source, heading, " ".join(snippet.split()), -rank)
            for source, heading, snippet, rank in rows
        ]


@cache
def _cached_index(folder: Path) -> DocsIndex:
    return DocsIndex.build(folder)


def get_index(folder: Path) -> DocsIndex:
    """The index of `folder`, built on first use and kept for the life of the process."""
    return _cached_index(folder.resolve())


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query: each quoted (no operators), any of them matching.

    Stop words are dropped unless they are all there is.
    """
    words = list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))
    kept = [word for word in words if word not in _STOP_WORDS] or words
    return " OR ".join(f'"{word}"' for word in kept)


def split_sections(source: str, markdown: str) -> list[Section]:
    """The document's sections (text under each heading) as plain text; empty ones left out."""
    sections: list[Section] = []
    heading, in_code = "", False
    body: list[str] = []
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_code = not in_code
            continue
        found = None if in_code else _HEADING.match(line)
        if found:
            sections.append(Section(source, heading, plain_text("\n".join(body))))
            heading, body = plain_text(found.group(2)), []
        elif in_code:
            body.append(line)
        elif not _TABLE_RULE.match(line):
            body.append(
                _table_row(line) if line.lstrip().startswith("|") else _LINE_PREFIX.sub("", line)
            )
    sections.append(Section(source, heading, plain_text("\n".join(body))))
    return [section for section in sections if section.text]


def _table_row(line: str) -> str:
    """A table row as a sentence: its cells joined by semicolons."""
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    row = "; ".join(cell for cell in cells if cell)
    return row if row.endswith((".", "!", "?")) else row + "."


def plain_text(markdown: str) -> str:
    """Markdown inline markup removed, whitespace collapsed: text fit to be read aloud."""
    text = markdown
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text.strip()
