"""newsbeam: RSS/Atom and web-archive ingestion on Apache Beam that merges the variants of each story.

The repository's top-level folders are this package's subpackages (setup.py maps them):
`newsbeam.pipeline`, `newsbeam.transforms`, `newsbeam.schemas`, `newsbeam.state`, and the
Beam-free libraries `newsbeam.fetching`, `newsbeam.sources`, `newsbeam.extraction`,
`newsbeam.matching`, `newsbeam.outputs`.
"""
