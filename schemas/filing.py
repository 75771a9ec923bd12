"""`Filing`: what the story decision (matching.story_index) asks the store to change for one
article, applied in the writer's transaction (state.stories.StoryTables.file, or the in-memory
index). The decision reads; only the filing writes."""

from __future__ import annotations

import dataclasses

from newsbeam.schemas.records import Article

HOWS = ("new", "variant", "updated", "unchanged")


@dataclasses.dataclass(frozen=True)
class Filing:
    article: Article
    # "new" (a story of its own), "variant" (joins story_id), "updated" (its URL was filed
    # before and the page changed: the row is rewritten) or "unchanged" (nothing to write)
    how: str
    story_id: str
    # The event the story is in before any merge (a new story is created in it), and the
    # article's event once filed: `event_id`, into which the `merged_events` are moved.
    story_event: str
    event_id: str
    merged_events: tuple[str, ...] = ()
    # The article's fingerprint as the store keeps it: body hash, int8 document and sentence
    # vectors, the numbers its compared sentences give.
    body_hash: str = ""
    vector: bytes = b""
    sentences: bytes | None = None
    numbers: str = ""
    # Sentence vectors computed for other (filed) articles while deciding: kept for next time.
    computed_sentences: tuple[tuple[str, bytes], ...] = ()
    # An update is a publisher's edit, whose earlier version is kept as a revision; a page read
    # again by newer extraction (`newsbeam reprocess`) is no edit, and keeps none.
    edit: bool = True
    # The article becomes its story's original (matching.originals decides): the story's
    # headline, text and language are then its.
    original: bool = False
    # The story the article leaves ("new" or "variant" of an article filed before: read again by
    # newer extraction, it is no longer its story's variant, matching.story_index.regroup). Its
    # row moves as it is; the story it leaves keeps its other variants, or is left empty.
    moved_from: str = ""
    # The originals of the stories a move changes, (story, url), decided among their variants.
    originals: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.how not in HOWS:
            raise ValueError(f"unknown filing {self.how!r}")
