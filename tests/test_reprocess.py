"""`newsbeam reprocess`: stored articles read again from the run's captures with today's
extraction; exactly the records a changed setting affects are refiled, and again nothing."""

from __future__ import annotations

from newsbeam.extraction.settings import ExtractSettings
from newsbeam.matching.settings import MatchSettings
from newsbeam.pipeline.cli import main
from newsbeam.pipeline.reprocess import reprocess
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
