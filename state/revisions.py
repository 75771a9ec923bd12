"""Revisions: an article its publisher edited in place keeps each earlier version, with which
of its fields changed and a diff of its text a reader can follow without colour.

The article's row holds its current version; each row of `article_revisions` one version it
replaced (`revision` 1 is the first filed), when it was replaced, the fields that changed and
the diff from it to the version after it."""

from __future__ import annotations

import difflib
import json
from typing import Any

from newsbeam.state.database import Connection, Database, transactional

# The fields of an article whose change is a revision (a page read again unchanged is none).
REVISED_FIELDS = ("title", "kicker", "authors", "text")


def text_diff(before: str, after: str) -> str:
    """Paragraph by paragraph: "- " a paragraph taken out, "+ " one added, "~ " one changed,
    with its words marked [-taken out-] and {+put in+}; unchanged paragraphs left out."""
    old, new = before.split("\n"), after.split("\n")
    lines = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            lines += ["~ " + _word_diff(a, b) for a, b in zip(old[i1:i2], new[j1:j2], strict=True)]
            continue
        lines += ["- " + line for line in old[i1:i2]] + ["+ " + line for line in new[j1:j2]]
    return "\n".join(lines)


def _word_diff(before: str, after: str) -> str:
    old, new = before.split(), after.split()
    words = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            words += old[i1:i2]
            continue
        if i2 > i1:
            words.append("[-" + " ".join(old[i1:i2]) + "-]")
        if j2 > j1:
            words.append("{+" + " ".join(new[j1:j2]) + "+}")
    return " ".join(words)


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [name for name in REVISED_FIELDS if (before.get(name) or "") != (after.get(name) or "")]


class Revisions:
    def __init__(self, db: Database):
        self.db = db

    @transactional
    def keep(self, tx: Connection, before: dict[str, Any], after: dict[str, Any], at: str, run_id: str) -> bool:
        """Keep `before` (an article row) as a revision replaced by `after` at `at` by the run
        `run_id`, when a field a reader sees changed; True when it did."""
        changed = changed_fields(before, after)
        if not changed:
            return False
        number = tx.execute("SELECT COUNT(*) FROM article_revisions WHERE url = ?", (before["url"],)).one()[0] + 1
        diff = text_diff(before["text"] or "", after["text"] or "") if "text" in changed else ""
        tx.execute("INSERT INTO article_revisions (url, revision, story_id, replaced_at, title, kicker, authors, text, "
                   "changed, diff, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (before["url"], number, before["story_id"], at, before["title"], before["kicker"],
                    before["authors"], before["text"], json.dumps(changed), diff, run_id))
        tx.execute("UPDATE articles SET revisions = ?, revised = ? WHERE url = ?", (number, at, before["url"]))
        return True

    def of_run(self, run_id: str) -> list[dict[str, Any]]:
        """The versions the run's edits replaced, oldest first."""
        rows = self.db.read().execute(
            "SELECT url, revision, story_id, replaced_at, title, kicker, authors, text, changed, diff "
            "FROM article_revisions WHERE run_id = ? ORDER BY replaced_at, url, revision", (run_id,))
        return [_record(row) for row in rows]

    def of_story(self, story_id: str) -> list[dict[str, Any]]:
        """Each earlier version of the story's articles, oldest first: its fields, when it was
        replaced, what changed and the text's diff to the next version."""
        rows = self.db.read().execute(
            "SELECT url, revision, replaced_at, title, kicker, authors, text, changed, diff FROM article_revisions "
            "WHERE story_id = ? ORDER BY replaced_at, url, revision", (story_id,))
        return [_record(row) for row in rows]


def _record(row: Any) -> dict[str, Any]:
    """A revision as the sinks, the API and `stories show` give it."""
    return {**dict(row), "authors": json.loads(row["authors"] or "[]"), "changed": json.loads(row["changed"])}
