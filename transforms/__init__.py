"""The steps of the graph, one module each: DoFns that call the Beam-free libraries (fetching,
sources, extraction, matching, outputs) and the store, and the composites the graph is made of
(each `expand()` is what a run runs).

    feeds.py         ReadFeeds / ReadFeedsFn   shards -> new feed entries
    archives.py      ReadArchivesFn            + the pages of the shard's WARC files
    pages.py         FetchPagesFn              entries -> fetched pages
    articles.py      ExtractArticlesFn         pages -> articles
    stories.py       AssignStoriesFn           articles -> story records
    article_work.py  ArticleWork               the four above as one ParDo (Chain)
    sinks.py         WriteOutputs              story records, dead letters -> every sink; OncePerStory
    plain.py         ReadFeedEntries, ...      the steps on plain records, for a user's own pipeline
    stage.py         StageFn                   what the DoFns share: busy time, the store, per-process objects
    options.py       RunOptions                what a run was asked to do
"""
