"""Commands on a JSON Lines corpus, one record a line, with the pipeline's own code:
`newsbeam dedup` (story and event ids for any articles)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

from pipeline.inputs import UniqueIds, json_lines, string_fields
from pipeline.where import open_output
from state.store import open_store


def dedup(args: argparse.Namespace) -> int:
    from matching.dedup import dedup_records
    from matching.encoders import load_encoder
    from matching.features import Fingerprinter
    from matching.story_index import StoryIndex

    with contextlib.ExitStack() as stack:
        records = stack.enter_context(json_lines(args.input, _article_record(UniqueIds())))
        store_url = args.store
        if store_url is None:
            store_url = os.path.join(stack.enter_context(tempfile.TemporaryDirectory()), "dedup.db")
        store = open_store(store_url)
        stack.callback(store.close)
        index = StoryIndex(store, Fingerprinter(load_encoder(args.encoder)))
        with open_output(args.output, store_url) as out:
            for line in dedup_records(records(), index):
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        if args.store:
            index.vectors.save()
    return 0


def _article_record(unique_ids: UniqueIds) -> Callable[[dict[str, Any], str], dict[str, Any]]:
    """The check of one `dedup` input line: an article with an id, its fields strings."""
    def check(record: dict[str, Any], where: str) -> dict[str, Any]:
        unique_ids(record, where)
        string_fields(record, where, ("title", "text", "language", "url", "published"))
        return record

    return check
