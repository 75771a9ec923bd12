"""The stages of the graph, one module each: a composite `beam.PTransform` whose `expand()`
names its DoFns, and DoFns that call the Beam-free libraries (fetching, sources, extraction,
matching, outputs) and the store.

    feeds.py     ReadFeeds        shards -> new feed entries
    pages.py     FetchPages       entries -> fetched pages
    articles.py  ExtractArticles  pages -> articles
    stories.py   AssignStories    articles -> story records
    sinks.py     WriteOutputs     story records, dead letters -> every sink; OncePerStory
    fused.py     Fused            stages run as one ParDo (for runners that do not fuse)
    stage.py     StageFn          what the DoFns share: busy time, the store, per-process objects
    options.py   RunOptions       what a run was asked to do
"""
