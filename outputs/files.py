"""The file sinks: JSON Lines and Parquet."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from typing import Any

from newsbeam.outputs.paths import create_new, output_folder, replaced
from newsbeam.schemas import arrow_row, arrow_schema


def json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def write_parquet(records: Iterable[dict[str, Any]], path: str, protect: tuple[str, ...] = (),
                  batch: int = 5000) -> int:
    """Story records to one Parquet file, written whole (streamed in row groups of `batch`).
    Returns how many."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema("story")
    count = 0
    with replaced(path, "wb", protect) as handle, pq.ParquetWriter(handle, schema) as writer:
        rows: list[dict[str, Any]] = []
        for record in records:
            rows.append(arrow_row(record, "story"))
            if len(rows) >= batch:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                count, rows = count + len(rows), []
        if rows or not count:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            count += len(rows)
    return count


class FileSinks:
    """A run's files in the output folder, per worker: `stories/<run>-<worker>.jsonl` and
    `dead_letters/<run>-<worker>.jsonl` (appended, made durable batch by batch, opened on the
    first record: a run that changed nothing writes none), `stories/<run>-<batch>.parquet`."""

    def __init__(self, output_dir: str, run_id: str, jsonl: bool, parquet: bool):
        self.output_dir, self.run_id = output_dir, run_id
        self.jsonl, self.parquet = jsonl, parquet
        self.worker = uuid.uuid4().hex[:12]
        self.files: dict[str, int] = {}  # kind -> file descriptor

    def close(self) -> None:
        for fd in self.files.values():
            os.close(fd)
        self.files = {}

    def write(self, stories: list[dict[str, Any]], dead_letters: list[dict[str, Any]]) -> None:
        if stories and self.jsonl:
            self.append("stories", stories)
        if dead_letters:
            self.append("dead_letters", dead_letters)
        if stories and self.parquet:
            folder = output_folder(self.output_dir, "stories")
            write_parquet(stories, str(folder / f"{self.run_id}-{uuid.uuid4().hex[:12]}.parquet"))

    def append(self, kind: str, records: Iterable[dict[str, Any]]) -> None:
        """Append whole lines and make them durable, or nothing: a write cut short (a full
        disk) is taken back, so a reader never meets half a line."""
        fd = self.files.get(kind)
        if fd is None:
            folder = output_folder(self.output_dir, kind)
            fd = self.files[kind] = create_new(folder / f"{self.run_id}-{self.worker}.jsonl", append=True)
        data = "".join(json_line(record) + "\n" for record in records).encode("utf-8")
        end = os.lseek(fd, 0, os.SEEK_END)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, end)
            raise
