"""What newsbeam writes for its users: JSON Lines and Parquet files, and the tables of the
database sinks. Beam-free; written so that a reader never meets half a record and no file is
written through a link.

- `files`: `FileSinks` (a run's files), `write_jsonl`/`write_parquet` (whole files, replaced
  atomically), `json_line`.
- `tables`: `SinkTables`, the database sinks' tables, upserted by id.
- `paths`: creating and replacing files safely (no links followed, unpredictable names).
"""

# Where stories can go (--sink).
SINKS = ("jsonl", "parquet", "sqlite", "postgres")
