"""An article its publisher edits in place: one story, and each earlier version kept with what
changed and a diff a reader can follow (`stories show --revisions`, the API)."""

from __future__ import annotations

import json

import requests

from newsbeam.pipeline.cli import main
from newsbeam.state.revisions import text_diff
from tests.conftest import RUN_ARGS, latest_stories
from tests.test_serve import start_server

PARAGRAPHS = [
    "Lindenau's council approved the new ferry timetable on Tuesday evening after a long debate.",
    "Ferries will run every twenty minutes between the harbour and the east bank from March.",
    "The operator said two more boats would be bought to keep up with the timetable.",
    "Residents of the east bank had asked for more crossings for years, the mayor said.",
    "The first ferry of the day will leave the harbour at half past five in the morning.",
]


def page(headline: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html><head><title>{headline}</title><meta property='og:title' content='{headline}'></head>"
            f"<body><article><h1>{headline}</h1>{body}</article></body></html>").encode()


def feed(base: str, updated: str) -> bytes:
    return (f"<feed xmlns='http://www.w3.org/2005/Atom'><title>Harbour news</title><updated>{updated}</updated>"
            f"<entry><title>Ferry timetable</title><id>urn:ferry</id><link href='{base}ferry.html'/>"
            f"<updated>{updated}</updated><published>2026-12-07T08:00:00Z</published></entry></feed>").encode()


def test_an_edit_the_feed_announces_is_a_revision_with_its_diff(site, tmp_path, capsys):
    base, current = site.base_url, {}
    site.routes["/ferry.html"] = lambda h: h.send_body(200, current["page"])
    site.routes["/harbour.atom"] = lambda h: h.send_body(200, current["feed"], "application/atom+xml")
    current.update(page=page("Council approves ferry timetable", PARAGRAPHS),
                   feed=feed(base, "2026-12-07T08:00:00Z"))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {base}harbour.atom\n")
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    (first,) = latest_stories(out).values()
    assert first["revisions"] == 0 and first["revised"] is None

    edited = [PARAGRAPHS[0], PARAGRAPHS[1].replace("twenty", "fifteen"), *PARAGRAPHS[2:],
              "Correction: an earlier version of this report gave the wrong interval between ferries."]
    current.update(page=page("Council approves new ferry timetable", edited), feed=feed(base, "2026-12-07T10:00:00Z"))
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    (story,) = latest_stories(out).values()
    assert story["story_id"] == first["story_id"] and story["title"] == "Council approves new ferry timetable"
    assert story["revisions"] == 1 and story["revised"] and story["variants"][0]["revisions"] == 1

    (kept,) = [json.loads(line) for path in (out / "revisions").glob("*.jsonl")
               for line in path.read_text().splitlines()]
    assert kept["title"] == "Council approves ferry timetable" and kept["changed"] == ["title", "text"]
    capsys.readouterr()
    assert main(["stories", "list", "--output", str(out), "--headline-changed", "--json"]) == 0
    assert [json.loads(line)["story_id"] for line in capsys.readouterr().out.splitlines()] == [story["story_id"]]
    assert main(["stories", "show", story["story_id"], "--output", str(out), "--revisions"]) == 0
    shown = capsys.readouterr().out
    assert "revision 1 replaced: title, text changed" in shown
    assert "headline was: Council approves ferry timetable" in shown
    assert "[-twenty-] {+fifteen+}" in shown and "+ Correction: an earlier version" in shown
    assert main(["report", "--output", str(out), "--since", "30d", "-o", str(tmp_path / "report.html")]) == 0
    report = (tmp_path / "report.html").read_text()
    assert "1 earlier version" in report and "<ins>{+fifteen+}</ins>" in report

    process, api = start_server("--output", str(out))
    try:
        answer = requests.get(f"{api}/api/stories/{story['story_id']}/revisions", timeout=30).json()
        history = requests.get(f"{api}/stories/{story['story_id']}", timeout=30).text
    finally:
        process.terminate()
        process.wait(timeout=30)
    (revision,) = answer["revisions"]
    assert "1 earlier version" in history and "<del>[-twenty-]</del>" in history and "<ins>{+fifteen+}</ins>" in history
    assert revision["title"] == "Council approves ferry timetable" and revision["changed"] == ["title", "text"]

    # read again unchanged (the feed says nothing new): no revision
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    summary = json.loads(sorted(out.glob("summary-*.json"))[-1].read_text())
    assert summary["stories_updated"] == 0


def test_a_text_diff_reads_without_colour():
    before = "First paragraph stays.\nThe ferry runs every twenty minutes.\nA paragraph that goes."
    after = "First paragraph stays.\nThe ferry runs every fifteen minutes.\nA new closing line."
    assert text_diff(before, after) == ("~ The ferry runs every [-twenty-] {+fifteen+} minutes.\n"
                                        "~ A [-paragraph that goes.-] {+new closing line.+}")
    assert text_diff("a\nb", "a\nb\nc") == "+ c"


def test_an_edit_the_feed_does_not_announce_is_found_by_looking_again(site, tmp_path):
    """The feed never changes; the page is edited in place. When its next look is due (made due
    here: the first is an hour after filing), the page is asked with its validators: changed, a
    revision; unchanged, a 304 and no revision, and the next look twice as far off."""
    import sqlite3

    base, current = site.base_url, {"page": page("Council approves ferry timetable", PARAGRAPHS)}

    def serve_page(handler) -> None:
        etag = f'"{hash(current["page"]) & 0xFFFFFF:x}"'
        if handler.headers.get("If-None-Match") == etag:
            handler.send_body(304, b"", headers={"ETag": etag})
        else:
            handler.send_body(200, current["page"], headers={"ETag": etag})

    site.routes["/ferry.html"] = serve_page
    site.routes["/harbour.atom"] = lambda h: h.send_body(200, feed(base, "2026-12-07T08:00:00Z"),
                                                         "application/atom+xml")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {base}harbour.atom\n")
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0

    def make_due() -> str:
        with sqlite3.connect(out / "state.db") as db:
            db.execute("UPDATE articles SET next_check = '2000-01-01T00:00:00+00:00'")
            return db.execute("SELECT checks FROM articles").fetchone()[0]

    def last_summary() -> dict:
        return json.loads(sorted(out.glob("summary-*.json"))[-1].read_text())

    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    assert "rechecks_due" not in last_summary()  # not due yet: the first look is an hour off
    make_due()
    current["page"] = page("Council approves new ferry timetable",
                           [*PARAGRAPHS, "Correction: an earlier version gave the wrong interval."])
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    assert last_summary()["rechecks_due"] == 1 and last_summary()["stories_updated"] == 1
    (story,) = latest_stories(out).values()
    assert story["revisions"] == 1 and story["title"] == "Council approves new ferry timetable"

    checks_before = make_due()
    asked = len(site.requests)
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    summary = last_summary()
    assert summary["rechecks_not_modified"] == 1 and summary["stories_updated"] == 0
    assert any(headers.get("If-None-Match") for path, headers in site.requests[asked:] if path == "/ferry.html")
    (story,) = latest_stories(out).values()
    assert story["revisions"] == 1
    with sqlite3.connect(out / "state.db") as db:
        checks, due = db.execute("SELECT checks, next_check FROM articles").fetchone()
    assert checks == checks_before + 1 and due > "2026"
