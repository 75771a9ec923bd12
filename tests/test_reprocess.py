"""`newsbeam reprocess`: stored articles read again from the run's captures with today's
extraction; exactly the records a changed setting affects are refiled, and again nothing."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from newsbeam.extraction.settings import ExtractSettings
from newsbeam.matching.settings import MatchSettings
from newsbeam.pipeline.cli import main
from newsbeam.pipeline.reprocess import reprocess
from newsbeam.state.store import open_store
from tests.conftest import RUN_ARGS, latest_stories, write_feeds_file

BODY = ["Der Stadtrat von Lindenau hat am Dienstag den neuen Fahrplan der Hafenfähre beschlossen.",
        "Von März an fahren die Fähren alle zwanzig Minuten zwischen Hafen und Ostufer.",
        "Der Betreiber will dafür zwei weitere Boote kaufen, sagte eine Sprecherin am Abend.",
        "Anwohner des Ostufers hatten seit Jahren mehr Verbindungen über den Fluss gefordert.",
        "Mit Material von dpa und epd."]


def test_reprocess_refiles_exactly_what_a_changed_setting_affects(site, tmp_path, capsys):
    body = "".join(f"<p>{line}</p>" for line in BODY)
    (site.folder / "kurier" / "faehre.html").write_text(
        f"<html lang='de'><head><title>Neuer Fährplan</title>"
        # a date without a time: the record says so (published_date_only), and reads so again
        f"<meta property='article:published_time' content='2026-12-07'></head>"
        f"<body><article><h1>Neuer Fahrplan für die "
        f"Hafenfähre</h1>{body}</article></body></html>", encoding="utf-8")
    items = "".join(f"<item><title>{title}</title><link>{site.base_url}{path}</link></item>" for title, path in (
        ("Neuer Fahrplan für die Hafenfähre", "kurier/faehre.html"),
        ("Lindenau baut eine Seilbahn", "kurier/seilbahn-beschlossen.html")))
    (site.folder / "extra.rss").write_text(f"<rss version='2.0'><channel><title>K</title>{items}</channel></rss>",
                                           encoding="utf-8")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "extra.rss",
                                                       site.base_url + "feeds/herald.rss"])
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), "--encoder", "hashing", *RUN_ARGS]) == 0
    before = latest_stories(out)
    (ferry,) = [s for s in before.values() if "Hafenfähre" in s["title"]]
    assert "Mit Material" not in ferry["text"]  # a source line at the end is no part of the article
    assert ferry["published_date_only"] and ferry["published"].startswith("2026-12-07")

    # the same code and settings: nothing changes (the same captures give the same records)
    assert main(["reprocess", "--output", str(out), "--encoder", "hashing", "--dry-run"]) == 0
    assert "0 articles would change" in capsys.readouterr().out

    # a setting that keeps source lines: exactly the page that has one changes, in its text
    store, captures = f"sqlite:///{out / 'state.db'}", str(out / "captures")
    keep_trailers = ExtractSettings(trailer_max_chars=0)
    done = reprocess(store, captures, str(out), ("jsonl",), keep_trailers, MatchSettings(encoder="hashing"))
    assert done["articles_changed"] == 1 and done["fields"] == {"text": 1} and done["stories_written"] == 1
    after = latest_stories(out)
    refiled = after[ferry["story_id"]]
    assert refiled["text"].endswith("Mit Material von dpa und epd.") and refiled["revisions"] == 0
    assert {sid: s["text"] for sid, s in after.items() if sid != ferry["story_id"]} == {
        sid: s["text"] for sid, s in before.items() if sid != ferry["story_id"]}
    again = reprocess(store, captures, str(out), ("jsonl",), keep_trailers, MatchSettings(encoder="hashing"))
    assert again["articles_changed"] == 0  # a second reprocess changes nothing


@pytest.mark.slow
def test_a_reprocess_killed_half_way_and_run_again_leaves_every_page_in_one_story(site, tmp_path):
    """SIGKILL once some stories are refiled and before the sinks are written; the rerun
    refiles the rest and writes what the killed one filed: every page in exactly one story,
    every story as today's settings read it."""
    towns = ["Lindenau", "Ostufer", "Hafenstadt", "Birkhain", "Mühlbach", "Seedorf", "Waldheim", "Felsberg"]
    pages = 160  # five chunks of refiling: time to be killed between the first and the last
    (site.folder / "many").mkdir()
    for n in range(pages):
        town, other = towns[n % 8], towns[(n // 8) % 8]
        lines = [f"Der Gemeinderat von {town} hat am {n % 28 + 1}. März über Vorlage {n} abgestimmt.",
                 f"Die Vorlage {n} betrifft {n * 7 + 3} Wohnungen an der Straße nach {other}.",
                 f"Bürgermeisterin Nummer {n} sagte, die Kosten lägen bei {n * 13 + 100} Tausend Euro.",
                 "Mit Material von dpa."]
        (site.folder / "many" / f"p{n}.html").write_text(
            f"<html lang='de'><head><title>Vorlage {n} in {town}</title></head><body><article>"
            f"<h1>Vorlage {n} in {town}</h1>{''.join(f'<p>{line}</p>' for line in lines)}</article></body></html>",
            encoding="utf-8")
    items = "".join(f"<item><title>Vorlage {n} in {towns[n % 8]}</title><link>{site.base_url}many/p{n}.html</link>"
                    f"</item>" for n in range(pages))
    (site.folder / "many.rss").write_text(f"<rss version='2.0'><channel><title>M</title>{items}</channel></rss>",
                                          encoding="utf-8")
    out = tmp_path / "out"
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "many.rss"])
    assert main(["run", "--feeds", str(feeds), "--output", str(out), "--encoder", "hashing", *RUN_ARGS]) == 0
    assert sum(len(s["variants"]) for s in latest_stories(out).values()) == pages

    store, captures = f"sqlite:///{out / 'state.db'}", str(out / "captures")
    call = (f"from newsbeam.pipeline.reprocess import reprocess; from newsbeam.extraction.settings import "
            f"ExtractSettings; from newsbeam.matching.settings import MatchSettings; reprocess({store!r}, "
            f"{captures!r}, {str(out)!r}, ('jsonl',), ExtractSettings(trailer_max_chars=0), "
            f"MatchSettings(encoder='hashing'))")
    process = subprocess.Popen([sys.executable, "-c", call])
    refiled = 0
    while process.poll() is None and not refiled:
        with sqlite3.connect(out / "state.db") as db:
            refiled = db.execute("SELECT COUNT(*) FROM stories WHERE last_run LIKE '%-reprocess'").fetchone()[0]
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 0 < refiled < pages, "killed half-way"

    done = reprocess(store, captures, str(out), ("jsonl",), ExtractSettings(trailer_max_chars=0),
                     MatchSettings(encoder="hashing"))
    assert done["articles_changed"] == pages - refiled
    stories = latest_stories(out)
    urls = [variant["url"] for story in stories.values() for variant in story["variants"]]
    assert len(urls) == len(set(urls)) == pages
    assert all(story["text"].endswith("Mit Material von dpa.") for story in stories.values())
    assert open_store(store).stories.pending() == []


# A box the Lindenau paper prints inside every article; an older extraction took it for text.
BOX = ["Der Lindenauer Kurier erscheint seit 1948 an sechs Tagen der Woche in der Stadt und im Umland.",
       "Unsere Redaktion arbeitet unabhängig von Parteien, Verbänden und Anzeigenkunden der Region.",
       "Leserbriefe erreichen die Redaktion über das Formular auf der Seite Kontakt oder per Post.",
       "Das Abonnement kann jederzeit zum Monatsende gekündigt werden, auch online im Kundenkonto.",
       "Für unverlangt eingesandte Manuskripte und Fotos übernimmt der Verlag keine Gewähr.",
       "Alle Rechte an den Texten und Bildern liegen beim Verlag des Lindenauer Kuriers.",
       "Nachdruck und Weitergabe sind nur mit schriftlicher Genehmigung der Redaktion erlaubt."]
REPORTS = {
    "bad": ("Freibad öffnet im Mai", ["Das Freibad am Stadtpark öffnet nach der Sanierung am ersten Mai wieder.",
                                       "Die Stadt hat das Becken für rund zwei Millionen Euro neu fliesen lassen.",
                                       "Der Eintritt steigt für Erwachsene um fünfzig Cent auf vier Euro."]),
    "markt": ("Wochenmarkt zieht um", ["Der Wochenmarkt zieht im Sommer vom Rathausplatz an den Hafen.",
                                        "Die Händler hatten sich über zu wenig Platz für ihre Stände beklagt.",
                                        "Am Hafen gibt es Parkplätze für die Kunden aus den Dörfern im Umland."]),
    "schule": ("Neue Grundschule geplant", ["Im Neubaugebiet Birkhain soll bis 2029 eine Grundschule entstehen.",
                                             "Der Gemeinderat hat dafür ein Grundstück am Waldrand gekauft.",
                                             "Geplant sind vier Züge und eine Turnhalle, die auch die Sportvereine "
                                             "des Viertels nutzen."]),
}


def test_reprocess_takes_an_article_out_of_a_story_its_older_text_joined_it_to(site, tmp_path):
    """Three reports of one paper whose pages carry the paper's box inside the article: read
    without the site's furniture taken out, they are one story (their texts are mostly the box);
    reprocessed with today's extraction each is its own story, the stories they left are written
    again or as removed, and a second reprocess moves nothing."""
    from newsbeam.pipeline.config import load_feeds
    from newsbeam.pipeline.run import run_once
    from tests.conftest import BEAM_ARGS, local_options

    (site.folder / "kurier").mkdir(exist_ok=True)
    feeds = []
    for name, (title, lines) in REPORTS.items():
        body = "".join(f"<p>{line}</p>" for line in [*lines, *BOX])
        (site.folder / "kurier" / f"{name}.html").write_text(
            f"<html lang='de'><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}"
            "</article></body></html>", encoding="utf-8")
        # each report in a feed of its own (a feed lists a report once: two items of one feed
        # are never one story)
        (site.folder / f"{name}.rss").write_text(
            f"<rss version='2.0'><channel><title>{name}</title><item><title>{title}</title>"
            f"<link>{site.base_url}kurier/{name}.html</link></item></channel></rss>", encoding="utf-8")
        feeds.append(site.base_url + f"{name}.rss")
    out = tmp_path / "out"
    store = f"sqlite:///{out / 'state.db'}"
    older = local_options(tmp_path, feeds=load_feeds(write_feeds_file(tmp_path / "feeds.yaml", feeds)).feeds,
                          store_url=store, encoder="hashing", site_furniture_min_pages=1_000_000,
                          beam_args=BEAM_ARGS)
    run_once(older)
    before = latest_stories(out)
    assert [len(story["variants"]) for story in before.values()] == [3]  # one story of three

    done = reprocess(store, str(out / "captures"), str(out), ("jsonl", "sqlite"), ExtractSettings(),
                     MatchSettings(encoder="hashing"))
    assert done["articles_changed"] == 3 and done["articles_moved"] == 2
    after = latest_stories(out)
    live = {sid: story for sid, story in after.items() if not story.get("removed")}
    assert sorted(story["title"] for story in live.values()) == sorted(title for title, _ in REPORTS.values())
    assert all(len(story["variants"]) == 1 and "1948" not in story["text"] for story in live.values())
    (left,) = before
    assert left in live  # the story they left keeps its id, with the variant that stayed
    with sqlite3.connect(out / "stories.db") as db:
        assert sorted(r[0] for r in db.execute("SELECT title FROM newsbeam_stories")) == sorted(
            title for title, _ in REPORTS.values())
    stored = open_store(store)
    assert stored.stories.pending() == [] and stored.stories.emptied() == []
    again = reprocess(store, str(out / "captures"), str(out), ("jsonl",), ExtractSettings(),
                      MatchSettings(encoder="hashing"))
    assert again["articles_changed"] == 0 and again["articles_moved"] == 0
