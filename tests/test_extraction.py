"""Extraction, language detection and normalization of article pages."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from newsbeam.extraction.language import detect_language
from newsbeam.extraction.page import NotAnArticle, article_from_feed, extract_article
from newsbeam.extraction.settings import DEFAULTS, ExtractSettings
from newsbeam.extraction.text import normalize_text, strip_repeated_headline, strip_trailers
from newsbeam.schemas import Article, FeedEntry, FetchedPage, utc_iso
from tests.conftest import DEMO_SITE, FIXTURES


def entry(url: str = "http://news.example/a", **fields) -> FeedEntry:
    values = dict(url=url, link=url, feed_url="http://news.example/feed", feed_name="Example", title="",
                  summary="", published=None, updated=None, language=None)
    values.update(fields)
    return FeedEntry(**values)


def test_extracts_body_and_metadata_from_a_german_page():
    html = (DEMO_SITE / "kurier" / "seilbahn-beschlossen.html").read_bytes()
    article = extract_article(FetchedPage(entry=entry(), url="http://news.example/a", html=html,
                                          content_type="text/html"))
    assert article is not None
    assert article.title == "Lindenau baut eine Seilbahn über den Fluss"
    # the headline is not repeated as the first line; navigation and footer are gone
    assert article.text.startswith("Der Stadtrat von Lindenau")
    assert "Impressum" not in article.text and "Meistgelesen" not in article.text
    assert article.text.endswith("bei der Stadtverwaltung einreichen.")
    assert article.language == "de"
    assert article.authors == ("Greta Lindqvist",)
    assert article.site_name == "Lindenauer Kurier"
    assert article.published == "2026-11-20T08:00:00+00:00"  # the page's article:published_time, to the second
    assert not article.published_date_only
    assert article.body_source == "page"


def test_feed_date_wins_over_the_page_date():
    html = (FIXTURES / "site" / "gazette" / "partner-lindenau-cable-car.html").read_bytes()
    article = extract_article(FetchedPage(entry=entry(published="2026-11-20T14:00:00+00:00"),
                                          url="http://news.example/a", html=html, content_type="text/html"))
    assert article.published == "2026-11-20T14:00:00+00:00"
    assert article.language == "en"
    assert "Subscribe" not in article.text and "More from the valley" not in article.text


def test_page_without_a_body_is_not_an_article():
    html = (FIXTURES / "site" / "broken" / "empty-page.html").read_bytes()
    with pytest.raises(NotAnArticle, match="no article body"):
        extract_article(FetchedPage(entry=entry(), url="http://x/", html=html, content_type="text/html"))


def test_a_page_of_endless_markup_is_refused_before_extraction_and_a_real_page_is_not():
    """Extraction time grows faster than the page: 240,000 short paragraphs would take minutes.
    Such a page is refused by its element count, in microseconds; a real page is far below."""
    endless = b"<html><body>" + b"<p>Short paragraph.</p>" * 240_000 + b"</body></html>"
    with pytest.raises(NotAnArticle, match="page too large to extract"):
        extract_article(FetchedPage(entry=entry(), url="http://x/", html=endless, content_type="text/html"))
    real = (DEMO_SITE / "kurier" / "seilbahn-beschlossen.html").read_bytes()
    assert real.count(b"<") * 20 < DEFAULTS.max_page_elements


def test_article_from_feed_text():
    article = article_from_feed(entry(title="Short", summary="Short\n" + "Die Brücke bleibt bis zum Frühjahr gesperrt, "
                                      "weil der Fluss im Herbst zu hoch stand.", language="de"))
    assert article.body_source == "feed" and article.text.startswith("Die Brücke")
    assert article_from_feed(entry(title="Nothing")) is None


def test_language_detection_is_stable_and_falls_back_for_short_texts():
    text = ("The harbour ferry between Lindenau and the island moves to its winter timetable on Monday, "
            "with boats every forty minutes.")
    assert {detect_language(text, None) for _ in range(5)} == {"en"}
    assert detect_language("Kurz.", "de") == "de"
    assert detect_language("", None) is None


def test_normalize_text():
    assert normalize_text("  Cafe\u0301  au   lait \n\n\n second\tline ") == "Café au lait\nsecond line"


def test_strip_repeated_headline():
    assert strip_repeated_headline("Big News!", "Big news\nBody text.") == "Body text."
    assert strip_repeated_headline("Big News", "Other first line\nBody.") == "Other first line\nBody."


def test_utc_iso():
    assert utc_iso("2026-11-20T10:00:00+02:00") == "2026-11-20T08:00:00+00:00"
    assert utc_iso("2026-11-20") == "2026-11-20T00:00:00+00:00"
    assert utc_iso("yesterday") is None


def test_page_in_a_legacy_encoding_has_no_mojibake():
    html = (DEMO_SITE / "kurier" / "stadtbibliothek-sonntag.html").read_text(encoding="utf-8")
    legacy = html.replace('<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; '
                          'charset=iso-8859-1">').encode("iso-8859-1")
    article = extract_article(FetchedPage(entry=entry(), url="http://news.example/a", html=legacy,
                                          content_type="text/html"))
    assert "Möglich wird das durch einen Förderverein" in article.text
    assert "Ã" not in article.text and "\ufffd" not in article.text


VARIANTS = FIXTURES / "site" / "variants"


@pytest.mark.parametrize("trailer", [
    "Source: Nordstadt Rundschau", "source Lindenau Kurier", "Quelle: dpa", "(Reuters)", "dpa/AFP", "© AFP 2026",
    "Copyright 2026 Harbour Herald", "Mit Material von dpa", "This article was translated automatically.",
    "This story has been machine translated from German.",
    "Dieser Artikel wurde automatisch aus dem Englischen übersetzt.", "Übersetzt aus dem Englischen von Jana Köhler",
    "Reporting by Sam Porter; Editing by Ann Lee", "(Reporting by Sam Porter; Editing by Ann Lee)",
    "Alle Rechte vorbehalten.", "Harbour Herald writers Sam Porter and Ann Lee contributed to this report.",
    "Ann Lee contributed reporting from Vesterholm.", "Additional reporting from PA",
    # an editor's initials, a broadcaster's note of when the report went out
    "(jdo)", "Radio Flussland (jdo/al)", "Sendung: Radio Flussland, 24.04.2026, 15:10 Uhr",
    # the reporter's address
    "Write to Sam Porter at sam.porter@herald.example", "sam.porter@herald.example", "twitter.com/samporter",
    "Reach the reporters on Twitter at https://twitter.com/samporter and https://twitter.com/annlee",
])
def test_source_credit_and_translation_lines_are_dropped_from_the_end(trailer):
    body = "The council met on Monday.\nIt voted for the plan."
    assert strip_trailers(f"{body}\n{trailer}") == body
    assert strip_trailers(f"{body}\n{trailer}\n© 2026 Harbour Herald") == body


def test_the_texts_own_last_sentence_with_a_contact_stays():
    body = "The council met on Monday.\nIt voted for the plan.\nContact the harbour office at 0123 456 789."
    assert strip_trailers(body) == body


def test_a_notice_that_the_story_is_for_members_for_now_leaves_the_end_with_the_title_it_links():
    body = "The council met on Monday.\nIt voted for the plan."
    notice = ("This story is currently available to Harbour Members at the following link:\n"
              "Why the ferry needs a third boat\n"
              "The story will be unlocked and available to all of our readers after 30 days.")
    assert strip_trailers(f"{body}\n{notice}") == body
    # the same words in the text's own sentences stay
    own = f"{body}\nThe harbour's archive is now available to members of the rowing club on Sundays."
    assert strip_trailers(own) == own


@pytest.mark.parametrize("sentence", [
    "Sources close to the council said the vote had been close.",
    "Quelle der Zahlen ist das Statistische Landesamt, das die Daten am Montag in Hannover veröffentlichte.",
    "The source of the river lies in the mountains.",
    "AP exams start in May.",
    "Translated into twelve languages, the novel sold a million copies.",
])
def test_real_sentences_at_the_end_are_kept(sentence):
    body = f"The council met on Monday.\n{sentence}"
    assert strip_trailers(body) == body


@pytest.fixture(scope="module")
def meaning():
    from newsbeam.matching.encoders import Usem3Encoder, meaning_similarity

    return meaning_similarity(Usem3Encoder())


def _extract(path, meaning):
    url = f"http://news.example/{path.name}"
    return extract_article(FetchedPage(entry=entry(url), url=url, html=path.read_bytes(), content_type=None), meaning)


@pytest.mark.parametrize("page, first, last", [
    ("north-harbour-rumours-a.html", "The port authority of North Harbour on Monday rejected reports",
     "to a commission of the state parliament by the end of December."),
    ("north-harbour-arms-rumors-b.html", "North Harbour's port administration on Monday denied reports",
     "to a state parliament commission by the end of December."),
    ("nordhafen-geruechte.html", "Die Hafenverwaltung von Nordhafen hat am Montag",
     "einer Kommission des Landtags vorzulegen."),
])
def test_a_headline_restated_in_other_words_and_the_trailers_are_dropped(meaning, page, first, last):
    """Each English translation repeats the other translation's headline, split over two
    lines ("rumours ... arms sales" under "rumors ... arms deliveries"), and ends with a
    source or translation notice; the German report ends with "Mit Material von dpa"."""
    article = _extract(VARIANTS / page, meaning)
    assert article.text.startswith(first), article.text[:200]
    assert article.text.endswith(last), article.text[-200:]


def test_a_lead_sentence_that_restates_the_headline_is_kept(meaning):
    text = ("The city council approved the new cable car on Thursday evening.\n"
            "Construction is due to start in the spring.")
    assert strip_repeated_headline("Council approves cable car", text, meaning) == text
    assert strip_repeated_headline("Council approves cable car", "Other news entirely\n" + text, meaning) == (
        "Other news entirely\n" + text)


# --- The headline as published, the people who wrote it, the whole body and nothing else ---------
PAGES = FIXTURES / "pages"


def extract_page(name: str, **entry_fields) -> Article:
    url = f"https://news.example/{name}"
    return extract_article(FetchedPage(entry=entry(url, **entry_fields), url=url,
                                       html=(PAGES / f"{name}.html").read_bytes(), content_type=None))


def test_a_page_rendered_by_its_script_takes_its_body_from_the_payload():
    """The markup holds a loading notice only; the article is in __NEXT_DATA__."""
    article = extract_page("nextjs-article")
    assert article.body_source == "page_script"
    assert article.text.startswith("The harbour authority of Lindenau approved")
    assert article.text.endswith("told reporters after the meeting.") and len(article.text.split("\n")) == 6
    assert article.title == "Ferry line to Vesterholm approved"  # og:title without " | Coastal Courier"


def test_headline_authors_and_body_from_a_page_with_its_notices():
    article = extract_page("placeholders")
    assert article.title == "Stadtbibliothek öffnet künftig auch sonntags"
    assert article.authors == ("Greta Lindqvist", "Paul Weber")  # the organisation and "(pw)" are not names
    assert article.site_name == "Lindenauer Kurier"
    assert "Lesen Sie auch" not in article.text and "Externer Inhalt" not in article.text
    assert article.text.count("\n") == 4


def test_a_whole_json_ld_body_decides_which_visible_lines_are_the_article():
    article = extract_page("json-ld-whole")
    assert "Our partners recommend" not in article.text and article.text.count("\n") == 5
    assert article.authors == ("Jonas Weller",)


def test_an_article_cut_into_blocks_by_advertising_is_read_whole():
    """Three blocks of one article class with advertising between them: trafilatura alone
    takes the first; the article is all three, in order, without the advertising."""
    article = extract_page("split-by-ads")
    assert article.text.startswith("LINDENAU — The harbour ferry will run a third boat")
    assert "4.2 million euros" in article.text and article.text.endswith("in the week before Easter.")
    assert "Advertisement" not in article.text and "All rights reserved" not in article.text


def test_a_page_that_carries_its_article_again_hidden_gives_it_once():
    """The visible article and two hidden copies of it for machines (`display:none`, marked
    `itemprop="articleBody"`): trafilatura reads all three; the body is the marked one, once."""
    article = extract_page("hidden-copies")
    assert article.text.startswith("Good morning! This is the news from the valley")
    for sentence in ("that a third boat will run from next spring.", "buses will take the old town route."):
        assert article.text.count(sentence) == 1


def test_paragraphs_set_apart_by_line_breaks_come_once_and_a_repeat_the_page_shows_stays():
    """trafilatura gives `<br>`-separated paragraphs of nested blocks twice; the page shows
    each once. A paragraph the page itself shows twice stays twice."""
    article = extract_page("br-paragraphs")
    paragraphs = article.text.split("\n")
    assert len(paragraphs) == 5 and len(set(paragraphs)) == 5
    assert paragraphs[0].startswith("Der Stadtrat von Lindenau") and paragraphs[-1].endswith("vor Ostern.")
    quote = "„Wir haben lange genug gewartet“, sagte eine Pendlerin am Ostufer, die jeden Morgen mit dem Rad übersetzt."
    page = (f"<html lang='de'><body><article><h1>Drittes Boot</h1><p>{PARAGRAPHS_DE[0]}</p><p>{quote}</p>"
            f"<p>{PARAGRAPHS_DE[1]}</p><p>{quote}</p></article></body></html>")
    url = "https://kurier.example/boot"
    text = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None)).text
    assert text.count(quote) == 2


def test_the_kicker_and_headline_run_into_one_line_above_the_body_leave_it():
    """The page shows its kicker apart from the headline, and the article block opens with both
    in one line ("Neuer Fahrplan: Die Fähre fährt öfter"): the record has them apart, the body
    neither."""
    page = ("<html lang='de'><head><meta property='og:title' content='Neuer Fahrplan: Die Fähre fährt öfter'></head>"
            "<body><header><h1><span class='overline'>Neuer Fahrplan</span> <span>Die Fähre fährt öfter</span></h1>"
            "</header><article><h2>Neuer Fahrplan: Die Fähre fährt öfter</h2>"
            + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS_DE)
            + "<p>Der Betreiber will dafür zwei weitere Boote kaufen, sagte eine Sprecherin am Abend.</p>"
              "</article></body></html>")
    url = "https://kurier.example/faehre"
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None))
    assert (article.title, article.kicker) == ("Die Fähre fährt öfter", "Neuer Fahrplan")
    assert article.text.startswith(PARAGRAPHS_DE[0])


def test_what_the_extractor_puts_above_the_headline_is_not_the_text():
    """trafilatura may give a sidebar's teaser and a promotion first, then the page's headline,
    then the text: what is above the headline is above the article."""
    from newsbeam.extraction.page import _without_page_heading

    teaser = "Night mode is an automatic setting of the new camera, which lets in more light at dusk and dawn."
    text = "\n".join([teaser, "New ferry timetable now available", "Die Fähre fährt öfter", *PARAGRAPHS_DE])
    assert _without_page_heading(text, None, ["Die Fähre fährt öfter"]) == "\n".join(PARAGRAPHS_DE)
    # the headline's words quoted further down the text leave it as it is
    later = "\n".join([*PARAGRAPHS_DE, teaser, teaser, "Die Fähre fährt öfter", PARAGRAPHS_DE[0]])
    assert _without_page_heading(later, None, ["Die Fähre fährt öfter"]) == later


PARAGRAPHS_DE = (
    "Der Gemeinderat von Lindenau hat am Dienstag den neuen Fahrplan der Hafenfähre beschlossen, nach langer Debatte.",
    "Von März an fahren die Fähren alle zwanzig Minuten zwischen dem alten Hafen und dem Ostufer, auch am Sonntag.")


def ferry_article(url: str, top: str = "", head: str = "", **entry_fields) -> Article:
    """The article of a page on the ferry (its headline, `top` under it, then PARAGRAPHS_DE),
    with `head` in its head."""
    page = (f"<html><head>{head}</head><body><article><h1>Ferry gets a third boat</h1>{top}"
            + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS_DE) + "</article></body></html>")
    return extract_article(FetchedPage(entry=entry(url, **entry_fields), url=url, html=page, content_type=None))


def test_the_byline_and_the_authors_bio_leave_the_body_and_the_names_in_its_sentences_stay():
    from newsbeam.extraction.bodies import without_author_lines

    article = ["Der Gemeinderat von Lindenau hat am Dienstag den neuen Fahrplan der Hafenfähre beschlossen.",
               "Greta Lindqvist, die Sprecherin der Fähre, sagte, die Boote führen nun alle zwanzig Minuten.",
               "Die Anwohner des Ostufers hatten seit Jahren mehr Verbindungen gefordert."]
    text = "\n".join(["von Greta Lindqvist und Paul Weber", *article,
                      "Paul Weber ist Reporter im Hafenbüro des Kuriers und schreibt über Verkehr."])
    assert without_author_lines(text, ("Greta Lindqvist", "Paul Weber")) == "\n".join(article)
    # after a time stamp on its line too; a stamp before other words stays
    stamped = "\n".join(["5:45 AM PST 11/19/2026 by Greta Lindqvist", *article])
    assert without_author_lines(stamped, ("Greta Lindqvist",)) == "\n".join(article)
    other = "\n".join(["Posted in March 2026 by the harbour board", *article])
    assert without_author_lines(other, ("Greta Lindqvist",)) == other
    # other names are no byline; a line that opens with a name and a capital goes on as a sentence
    assert without_author_lines("\n".join(["von Jane Doe", *article]), ("Greta Lindqvist",)) == "\n".join(
        ["von Jane Doe", *article])
    assert without_author_lines("\n".join([*article, "Paul Weber: Die Fähre kommt."]), ("Paul Weber",)) == \
        "\n".join([*article, "Paul Weber: Die Fähre kommt."])
    # a bio that names the writer by the given name, as a writer
    bio = ("A 30-year harbour veteran and award-winning journalist, Paul has covered the ferries since they ran "
           "on steam. He is a former editor of the Lindenau Courier.")
    assert without_author_lines("\n".join([*article, bio]), ("Paul Weber",)) == "\n".join(article)
    # a last line about someone of the same given name, or about another journalist, stays
    own = ["Paul, a ferryman for thirty years, said he would miss the old timetable.",
           "The journalist Jane Doe has covered the harbour for the Courier since 2019."]
    for last in own:
        assert without_author_lines("\n".join([*article, last]), ("Paul Weber",)) == "\n".join([*article, last])


@pytest.mark.parametrize("last, authors", [
    ("<p style='text-align: right;'><strong>Greta Lindqvist</strong></p>", ("Greta Lindqvist",)),
    ("<p><b>Greta Lindqvist</b></p>", ("Greta Lindqvist",)),
    ("<p><em>Greta Lindqvist</em></p>", ("Greta Lindqvist",)),
    ("<p>Greta Lindqvist</p>", ()),  # not set apart: a line of the text
])
def test_a_name_set_apart_under_the_last_paragraph_is_the_byline(last, authors):
    paragraphs = "".join(f"<p>{line}</p>" for line in [
        "Der Gemeinderat von Lindenau hat am Dienstag den neuen Fahrplan der Hafenfähre beschlossen.",
        "Von März an fahren die Fähren alle zwanzig Minuten zwischen dem alten Hafen und dem Ostufer.",
        "Der Betreiber will dafür zwei weitere Boote kaufen, sagte eine Sprecherin am Abend im Rathaus."])
    url = "https://kurier.example/faehre"
    page = (f"<html lang='de'><head><title>Neuer Fahrplan</title></head><body><article><h1>Neuer Fahrplan</h1>"
            f"{paragraphs}{last}</article></body></html>")
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None))
    assert article.authors == authors
    assert article.text.endswith("im Rathaus.") == bool(authors)


@pytest.mark.parametrize("last, credits, left", [
    ("Lindenauer Kurier / Radio Flussland", ("Radio Flussland",), False),  # the site and its source
    ("Lindenau / Ostufer: Die Fähre fährt öfter.", (), True),  # no site's name: the text's own line
    ("<em>LK-Redaktion</em>", ("LK-Redaktion",), False),  # the desk that signs off, set apart
    ("LK-Redaktion", (), False),  # not set apart: no credit (and a heading with nothing under it)
])
def test_a_closing_line_of_the_site_and_its_source_or_its_desk_credits_them(last, credits, left):
    url = "https://kurier.example/faehre"
    page = ("<html lang='de'><head><meta property='og:site_name' content='Lindenauer Kurier'></head><body><article>"
            "<h1>Neuer Fahrplan</h1>" + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS_DE)
            + f"<p>{last}</p></article></body></html>")
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None))
    assert article.credits == credits
    assert article.text.endswith(PARAGRAPHS_DE[-1]) != left


def test_a_json_ld_teaser_cuts_nothing():
    assert extract_page("json-ld-teaser").text.count("\n") == 5


@pytest.mark.parametrize("head, h1, expected", [
    # the page shows a kicker above its headline: og:title's words before a colon are a kicker too
    ("<meta property='og:title' content='Iranischer Angriff auf Israel: «Zurückhaltung hat Gründe»'>",
     "<span class='overline'>Eskalation im Nahen Osten</span><span> - </span><span>«Zurückhaltung hat Gründe»</span>",
     ("«Zurückhaltung hat Gründe»", "Eskalation im Nahen Osten")),
    # it shows none: they are the headline's own
    ("<script type='application/ld+json'>{\"@type\": \"NewsArticle\", "
     "\"headline\": \"Nach dem Rückzug: Anwältin soll Ministerin werden\"}</script>",
     "Anwältin soll Ministerin werden", ("Nach dem Rückzug: Anwältin soll Ministerin werden", None)),
    # a kicker without a class that opens the <h1>, the headline run on after it without a space
    ("<meta property='og:title' content='Nationale Demo / Der 9. Juli naht: Gewerkschaften zeigen Stärke'>",
     "<span>Nationale Demo</span>Der 9. Juli naht: Gewerkschaften zeigen Stärke",
     ("Der 9. Juli naht: Gewerkschaften zeigen Stärke", "Nationale Demo")),
    # a first part set in bold, ending in a colon, is the headline's own
    ("", "<span>Hafen Lindenau:</span>Fähre fährt wieder", ("Hafen Lindenau:Fähre fährt wieder", None)),
    ("", "<em>Dune</em> review: a desert epic", ("Dune review: a desert epic", None)),
])
def test_a_kicker_before_a_colon_only_where_the_page_shows_one(head, h1, expected):
    from newsbeam.extraction.metadata import read_metadata
    from newsbeam.extraction.titles import headline

    page = f"<html><head>{head}</head><body><article><h1>{h1}</h1><p>Text.</p></article></body></html>"
    assert headline(read_metadata(page, "https://news.example/a")) == expected


def test_a_headline_the_page_marks_in_any_element_and_never_the_sites_name():
    """A page with no <h1> that marks its headline in an <h2>, and whose og:title and <title>
    are only the site's name: the headline is the marked one, in its own script."""
    from newsbeam.extraction.metadata import read_metadata
    from newsbeam.extraction.titles import headline

    page = ("<html lang='ko'><head><title>한빛일보</title><meta property='og:title' content='한빛일보'>"
            "<meta property='og:site_name' content='한빛일보'></head><body><div class='article'>"
            "<h2 class='tit_view' itemprop='headline'>항구 페리, 내년 봄부터 세 번째 배 운항</h2>"
            "<p>항구 페리가 내년 봄부터 세 번째 배를 운항한다.</p></div></body></html>")
    marked = "항구 페리, 내년 봄부터 세 번째 배 운항"
    assert headline(read_metadata(page, "https://hanbit.example/news/1")) == (marked, None)


@pytest.mark.parametrize("json_ld, published", [
    # a @graph whose article node gives the date and whose page node the time of that date
    ('{"@context": "https://schema.org", "@graph": [{"@type": "Article", "datePublished": "2026-11-20"}, '
     '{"@type": "WebPage", "datePublished": "2026-11-20T10:15:48+02:00", "dateModified": "2026-11-21T09:00:00Z"}]}',
     "2026-11-20T08:15:48+00:00"),
    # the article's node gives the day it changed, the page's node the time of that change
    ('{"@graph": [{"@type": "NewsArticle", "datePublished": "2026-11-20T10:15:48+02:00", '
     '"dateModified": "2026-11-21"}, {"@type": "WebPage", "dateModified": "2026-11-21T09:00:00Z"}]}',
     "2026-11-20T08:15:48+00:00"),
    # a page of another kind than an article (a medical page, a fact check) dates itself
    ('{"@type": "MedicalWebPage", "datePublished": "2026-11-20T08:00:00.000Z"}', "2026-11-20T08:00:00+00:00"),
    ('{"@type": "ClaimReview", "datePublished": "2026-11-20T10:15:00+00:00"}', "2026-11-20T10:15:00+00:00"),
    # JSON-LD with a comma before a closing bracket, as pages write it
    ('{"@type": "NewsArticle", "keywords": ["ferry", "harbour", ], "datePublished": "2026-11-20T16:06:51-05:00",}',
     "2026-11-20T21:06:51+00:00"),
    # ... and with a `// comment`, a string in single quotes and a brace too many
    ('{"@type": "NewsArticle",\n // left empty for partner sites\n "description": \'The ferry\\\'s third boat\', '
     '"datePublished": "2026-11-20T16:06:51-05:00"}}', "2026-11-20T21:06:51+00:00"),
])
def test_a_pages_publication_time_from_json_ld_as_pages_write_it(json_ld, published):
    url = "https://courier.example/ferry"
    article = ferry_article(url, head=f"<script type='application/ld+json'>{json_ld}</script>")
    assert (article.published, article.published_date_only) == (published, False)
    assert article.modified == ("2026-11-21T09:00:00+00:00" if "dateModified" in json_ld else None)


@pytest.mark.parametrize("stamp, published", [
    ("Published 11:11 PM EST Nov 19, 2026", "2026-11-20T04:11:00+00:00"),
    ("Jane Doe · Coastal Courier · Posted: Nov 19, 2026 4:00 AM EDT | Last Updated: November 20",
     "2026-11-19T08:00:00+00:00"),
    ("Posted by Jane Doe", "2026-11-19T00:00:00+00:00"),  # no time: the date in the address, marked as a date
])
def test_a_stand_in_for_no_time_is_none_and_the_time_the_byline_shows_is_read(stamp, published):
    """A CMS that writes "0001-01-01T00:00:00Z" when it has no time (Gannett's sites) gave year 1
    as the publication and the change; the time the byline shows is the publication's."""
    url = "https://courier.example/story/news/2026/11/19/ferry/"
    ld = '{"@type": "NewsArticle", "datePublished": "0001-01-01T00:00:00Z", "dateModified": "0001-01-01T00:00:00Z"}'
    article = ferry_article(url, f"<div class='byline'>{stamp}</div>",
                            head=f"<script type='application/ld+json'>{ld}</script>")
    assert (article.published, article.modified) == (published, None)
    assert article.published_date_only == ("Posted by" in stamp)


@pytest.mark.parametrize("stamp, published", [
    ("<div>기사입력 :[ 2026-11-19 15:24 ]</div>", "2026-11-19T15:24:00+00:00"),
    ("<p><span>Von</span> <span>Jana Berg</span> <span>publiziert am 19. November 2026</span></p>",
     "2026-11-19T00:00:00+00:00"),
    # a sentence that says when something else was published is no stamp of the page
    ("<p>The timetable was published on November 2, 2026.</p>", None),
])
def test_a_labelled_stamp_in_the_page_dates_a_page_whose_metadata_gives_no_time(stamp, published):
    assert ferry_article("https://courier.example/story?id=8576", stamp).published == published


def test_a_time_a_page_writes_without_its_zone_is_in_the_zone_of_the_pages_language_where_it_has_one():
    """A Korean page's "2026-11-19T15:24:00" is Seoul's time (one zone for the language); a German
    page's stays as written, read as UTC, for German is written in many zones."""
    ld = ("<script type='application/ld+json'>"
          + json.dumps({"@type": "NewsArticle", "datePublished": "2026-11-19T15:24:00"}) + "</script>")
    korean = ["항구 페리가 내년 봄부터 세 번째 배를 운항한다고 시청이 19일 밝혔다. 배는 이십 분마다 출발한다.",
              "시의회는 지난 화요일 새 운항표를 의결했으며, 동쪽 주민들은 수년 동안 더 많은 운항을 요구해 왔다.",
              "운영사는 이를 위해 배 두 척을 더 사들일 계획이라고 대변인이 저녁에 시청에서 말했다."]
    url = "https://courier.example/ko/ferry"
    page = (f"<html lang='ko'><head>{ld}</head><body><article><h1>항구 페리, 세 번째 배 운항</h1>"
            + "".join(f"<p>{paragraph}</p>" for paragraph in korean) + "</article></body></html>")
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page.encode(), content_type=None))
    assert (article.language, article.published) == ("ko", "2026-11-19T06:24:00+00:00")
    assert ferry_article("https://courier.example/ferry", head=ld).published == "2026-11-19T15:24:00+00:00"


def test_times_written_out_are_dates_without_a_time_of_day_and_zoned_only_where_they_say_so():
    from newsbeam.schemas.times import publication_time

    assert publication_time("November 19, 2026") == ("2026-11-19T00:00:00+00:00", True, False)
    assert publication_time("Nov 19, 2026 11:11 PM EST") == ("2026-11-20T04:11:00+00:00", False, True)
    assert publication_time("19. November 2026, 14:05 Uhr") == ("2026-11-19T14:05:00+00:00", False, False)
    # a date written with dots is day first, with a year of two digits too
    assert publication_time("05.04.2025, 14:05") == ("2025-04-05T14:05:00+00:00", False, False)
    assert publication_time("27.04.24 um 07:39 Uhr") == ("2024-04-27T07:39:00+00:00", False, False)
    # "IST" as the press that writes it means it: India's (+05:30), written out or as RSS writes it
    assert publication_time("01:38:07 PM IST Nov 19, 2026") == ("2026-11-19T08:08:07+00:00", False, True)
    assert publication_time("Thu, 19 Nov 2026 13:38:07 IST") == ("2026-11-19T08:08:07+00:00", False, True)
    for stand_in in ("0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1970-01-01T01:00:00+01:00",
                     "Thu, 01 Jan 1970 00:00:00 +0000"):
        assert publication_time(stand_in) is None


@pytest.mark.parametrize("h1, expected", [
    ("한빛 미디어", "항구 페리, 내년 봄부터 세 번째 배 운항"),  # the site's logo, in its own script
    ("기사 상세", "항구 페리, 내년 봄부터 세 번째 배 운항"),  # the page's label ("article detail")
    ("항구 페리, 세 번째 배 운항한다", "항구 페리, 세 번째 배 운항한다"),  # another wording of the headline
])
def test_an_h1_that_shares_no_word_with_the_pages_title_is_no_headline(h1, expected):
    from newsbeam.extraction.metadata import read_metadata
    from newsbeam.extraction.titles import headline

    page = (f"<html lang='ko'><head><title>항구 페리, 내년 봄부터 세 번째 배 운항 - Hanbit Media</title></head>"
            f"<body><h1>{h1}</h1><div class='article'><p>항구 페리가 내년 봄부터 세 번째 배를 운항한다.</p></div>"
            "</body></html>")
    assert headline(read_metadata(page, "https://hanbitmedia.example/news/1")) == (expected, None)
    # a title too short to be a headline judges no h1
    short = page.replace("항구 페리, 내년 봄부터 세 번째 배 운항 - Hanbit Media", "x")
    assert headline(read_metadata(short, "https://hanbitmedia.example/news/1")) == (h1, None)


@pytest.mark.parametrize("title, sites, expected", [
    ("Steigende US-Zinsen setzen Dax zu | Börsen-Zeitung", ["boersenzeitung"], "Steigende US-Zinsen setzen Dax zu"),
    ("Akkutechnik: Hat Quantumscape genug Akkus gebaut? - Golem.de", ["golem"], "Akkutechnik: Hat Quantumscape genug "
                                                                               "Akkus gebaut?"),
    ("宮崎県で震度5弱、津波注意報 気象庁：朝日新聞デジタル", ["朝日新聞デジタル"],
     "宮崎県で震度5弱、津波注意報 気象庁"),
    ("Tageblatt.lu | Vierschanzentournee | Skisprung-Zoff", ["tageblatt"], "Vierschanzentournee | Skisprung-Zoff"),
    # a separator that is part of the headline stays
    ("Brexit - the aftermath | The Herald", ["theherald", "herald"], "Brexit - the aftermath"),
    ("Lindenau votes: cable car - yes or no?", ["lindenauerkurier"], "Lindenau votes: cable car - yes or no?"),
])
def test_site_names_come_off_titles_and_nothing_else(title, sites, expected):
    from newsbeam.extraction.titles import strip_site
    from newsbeam.schemas.text import fold_letters

    assert strip_site(title, [fold_letters(s) for s in sites]) == expected


@pytest.mark.parametrize("head", [
    "<title>Rowers win the championship | Sport | Coastal Courier</title>",
    "<meta property='og:title' content='Rowers win the championship - Sport'>",
    "<meta property='og:title' content='Sport: Rowers win the championship'>",
])
def test_the_section_a_page_declares_comes_off_its_titles(head):
    from newsbeam.extraction.metadata import read_metadata
    from newsbeam.extraction.titles import headline

    page = (f"<html><head><meta property='og:site_name' content='Coastal Courier'>{head}"
            "<meta property='article:section' content='Sport'></head><body></body></html>")
    assert headline(read_metadata(page, "https://courier.example/sport/rowers")) == (
        "Rowers win the championship", None)


@pytest.mark.parametrize("bylines, expected", [
    (["By Jane Doe and John Roe"], ("Jane Doe", "John Roe")),
    (["Felix Schröder und Jörg Soldwisch, dpa"], ("Felix Schröder", "Jörg Soldwisch")),
    (["Trine Juncher Jørgensen og Tôrtia Reimer-Johansen"], ("Trine Juncher Jørgensen", "Tôrtia Reimer-Johansen")),
    (["Autor: Monika Bolliger", "Anna Trechsel"], ("Monika Bolliger", "Anna Trechsel")),
    (["Elena Oberholzer (obe)", "elena oberholzer"], ("Elena Oberholzer",)),
    (["Redaktion", "AFP", "Staff", "news@courier.example", "https://courier.example/authors/jane"], ()),
    (["David Straub, Coastal Courier, Lindenau"], ("David Straub",)),  # the newsroom, then a place
    (["Povilas Aleksandravičius, professor at the faculty of human studies"], ("Povilas Aleksandravičius",)),
    (["María R. Sahuquillo y Chus del Pino"], ("María R. Sahuquillo", "Chus del Pino")),
    # "Family, Given", in any order and with any separator between the names
    (["You, Xiaoying; Lenharo, Mariana; Del Pino, Chus"], ("Xiaoying You", "Mariana Lenharo", "Chus Del Pino")),
    (["By Brazil, Rachel"], ("Rachel Brazil",)),
    (["Lenharo, Mariana and You, Xiaoying"], ("Mariana Lenharo", "Xiaoying You")),
    (["Jane Doe, John Roe"], ("Jane Doe", "John Roe")),
    (["AFP, Berlin"], ()),
    # an outlet, and a picture's credit, beside the people who wrote it are no authors
    (["Jane Doe", "Harbour Times"], ("Jane Doe",)),
    (["Foto: Bild: SN", "Jane Doe"], ("Jane Doe",)),
    # a label before the byline's "by", a job or a paper after a name, a place or an outlet's
    # initials after it, and where the writers end (editing, pictures)
    (["Ein Kommentar von Jana Albrecht"], ("Jana Albrecht",)),
    (["Analysis by Jane Doe"], ("Jane Doe",)),
    (["Jane Doe with additional reporting by John Roe"], ("Jane Doe", "John Roe")),
    (["Reporting by Jane Doe; Editing by John Roe"], ("Jane Doe",)),
    (["Text: Jane Doe, Fotos: John Roe"], ("Jane Doe",)),
    (["Jane Doe, Senior Correspondent", "John Roe Staff Writer"], ("Jane Doe", "John Roe")),
    (["Ida Berg Environment editor", "Max Kolter Deputy music editor"], ("Ida Berg", "Max Kolter")),
    (["Jane Doe for the Harbour Times"], ("Jane Doe",)),
    (["Jane Doe is a reporter at the Coastal Courier"], ("Jane Doe",)),
    (["Monika Bolliger und Anna Trechsel, Sweidah"], ("Monika Bolliger", "Anna Trechsel")),
    (["Jane Doe, CNN"], ("Jane Doe",)),
    (["Jane Doe mit dpa"], ("Jane Doe",)),
    (["Jane Doe • 5 min read", "John Roe - 12. März 2024"], ("Jane Doe", "John Roe")),
    (["By JANE DOE, MARY CLARE ROE and JOHN POE Associated Press"], ("JANE DOE", "MARY CLARE ROE", "JOHN POE")),
    (["The Associated Press"], ()), (["Jane Doe November 19"], ("Jane Doe",)), (["Theresa May"], ("Theresa May",)),
    (["Текст Венера Ерофеева"], ("Венера Ерофеева",)),
    (["by Jane Doe, John Roe, and Max Muster"], ("Jane Doe", "John Roe", "Max Muster")),  # a comma and "and"
    (["by Jane Doe on behalf of the Harbour Festival Committee"], ("Jane Doe",)),
    (["Pull Up Your Roots!"], ()),  # a blog's name, not a person's
    # a time stamp run on, spaced or not; a job after the outlet; a full stop after the name
    (["Harbour Courier wire services Published 11:11 PM EST Nov 19, 2026"], ()),
    (["Analysis by Jane Doe, CNN Editor-at-largeUpdated 1909 GMT (0309 HKT) November 18, 2026"], ("Jane Doe",)),
    (["Jane Doe. Harbour International", "Bruce Y. Lee"], ("Jane Doe", "Bruce Y. Lee")),
    (["Dr. Max Kolter. Coastal Courier"], ("Dr. Max Kolter",)),
    # a thing, a brand and an admin account are no people
    (["The Russian and Syrian defense ministries"], ()), (["Jdadmin"], ()), (["The Water Coolest"], ()),
])
def test_authors_are_people_each_once(bylines, expected):
    from newsbeam.extraction.authors import byline
    from newsbeam.extraction.metadata import read_metadata

    page = "<html><head><meta property='og:site_name' content='Coastal Courier'></head><body></body></html>"
    metadata = read_metadata(page, "https://courier.example/story")
    assert byline(metadata, entry_authors=bylines).authors == expected


def test_a_pictures_credit_and_an_outlet_are_credits():
    from newsbeam.extraction.authors import Byline, byline

    assert byline(None, entry_authors=["Foto: Bild: SN"]).credits == ("SN",)
    assert byline(None, entry_authors=["Deutsche Welle"]).credits == ("Deutsche Welle",)
    assert byline(None, entry_authors=["Jane Doe, CNN"]) == Byline(("Jane Doe",), ("CNN",))
    assert byline(None, entry_authors=["Jane Doe mit dpa"]) == Byline(("Jane Doe",), ("dpa",))
    assert byline(None, entry_authors=["Harbour Courier wire services Published 11:11 PM EST Nov 19, 2026"]) == \
        Byline((), ("Harbour Courier wire services",))
    assert byline(None, entry_authors=["Analysis by Jane Doe, CNN Editor-at-large"]) == Byline(("Jane Doe",), ("CNN",))
    # a blog's own account, named for a role or a kind of body: no one's name
    assert byline(None, entry_authors=["Harbour Maps Developer Advisor"], feed_name="Harbour Maps Blog") == \
        Byline((), ("Harbour Maps Developer Advisor",))
    assert byline(None, entry_authors=["Jane Doe, Senior Product Manager, Harbour Maps Team"]) == \
        Byline(("Jane Doe",), ("Harbour Maps Team",))
    assert byline(None, entry_authors=["Ferry Board Press Office"]).credits == ("Ferry Board Press Office",)


LEAD = "The harbour ferry will run a third boat from next spring, the city's transport board decided on Tuesday."


@pytest.mark.parametrize("text, authors, credits", [
    # a byline line opens the feed's text: its people are the authors, the blog itself no credit
    (f"By Jane Doe and John Roe\n{LEAD}", ("Jane Doe", "John Roe"), ()),
    (f"Ferry news\nPor María Sahuquillo e Chus del Pino\n{LEAD}", ("María Sahuquillo", "Chus del Pino"), ()),
    (f"Author: Jane Doe (Harbour Desk)\n{LEAD}", ("Jane Doe",), ()),
    # the writer's job after the name is no second writer
    (f"By Jane Doe , Tech Lead for Ferry Maps and Author of Harbour Tales\n{LEAD}", ("Jane Doe",), ()),
    (f"By Monday, the harbour council will decide\n{LEAD}", (), ("Harbour Blog Writers",)),
    # sentences that open with "By" stay, and the blog stays the credit
    (f"By jove! What an extraordinarily long meeting!\n{LEAD}", (), ("Harbour Blog Writers",)),
    (f"By Monday, the council will decide on the ferry.\n{LEAD}", (), ("Harbour Blog Writers",)),
])
def test_a_byline_line_at_the_start_of_the_text_names_the_authors(text, authors, credits):
    article = article_from_feed(entry(title="Ferry", summary=text, feed_name="Harbour Blog",
                                      authors=("Harbour Blog Writers",)))
    assert (article.authors, article.credits) == (authors, credits)
    kept = [line for line in text.split("\n") if not (authors and line.startswith(("By ", "Por ", "Author: ")))]
    assert article.text == "\n".join(kept)


def test_a_pages_byline_line_names_its_authors_where_its_metadata_names_no_one():
    url = "https://courier.example/ferry"
    page = ("<html><head><meta property='og:site_name' content='Coastal Courier'></head><body><article>"
            "<h1>Ferry gets a third boat</h1><p>By Jane Doe and John Roe</p>"
            + "".join(f"<p>{LEAD} {n}</p>" for n in ("The board met for three hours.", "Work starts in January."))
            + "</article></body></html>")
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None))
    assert article.authors == ("Jane Doe", "John Roe") and article.text.startswith(LEAD)


def test_a_byline_made_of_links_to_author_pages_names_its_authors_not_the_teasers_below():
    from newsbeam.extraction.authors import byline
    from newsbeam.extraction.metadata import read_metadata

    page = """<html><body><h1>Harbour reopens</h1>
    <p class="meta">von <a href="/autoren/name/max-kolter">Dr. Max Kolter</a> und
    <a href="/autoren/name/ida-berg">Ida Berg</a></p><p>The harbour reopened on Monday.</p>
    <aside><ul><li><a href="/a/1">Other story</a> <a href="/autoren/name/tom-ried">Tom Ried</a></li></ul></aside>
    </body></html>"""
    metadata = read_metadata(page, "https://courier.example/story")
    assert byline(metadata).authors == ("Dr. Max Kolter", "Ida Berg")
    # a feed's own author comes first: a link is the weakest sign
    assert byline(metadata, entry_authors=["Jane Doe"]).authors == ("Jane Doe",)


@pytest.mark.parametrize("line, authors", [
    # links to pages of any address, after nothing but the byline's word (a comment is no text)
    ('By <a href="/west/staff/jane-doe/">Jane Doe</a>, <a href="/west/staff/john-roe/">John Roe</a> '
     '<span>on Monday, November 18th, 2019</span>', ("Jane Doe", "John Roe")),
    ('<!-- -->Written by <a href="/nutrition-team">Jane Doe, MS, RD</a> on November 14, 2019', ("Jane Doe",)),
    # a picture's credit, or a sentence with a link in it, names no author
    ('Photo by <a href="/photographers/max">Max Muster</a>', ()),
    ('Read the report by <a href="/reports/harbour">the harbour board</a> here.', ()),
])
def test_a_byline_word_before_a_link_makes_it_the_byline(line, authors):
    from newsbeam.extraction.authors import byline
    from newsbeam.extraction.metadata import read_metadata

    page = f"""<html><body><h1>Harbour reopens</h1><div class="c1">{line}</div>
    <p>The harbour reopened on Monday.</p></body></html>"""
    assert byline(read_metadata(page, "https://courier.example/story")).authors == authors


def test_notices_credits_and_lists_of_other_stories_leave_the_body():
    from newsbeam.extraction.bodies import clean_body

    article = ["The council met on Monday to discuss the harbour, which has been closed since the storm in March.",
               "A second paragraph tells what was decided, and by how many votes, in some detail for the readers."]
    text = "\n".join([
        article[0], "Externer Inhalt nicht verfügbar", "Foto: dpa/Max Muster", "STR/Getty Images", "Fotoğraf: AA",
        "The harbour at night. Illustration: Max Muster",
        "Read more: Harbour reopens after storm", article[1], "Advertisement",
        "This is a breaking story - more to follow", "Join the conversation", "You must log in to post a comment.",
        "ATENÇÃO: Comentários ofensivos não serão aprovados pelo moderador.", "Kommentare werden moderiert.",
        "Annonce", "Offentliggjort", "Published:", "Lindenau Post Infografik",
        "You must confirm your public display name before commenting",
        "Please logout and then login again, you will then be prompted to enter your display name.",
        "More from Lindenau",
        "- Traffic: New lights at the harbour road go live", "- Culture: Theatre shows three premieres in autumn",
        "- Sport: Lindenau rowers win the championship"])
    assert clean_body(text) == "\n".join(article)
    # a pointer to other stories anywhere, by its label ("ALSO READ:", "MORE:") or its links alone
    pointers = "\n".join([article[0], "ALSO READ: Ferry timetable changes from May", "MORE: Rowers win again",
                           article[1], "More Lindenau sport: https://courier.example/sport and https://x.example/c"])
    assert clean_body(pointers) == "\n".join(article)
    # the terms a copy is given under, however long the notice
    terms = ("This copy is for your personal, non-commercial use only. Distribution and use of this material are "
             "governed by our Subscriber Agreement and by copyright law. For non-personal use or to order multiple "
             "copies, please contact our reprints desk, who will be glad to help with any request you may have.")
    assert len(terms) > 160 and clean_body("\n".join([terms, *article, terms])) == "\n".join(article)
    # the site's calls to its reader (to support it, to follow it), at any length
    appeals = ["If you enjoyed this article, we have a proposition for you: join the Courier's club. Members get all "
               "of our content, no paywalls, an advertising-minimal experience and access to our writers and editors.",
               "Hat Ihnen dieser Artikel gefallen? Dann unterstützen Sie uns bitte mit einer Spende.",
               "Follow the Courier on Twitter and Facebook for the latest news updates. You can now also get our "
               "articles sent straight to your device: sign up for our daily push alerts on the Courier's app."]
    assert len(appeals[0]) > 160 and clean_body("\n".join([*article, *appeals])) == "\n".join(article)
    # the words in the article's own sentences stay
    own = "\n".join([article[0], "If you enjoyed this article's subject, the mayor said, come to the harbour."])
    assert clean_body(own) == own
    # "more" and "also" open sentences too: without a colon they stay
    sentences = "\n".join([article[0], "More than 200 residents came to the meeting.", "Also present was the mayor."])
    assert clean_body(sentences) == sentences
    # a list that is the article's own stays: short items, or not at the end
    recipe = "\n".join([article[0], "- 1 cup rice", "- 2 eggs", "- 1 tsp salt"])
    assert clean_body(recipe) == recipe
    # nor a recipe's steps at the end, sentences of headline length, under the site's pointer
    steps = [article[0], "Instructions", "- Fill the canner with water and set it to simmer on a low heat.",
             "- Core, peel and cube the pears and put them in a pot with the juice of one lemon.",
             "- Spoon the jam into warm jars, close them and boil them for ten minutes in the canner."]
    assert clean_body("\n".join([*steps, "You may also like:"])) == "\n".join(steps)
    # a pointer to the site's live coverage or pictures whose link is gone, a program's state a
    # template prints, a CMS's shortcode, what the page's forms say, a labelled date
    pointers = ["UPDATED: Tue., Nov. 19, 2026", article[0], "Mehr zur Lage am Hafen lesen Sie in unserem Liveblog:",
                article[1], "Follow our live coverage of the storm here:", "See more photos:", "- showPaywall:",
                "- false", "isSubscriber: false", '[button link="https://courier.example/review" type="big"] Send us '
                'your review[/button]', "An error has occurred, please try again later.",
                "This article has been sent to",
                "We independently select everything we recommend. Buying through us may earn us a commission.",
                "Empfohlener redaktioneller Inhalt", "Recommended Videos",
                # a newspaper's promotion of its registration, in Japanese
                "- 港町プラスに登録すると", "- 港町新聞電子版が利用できる"]
    assert clean_body("\n".join(pointers)) == "\n".join(article)
    # a list of other stories under the text, with the site's pointer to more below it; a notice
    # that the text is a machine's translation, anywhere; a pointer to the original
    teasers = [article[0], "Dies ist eine maschinelle Übersetzung eines Artikels unserer Kollegen. Er wurde "
               "automatisiert übersetzt und von einem Redakteur überprüft.", article[1],
               "- Fähre: Der neue Fahrplan gilt ab März für alle Linien",
               "- Hafen: Die Kaimauer wird bis Herbst saniert", "- Wetter: Sturmwarnung für die Küste am Wochenende",
               "Mehr Artikel aus dieser Rubrik gibt's hier: Hafen", "Lest den Originalartikel auf Englisch hier.",
               # a call to sign up for the newsletter, at any length
               "„Hier ist Lindenau“: Der Kurier-Newsletter informiert Sie immer montags bis freitags zum Feierabend "
               "über das Wichtigste vom Tag auf einen Blick – kompakt und direkt in Ihrem Postfach. Hier geht's zur "
               "Anmeldung!"]
    assert clean_body("\n".join(teasers)) == "\n".join(article)
    # a heading that names a product, a line that is a number word, stay
    products = "\n".join([article[0], "macOS:", "iPhone:", article[1], "Null"])
    assert clean_body(products) == products


def test_readers_comments_cards_of_other_stories_and_page_data_leave_the_body():
    from newsbeam.extraction.bodies import clean_body, without_empty_headings

    article = ["Der Gemeinderat von Lindenau hat am Dienstag beschlossen, die Hafenstraße im Sommer zu sanieren.",
               "Die Arbeiten sollen im Juni beginnen und bis Ende September dauern, sagte der Bürgermeister.",
               "Während der Bauzeit fahren die Busse der Linie 4 über die Uferstraße und den Marktplatz.",
               "Anwohner können ihre Fragen am Donnerstagabend im Rathaus stellen, die Sitzung ist öffentlich.",
               "Die Kosten von rund zwei Millionen Euro trägt zum größten Teil das Land."]
    comments = ["12 Kommentare", "hafenkind vor 3 Stunden",
                "Endlich! Die Straße ist seit Jahren in einem schlimmen Zustand, das wurde Zeit.",
                "Seebär vor 5 Stunden", "Und wer bezahlt die Umsätze, die den Läden im Sommer fehlen?"]
    # the comments (longer than the article, as they often are) go with their heading
    assert clean_body("\n".join([*article, *comments, *comments[2:] * 4])) == "\n".join(article)
    cards = ["Popular", "Lindenau rowers win the championship Lindenau rowers win the championship",
             "The crew beat six others on the river on Sunday.",
             "Theatre shows three premieres in autumn Theatre shows three premieres in autumn",
             "A season of new plays, two of them by writers from the town."]
    page_data = ["2026-12-07T08:57:40+01:00", "07.12.2026, 14:05 Uhr", "2026年12月7日 14時05分 (12月7日 15時10分更新)",
                 "Der Bürgermeister über die Sanierung 07.12.2026 | 0:21 min",
                 "Thanks for signing up!", "There was an error processing your subscription.",
                 "Continue Reading Below", "Story continues below gallery", "Weiterlesen nach der Anzeige",
                 "- -Aktualisiert am", "For more stories like this, check our news page.",
                 "Follow Courier.example on Twitter and Facebook for the latest news updates.",
                 "Los geht's: Von Montag an fährt die Fähre alle zwanzig Minuten. Bild: Jana Muster",
                 "Updated at 1:23 p.m.", "https://img.courier.example/2026/12/hafen-500x250.jpg",
                 "https://courier.example/lindenau/hafenstrasse", "Like this story? Share it with a friend!",
                 "- Print Article"]
    assert clean_body("\n".join([article[0], *page_data, *article[1:], *cards]),
                      page_urls=frozenset(["https://courier.example/lindenau/hafenstrasse"])) == "\n".join(article)
    # cards whose headlines are the page's links to other stories, between empty list items
    linked = ["Rowers win the championship on the river", "The crew beat six others on Sunday",
              "-", "Theatre shows three premieres in autumn", "A season of new plays by writers from the town",
              "-", "Harbour ferry gets a third boat next spring"]
    links = frozenset(line.casefold() for line in linked[::3])
    assert clean_body("\n".join([*article, *linked]), links=links) == "\n".join(article)
    # ... however short a linked headline ("Pats place Olszewski on IR")
    short = ["Rowers win the title", "The crew beat six others on Sunday", "-", "Theatre opens again",
             "Three premieres in autumn", "-", "Ferry gets third boat"]
    links = frozenset(line.casefold() for line in short[::3])
    assert clean_body("\n".join([*article, *short]), links=links) == "\n".join(article)
    # the headings of the page's boxes left empty at the end
    assert without_empty_headings("\n".join([*article, "Mehr zum Thema", "Schlagworte", "関連キーワード"])) == \
        "\n".join(article)
    # the same lines, no link of the page: the article's own list
    assert clean_body("\n".join([*article, *linked])) == "\n".join([*article, *linked])
    # a word that cards would give, in the article's own lines, stays: only a line given twice
    # whole is a card; a comments heading at the top is no article's end
    # nor is a date without a time (an exhibition's), a telephone number, a score
    own = "\n".join(["12 Kommentare", *article, "Hafen Hafen", "- Linie 4: Uferstraße", "- Linie 5: Marktplatz",
                     "29. November 2026 | 20. Januar 2027", "040-751-1500", "2-1 (1-0)",
                     "Die Sitzung beginnt um 19:30 Uhr.", "https://lindenau.example/fahrplan",
                     "Playoff picture: Lindenau rowers in pursuit"])
    assert clean_body(own) == own


# --- Publisher parsers (Fundus) ----------------------------------------------------------------------
BROADCASTER_URL = "https://www.tagesschau.de/inland/lindenau-seilbahn-100.html"


def broadcaster_page(url: str = BROADCASTER_URL, **options) -> Article:
    html = (PAGES / "broadcaster-article.html").read_bytes()
    return extract_article(FetchedPage(entry=entry(url), url=url, html=html, content_type=None),
                           settings=ExtractSettings(**options))


def test_a_page_of_a_publisher_fundus_covers_is_read_by_its_own_parser():
    article = broadcaster_page()
    assert article.extractor == "fundus:Tagesschau"
    assert article.title == "Stadtrat von Lindenau beschließt Seilbahn über den Fluss"  # as the parser reads it
    assert article.authors == ("Jana Beispiel",)  # the parser's people; its desk is not one
    assert article.text.startswith("Der Stadtrat von Lindenau hat am Donnerstag")
    assert article.text.endswith("deutlich entlasten.") and "Anwohner kündigen Widerstand an" in article.text
    assert "Impressum" not in article.text and "Startseite" not in article.text
    assert article.published == "2026-11-20T12:05:00+00:00" and not article.published_date_only
    assert article.language == "de" and article.tags == ("Lindenau", "Seilbahn")


@pytest.mark.parametrize("url, options", [
    (BROADCASTER_URL, {"publisher_parsers": False}),  # turned off
    ("https://news.example/lindenau-seilbahn", {}),  # a site no publisher parser covers
], ids=["turned off", "other site"])
def test_other_pages_go_the_generic_way_with_the_same_fields(url, options):
    article = broadcaster_page(url, **options)
    assert article.extractor == "generic"
    assert article.text.startswith("Der Stadtrat von Lindenau hat am Donnerstag")  # no kicker or headline above it
    assert article.authors == ("Jana Beispiel",) and article.credits == ("ARD-Hauptstadtstudio",)
    assert article.published == "2026-11-20T12:05:00+00:00"


def test_a_publisher_parser_that_finds_no_body_falls_back_to_the_generic_path():
    """The publisher's markup changed: its parser finds no article paragraphs; the page still
    yields an article, not a dead letter."""
    html = (PAGES / "broadcaster-article.html").read_text(encoding="utf-8").replace("<article", "<section").replace(
        "</article>", "</section>")
    article = extract_article(FetchedPage(entry=entry(BROADCASTER_URL), url=BROADCASTER_URL, html=html.encode(),
                                          content_type=None))
    assert article.extractor == "generic" and "84 Millionen Euro" in article.text
    from newsbeam.extraction.publishers import parse_with_publisher

    assert parse_with_publisher("", BROADCASTER_URL) is None  # a page the parser cannot even read


def test_the_parser_version_is_the_one_valid_when_the_page_was_fetched():
    """Fundus keeps a parser per period of a publisher's markup (Salzburger Nachrichten changed
    its markup in December 2025): a page fetched before and one fetched after are read by the
    parser of their time; a time past every period by the newest."""
    import datetime as dt

    from newsbeam.extraction.publishers import _parser, publisher_of

    publisher = publisher_of("https://www.sn.at/politik/weltpolitik/x-123")
    assert publisher is not None and publisher_of("https://sn.at/x") is publisher
    before, after = _parser(publisher, dt.datetime(2024, 5, 1)), _parser(publisher, dt.datetime(2026, 6, 1))
    assert type(before) is not type(after) and type(after) is type(_parser(publisher, None))
    assert type(_parser(publisher, dt.datetime(9999, 12, 31, 23))) is type(after)
    assert publisher_of("https://feeds.feedburner.com/x") is None and publisher_of("https://news.example/") is None


def test_every_fundus_dev_page_reads_as_its_publishers_parser_reads_it():
    """The labels of ../shared/data/pages/fundus_dev are Fundus's own parse of each page:
    through newsbeam, with the parser valid at the page's crawl date, the same headline, people
    and body for every page Fundus still covers."""
    import gzip
    import json

    import newsbeam
    from tests.conftest import shared_data

    with gzip.open(shared_data("pages/fundus_dev/records.jsonl.gz"), "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    read = 0
    for record in records:
        article = newsbeam.extract(record["html"], record["url"], fetched=record["crawl_date"], encoder="hashing")
        if article is None or not article.extractor.startswith("fundus:"):
            continue
        read += 1
        assert article.title == " ".join(record["title"].split()), record["id"]
        assert list(article.authors) == record["authors"], record["id"]
        assert article.text.split() == record["body"].split(), record["id"]
    assert read >= 0.9 * len(records)


def test_an_e_mail_address_in_a_byline_is_neither_an_author_nor_a_credit():
    """It names the site in its domain: an author meta tag holding only the reporter's address
    was taken for the outlet's credit."""
    from newsbeam.extraction.authors import byline
    from newsbeam.extraction.metadata import read_metadata

    page = ('<html><head><meta property="og:site_name" content="Börsen-Zeitung">'
            '<meta name="author" content="a.sleegers@boersen-zeitung.de"></head><body></body></html>')
    credited = byline(read_metadata(page, "https://www.boersen-zeitung.de/banken/wero"))
    assert credited.authors == () and credited.credits == ()


def test_a_publishers_page_in_a_legacy_encoding_reads_without_mojibake():
    """The page's own charset decides, on the publisher path as on the generic one."""
    html = (PAGES / "broadcaster-article.html").read_text(encoding="utf-8").replace(
        '<meta charset="utf-8">', '<meta charset="iso-8859-1">').encode("iso-8859-1")
    article = extract_article(FetchedPage(entry=entry(BROADCASTER_URL), url=BROADCASTER_URL, html=html,
                                          content_type=None))
    assert article.extractor == "fundus:Tagesschau" and "beschließt" in article.title and "Ã" not in article.text


def test_a_text_judged_while_another_thread_loads_the_language_profiles_waits_for_all_of_them():
    """The run loads langdetect's profiles in the background (transforms.stage); langdetect makes
    its factory visible before the profiles are in it, so a page judged meanwhile was judged
    against some languages, or none (and kept its declared language). In a fresh process (the
    profiles load once per process), the loading is held right after the factory is published
    until the page has been given its chance to be judged."""
    probe = """
import threading
from langdetect.detector_factory import DetectorFactory
from newsbeam.extraction.language import detect_language, load_language_profiles
published, go_on = threading.Event(), threading.Event()
load_profile = DetectorFactory.load_profile
def held(self, directory):
    published.set()
    go_on.wait()
    load_profile(self, directory)
DetectorFactory.load_profile = held
loader = threading.Thread(target=load_language_profiles)
loader.start()
published.wait()
text = ("Het gemeentebestuur heeft dinsdag besloten om de nieuwe kabelbaan over de rivier te bouwen. "
        "De inwoners hadden daar lang op aangedrongen.")
judged = []
judge = threading.Thread(target=lambda: judged.append(detect_language(text, "xx")))
judge.start()
judge.join(timeout=1.0)  # one that does not wait for the profiles is done by then
go_on.set()
loader.join()
judge.join()
print(*judged)
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "nl"


def test_a_page_says_when_it_last_changed_its_section_and_whether_it_is_free_to_read():
    """JSON-LD dateModified (or article:modified_time), articleSection and isAccessibleForFree
    reach the article; a page that says none of them gives None for each."""
    import json as json_module

    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Ferry timetable changes",
          "dateModified": "2026-12-07T11:20:00+01:00", "articleSection": ["Lokales", "Verkehr"],
          "isAccessibleForFree": "False"}
    body = "".join(f"<p>The harbour ferry runs every twenty minutes from March, the operator said, {n}.</p>"
                   for n in range(6))
    html = (f"<html><head><script type='application/ld+json'>{json_module.dumps(ld)}</script></head>"
            f"<body><article><h1>Ferry timetable changes</h1>{body}</article></body></html>")
    article = extract_article(FetchedPage(entry=entry(), url="http://news.example/a", html=html.encode(),
                                          content_type="text/html"))
    assert (article.modified, article.section, article.free) == ("2026-12-07T10:20:00+00:00", "Lokales", False)
    plain = html.replace(json_module.dumps(ld), "{}")
    article = extract_article(FetchedPage(entry=entry(), url="http://news.example/a", html=plain.encode(),
                                          content_type="text/html"))
    assert (article.modified, article.section, article.free) == (None, None, None)


@pytest.mark.parametrize("declared, section", [
    ("Lokales", "Lokales"), ("Global,Innovation", "Global"), ("News - News", "News"),
    ("news_news", None), ("post", None), ("Front Page", None), ("courier.example", None),
])
def test_the_section_is_as_a_reader_would_name_it(declared, section):
    from newsbeam.extraction.metadata import read_metadata

    page = f"<html><head><meta property='article:section' content='{declared}'></head><body></body></html>"
    assert read_metadata(page, "https://www.courier.example/a").section == section


WALL_PAGES = {
    "blocked: a challenge or bot wall": "<html><head><title>Just a moment...</title></head><body><div "
                                        "id='cf-challenge-running'>Checking your browser before accessing "
                                        "the site.</div></body></html>",
    "a consent wall": "<html><body><div id='sp_message_container_1'><p>We value your privacy</p><button>Accept all "
                      "cookies</button></div></body></html>",
    "a paywall teaser": "<html><head><script type='application/ld+json'>{\"@type\": \"NewsArticle\", \"headline\": "
                        "\"Harbour deal\", \"isAccessibleForFree\": false}</script></head><body><h1>Harbour deal</h1>"
                        "<p>The council met on Monday.</p><div class='offer'>Already a subscriber? Log in."
                        "</div></body></html>",
    "rendered by its scripts only": "<html><body><div id='app'></div><noscript>Please enable JavaScript to read "
                                    "this page.</noscript>" + "<script src='/a.js'></script>" * 6 + "</body></html>",
    "not an article": "<html><body><h1>Sections</h1><ul>" + "".join(
        f"<li><a href='/s/{n}'>Section {n} of the Harbour Courier, with its latest reports</a></li>"
        for n in range(40)) + "</ul></body></html>",
    "empty": "<html><body><p>Hi</p></body></html>",
}


@pytest.mark.parametrize("kind", WALL_PAGES)
def test_a_page_without_an_article_says_which_kind_of_page_it_is(kind):
    """Whatever its HTTP status (many walls answer 200), the reason says what the page was."""
    from newsbeam.extraction.page import feed_entry

    page = FetchedPage(entry=feed_entry("https://courier.example/story"), url="https://courier.example/story",
                       html=WALL_PAGES[kind].encode(), content_type="text/html")
    with pytest.raises(NotAnArticle, match=f"no article body found on the page: {re.escape(kind)}$"):
        extract_article(page)


@pytest.mark.parametrize("image_markup, expected", [
    ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Ferry timetable", "image": '
     '{"@type": "ImageObject", "url": "https://courier.example/ferry.jpg", "caption": "The ferry at dawn.", '
     '"creditText": "Jane Doe"}}</script>', ("https://courier.example/ferry.jpg", "The ferry at dawn.", "Jane Doe")),
    ('<figure><img src="https://courier.example/ferry.jpg"><figcaption>The ferry at dawn. <span class="credit">'
     'Foto: Jane Doe</span></figcaption></figure>', ("https://courier.example/ferry.jpg", "The ferry at dawn.",
                                                    "Jane Doe")),
    ('<figure><img src="https://courier.example/ferry.jpg"><figcaption>Die Fähre am Morgen. Foto: dpa'
     '</figcaption></figure>', ("https://courier.example/ferry.jpg", "Die Fähre am Morgen.", "dpa")),
    # the author's portrait beside the byline comes first: the article's picture is the next
    ('<figure><img src="https://courier.example/jane.jpg"><figcaption>Von Jane Doe, Redakteurin</figcaption></figure>'
     '<figure><img src="https://courier.example/ferry.jpg"><figcaption>Legende: Die Fähre am Morgen. Foto: dpa'
     '</figcaption></figure>', ("https://courier.example/ferry.jpg", "Die Fähre am Morgen.", "dpa")),
    # a lazy image: its picture in data-src, a placeholder in src; a credit labelled "Photograph:"
    ('<figure><img src="https://courier.example/placeholder.svg" data-src="https://courier.example/ferry.jpg">'
     '<figcaption>The ferry at dawn. Photograph: Jane Doe/Harbour Agency</figcaption></figure>',
     ("https://courier.example/ferry.jpg", "The ferry at dawn.", "Jane Doe/Harbour Agency")),
    # a caption that is only its credit: by its class, by "Image via", or a name in brackets
    ('<figure><img src="https://courier.example/ferry.jpg"><figcaption class="attribution">Image via '
     '<a href="https://agency.example/1">Harbour Agency</a></figcaption></figure>',
     ("https://courier.example/ferry.jpg", None, "Harbour Agency")),
    ('<figure><img src="https://courier.example/ferry.jpg"><figcaption>(Coastal Courier)</figcaption></figure>',
     ("https://courier.example/ferry.jpg", None, "Coastal Courier")),
    # an address as a reader follows it: resolved against the page's, never a placeholder's data
    ('<figure><img src="/media/ferry.jpg"><figcaption>The ferry at dawn.</figcaption></figure>',
     ("https://courier.example/media/ferry.jpg", "The ferry at dawn.", None)),
    ('<figure><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><figcaption>The ferry at dawn.</figcaption>'
     '</figure>', (None, "The ferry at dawn.", None)),
    # a stand-in the site shows before the picture or instead of one is no picture of the article
    ('<figure><img src="https://courier.example/static/player-spinner.png"><figcaption>The ferry at dawn.'
     '</figcaption></figure>', (None, "The ferry at dawn.", None)),
    ('<script type="application/ld+json">{"@type": "NewsArticle", "image": {"@type": "ImageObject", "url": '
     '["https://courier.example/ferry.jpg", "https://courier.example/ferry-square.jpg"]}}</script>',
     ("https://courier.example/ferry.jpg", None, None)),
    ("", (None, None, None)),
    # a credit run on after the caption ("Credit..."), in brackets with its label, by a "by" label;
    # an icon's name before the caption
    ('<figure><img src="https://courier.example/ferry.jpg"><figcaption>The ferry at dawn.Credit...Jane Doe/The '
     'Coastal Courier</figcaption></figure>',
     ("https://courier.example/ferry.jpg", "The ferry at dawn.", "Jane Doe/The Coastal Courier")),
    ('<figure><img src="https://courier.example/ferry.jpg"><figcaption>Camera IconThe ferry at dawn. <span '
     'class="credit">(Image credit: Harbour Agency)</span></figcaption></figure>',
     ("https://courier.example/ferry.jpg", "The ferry at dawn.", "Harbour Agency")),
    ('<figure><img src="https://courier.example/ferry.jpg"><figcaption>Fotoğraf : Jane Doe/AA</figcaption></figure>',
     ("https://courier.example/ferry.jpg", None, "Jane Doe/AA")),
    # every label of a picture's credit, as in a text's credit line (schemas.lexicon)
    ('<figure><img src="https://courier.example/ferry.jpg"><figcaption>The ferry at dawn. Illustration by Jane Doe'
     '</figcaption></figure>', ("https://courier.example/ferry.jpg", "The ferry at dawn.", "Jane Doe")),
    # the cover of the publisher's magazine, offered to subscribe to, is not the article's picture
    ('<figure><img src="https://courier.example/magazine-cover.png"><figcaption>Want more harbour news? Subscribe '
     'to our sister title "Coastal Monthly".</figcaption></figure>', (None, None, None)),
])
def test_the_lead_image_comes_with_its_caption_and_credit_and_its_maker_is_no_author(image_markup, expected):
    from newsbeam.extraction.page import feed_entry

    paragraphs = "".join(f"<p>{line}</p>" for line in (
        "The harbour ferry switches to its winter timetable on Monday, the operator said.",
        "Boats leave every forty minutes instead of every twenty until the end of March.",
        "Residents of the east bank have asked for more crossings for years."))
    html = (f"<html lang='en'><head>{image_markup if 'ld+json' in image_markup else ''}</head><body><article>"
            f"<h1>Ferry timetable</h1><p class='byline'>By Anna Berg</p>"
            f"{image_markup if 'figure' in image_markup else ''}{paragraphs}</article></body></html>")
    article = extract_article(FetchedPage(entry=feed_entry("https://courier.example/ferry"),
                                          url="https://courier.example/ferry", html=html.encode(),
                                          content_type="text/html"))
    assert (article.image, article.image_caption, article.image_credit) == expected
    assert "Jane Doe" not in article.authors and "dpa" not in article.text


@pytest.mark.parametrize("head, site_name", [
    ("<meta property='og:site_name' content='https://www.coastal-courier.example'>", "coastal-courier.example"),
    # the section's name as og:site_name, the publisher's beside it: the one like the host's
    ("<meta property='og:site_name' content='Harbour'><script type='application/ld+json'>{\"@type\": \"NewsArticle\", "
     "\"publisher\": {\"@type\": \"Organization\", \"name\": \"Coastal Courier\"}}</script>", "Coastal Courier"),
    ("<meta property='og:site_name' content='© Coastal Courier'>", "Coastal Courier"),
    # an address of elsewhere is no name: with no feed's name either, the host names the site
    ("<meta property='og:site_name' content='https://social.example/courier'>", "coastal-courier.example"),
    # a tagline or the site's topics after its name; a name of two parts, neither like the host's, stays
    ("<meta property='og:site_name' content=\"Coastal Courier | Lindenau's favourite paper\">", "Coastal Courier"),
    ("<meta property='og:site_name' content='Coastal-Courier - Ferries - Harbour - Weather'>", "Coastal-Courier"),
    ("<meta property='og:site_name' content='Lindenau Post - Harbour Edition'>", "Lindenau Post - Harbour Edition"),
    # the site's address after its name
    ("<meta property='og:site_name' content='The Courier of the Coast | Coastal-Courier.example'>",
     "The Courier of the Coast"),
])
def test_the_site_name_as_a_reader_would_name_the_site(head, site_name):
    article = ferry_article("https://www.coastal-courier.example/ferry", head=head, feed_name=None)
    assert article.site_name == site_name


def test_tags_each_once_and_a_list_written_as_one_apart():
    from newsbeam.schemas.text import tag_list

    assert tag_list(["Politics,Federal Politics", "politics", "Science &amp; Technology",
                     "Business, Finance, & Economics"]) == \
        ("Politics", "Federal Politics", "Science & Technology", "Business, Finance, & Economics")


def test_a_change_the_page_dates_before_its_publication_is_no_change():
    """A page scheduled ahead: its dateModified is when the draft was last saved, before it went
    out. `modified` says when the article changed after it was published: not then."""
    url = "https://courier.example/ferry"
    for modified, expected in (("2026-11-20T06:00:00Z", None), ("2026-11-20T12:00:00Z", "2026-11-20T12:00:00+00:00")):
        json_ld = ('{"@type": "NewsArticle", "datePublished": "2026-11-20T08:00:00Z", '
                   f'"dateModified": "{modified}"}}')
        article = ferry_article(url, head=f"<script type='application/ld+json'>{json_ld}</script>")
        assert (article.published, article.modified) == ("2026-11-20T08:00:00+00:00", expected)


def test_a_box_the_page_opens_on_hover_is_no_part_of_the_sentence():
    """The Hill's card under each politician's name (the name again and their latest headlines)
    and a glossary's definition sit inside the sentence in the markup: the word stays, the box
    goes."""
    url = "https://courier.example/ferry"
    card = ('<span class="rollover-people"><a href="/people/anna-berg">Anna Berg</a>'
            '<span class="rollover-people-block"><a class="name" href="/people/anna-berg">Anna Berg</a>'
            '<a class="people-articles" href="/a/1">Harbour reopens after the storm | Ferry timetable changes in May'
            '</a></span></span>')
    term = '<span class="glossary">GDP<span class="tooltip-text">Gross domestic product</span></span>'
    page = ("<html><body><article><h1>Ferry contract signed</h1>"
            f"<p>The council asked Mayor {card} to sign the ferry contract on Monday, after a long debate.</p>"
            f"<p>The contract ties the fares to the region's {term} and runs for ten years from next spring.</p>"
            + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS_DE) + "</article></body></html>")
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None))
    lines = article.text.split("\n")
    assert "The council asked Mayor Anna Berg to sign the ferry contract on Monday, after a long debate." in lines
    assert "The contract ties the fares to the region's GDP and runs for ten years from next spring." in lines
    assert "Harbour reopens" not in article.text and "Gross domestic" not in article.text


def test_a_link_in_capitals_between_paragraphs_is_the_sites_call_not_the_articles_text():
    """A related story's headline in capitals and an app's promotion, each a link of the page,
    sit between the paragraphs: they go. A line in capitals that links nowhere, and a sentence
    that is one whole link, stay: the article's own."""
    url = "https://courier.example/ferry-fares"
    own = ["The harbour authority of Lindenau approved the new ferry fares on Tuesday after a long debate.",
           "Fares for residents stay as they are, while visitors pay two euros more in the summer months.",
           "THE VOTE WAS TWELVE TO THREE",
           "The full decision of the council is published on the harbour's notice board and in the town hall.",
           "The operator said the new fares would pay for a third boat on the line to Vesterholm next spring."]
    page = ("<html><body><article><h1>Ferry fares approved</h1>"
            f"<p>{own[0]}</p><p>{own[1]}</p>"
            '<p><strong><a href="/lindenau/rowers">ROWERS WIN THE CHAMPIONSHIP ON THE RIVER</a></strong></p>'
            f"<p><strong>{own[2]}</strong></p>"
            f'<p><a href="/lindenau/council-decisions">{own[3]}</a></p>'
            f"<p>{own[4]}</p>"
            '<p><a href="/app"><strong>CLICK HERE TO GET THE COURIER APP</strong></a></p>'
            + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS_DE) + "</article></body></html>")
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None))
    assert article.text.split("\n")[:5] == own
    assert "ROWERS" not in article.text and "COURIER APP" not in article.text


def test_a_posts_filing_at_the_bodys_edges_is_the_templates_not_the_text():
    """A blog's template prints the post's date, categories and tags above or below the text,
    and may list the tags a line each: they go. The same words inside the text stay."""
    from newsbeam.extraction.bodies import without_template_edges

    own = ["The harbour authority of Lindenau approved the new ferry fares on Tuesday.",
           "Category: the fares fall into three classes, one of them for residents.",
           "Tags: the council wants the ferries tagged with a new livery by spring."]
    assert without_template_edges("\n".join(["05/10/2026 - Publicado por: Ana Lima - Categoria: Saúde - Tags: porto",
                                      "balsa", "tarifas", *own, "Filed under: Lindenau | Harbour |"])) == \
        "\n".join(own)
    # a short first line under a filing that does not end in tags is the text's own
    assert without_template_edges("\n".join(["Posted in: Harbour", "Lindenau", *own])) == "\n".join(["Lindenau", *own])
    assert without_template_edges("\n".join(own)) == "\n".join(own)
    # lines without a word at the edges are the template's; between the text's sections they stay
    assert without_template_edges("\n".join(["|", own[0], "* * *", own[1], "***"])) == \
        "\n".join([own[0], "* * *", own[1]])


@pytest.mark.parametrize("above", [["Analysis"], ["Článek"], ["harbours", "Ferry fares approved"], ["Hauptinhalt"],
                                   ["Harbour news : Ferry fares approved"], ["Lindenau - Ferry fares approved"],
                                   ["- Home", "- Lindenau", "- Harbour"]])
def test_a_label_above_the_text_is_no_line_of_it(above):
    """The kind of piece, a kicker the markup does not mark (above the headline, given again in
    the text), a link past the navigation: labels, not the text."""
    url = "https://courier.example/ferry-fares"
    own = ["The harbour authority of Lindenau approved the new ferry fares on Tuesday after a long debate.",
           "Fares for residents stay as they are, while visitors pay two euros more in the summer months.",
           "The operator said the new fares would pay for a third boat on the line to Vesterholm next spring."]
    page = ("<html><head><meta property='og:title' content='Ferry fares approved'></head><body><article>"
            + "".join(f"<p>{line}</p>" for line in [*above, *own, *PARAGRAPHS_DE]) + "</article></body></html>")
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None))
    assert article.title == "Ferry fares approved" and article.text.split("\n")[:3] == own


def test_the_reporter_the_page_names_as_creator_where_the_outlet_is_its_author():
    """JSON-LD that names the outlet as the author and its reporter as the creator: the reporter
    wrote it. The name at the top of the text, in a script without spaces, is the byline."""
    url = "https://courier.example/jishin"
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "港町で震度4の地震",
                     "author": {"@type": "Organization", "name": "海辺新聞デジタル"}, "creator": ["渡辺花子"]},
                    ensure_ascii=False)
    paragraphs = ["気象庁は13日午後9時ごろ、港町で震度4の地震があったと発表した。震源の深さは約30キロと推定される。",
                  "この地震による津波の心配はないという。港町の消防によると、けが人の情報は入っていない。",
                  "町役場は、今後1週間ほどは同じ程度の揺れに注意するよう呼びかけている。"]
    page = (f"<html lang='ja'><head><meta property='og:site_name' content='海辺新聞デジタル'>"
            f"<script type='application/ld+json'>{ld}</script></head><body><article>"
            "<h1>港町で震度4の地震</h1><div class='mhPng'><span>渡辺花子</span></div>"
            + "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs * 2) + "</article></body></html>")
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page.encode(), content_type=None))
    assert article.authors == ("渡辺花子",) and article.credits == ()
    assert article.text.startswith(paragraphs[0])


def test_a_site_name_that_is_the_pages_own_title_cuts_nothing_off_the_headline():
    """A page that sets its application-name to the headline: the headline's second part,
    after a dash, stays (it is no site's name)."""
    url = "https://courier.example/schule"
    headline = 'Künstliche Intelligenz in der Schule - Kinder werden "schneller und erfolgreicher"'
    ld = json.dumps({"@type": "NewsArticle", "headline": headline}, ensure_ascii=False)
    page = (f"<html><head><meta property='og:site_name' content='Coastal Courier'>"
            f"<meta name='application-name' content='{headline}'><title>{headline}</title>"
            f"<script type='application/ld+json'>{ld}</script></head><body><article><h1>{headline}</h1>"
            + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS_DE) + "</article></body></html>")
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None))
    assert article.title == headline and article.site_name == "Coastal Courier"


STANDFIRST = ("The harbour authority wants a third ferry on the line to Vesterholm by the spring, and the "
              "council has found the money for it.")


@pytest.mark.parametrize("shown, kept", [
    (f"<header><h1>Ferry gets a third boat</h1><div class='summary__intro'>{STANDFIRST}</div></header>", True),
    (f"<h1>Ferry gets a third boat</h1><h2 class='subheadline'>{STANDFIRST}</h2>", True),
    # the page's description as a teaser link to this article, or shown nowhere: no standfirst
    (f"<header><h1>Ferry gets a third boat</h1></header><nav><a href='/ferry'>{STANDFIRST}</a></nav>", False),
    ("<header><h1>Ferry gets a third boat</h1></header>", False),
])
def test_the_standfirst_under_the_headline_opens_the_body(shown, kept):
    """trafilatura leaves out a standfirst set apart from the body's paragraphs (in the page's
    header, a summary box): the block below the <h1> that the page's own description opens is
    the article's first paragraph."""
    url = "https://courier.example/ferry"
    page = (f"<html><head><meta property='og:description' content='{STANDFIRST}'></head><body><article>{shown}"
            "<div class='article-body'>" + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS_DE)
            + "</div></article></body></html>")
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None))
    lines = article.text.split("\n")
    assert lines[0] == (STANDFIRST if kept else PARAGRAPHS_DE[0]) and lines.count(STANDFIRST) == int(kept)


def test_the_first_paragraph_a_page_writes_as_text_before_a_line_break_opens_the_body():
    """A page that writes its paragraphs as text between `<br>`s in one block: trafilatura drops
    the block's leading text, the first paragraph; the page's own description opens it."""
    lead = ("The harbour authority wants a third ferry on the line to Vesterholm by the spring, according to papers "
            "seen by <em><a href='https://x.example/'>the Courier</a></em>. The council has found the money.")
    paragraphs = [*PARAGRAPHS_DE, "Der Betreiber will dafür zwei weitere Boote kaufen, sagte eine Sprecherin."] * 3
    page = ("<html><head><meta name='description' content='The harbour authority wants a third ferry on the line to "
            "Vesterholm by the spring, according to papers...'></head><body><div class='article'><h1>Ferry gets a "
            f"third boat</h1><div class='byline'>Monday by Jane Doe</div><div class='content'>{lead}\n<br> <br>"
            "<img src='https://x.example/a.jpg'><center>Photo</center>" + "<br><br>".join(paragraphs)
            + "</div></div></body></html>")
    url = "https://courier.example/ferry"
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None))
    first = ("The harbour authority wants a third ferry on the line to Vesterholm by the spring, according to papers "
             "seen by the Courier. The council has found the money.")
    assert article.text.split("\n")[0] == first and article.text.count(first) == 1


@pytest.mark.parametrize("first, shown", [
    ('<span class="initial-letter-outer"><span class="initial-letter">D</span></span> <span>ie Fähre fährt ab '
     'März alle zwanzig Minuten.</span>', "Die Fähre fährt ab März alle zwanzig Minuten."),
    # a letter that is a word of its own keeps its space
    ('<span class="dropcap">A</span> third ferry will run from March, every twenty minutes.',
     "A third ferry will run from March, every twenty minutes."),
])
def test_a_drop_cap_is_one_with_the_word_it_opens(first, shown):
    article = ferry_article("https://courier.example/ferry", f"<p>{first} The council agreed on Monday.</p>")
    assert article.text.startswith(shown)


def test_words_written_for_screen_readers_only_are_no_part_of_the_text():
    """A link's "(öffnet im neuen Fenster)" and an "Article content" label between paragraphs,
    hidden from the eye by their class, are not what a reader reads; the link's words stay."""
    url = "https://courier.example/ferry"
    page = ("<html><body><article><h1>Ferry contract signed</h1>"
            "<p>Der Vertrag liegt beim <a href='https://rat.example/'>Gemeinderat<span class='go-vh'> (öffnet im "
            "neuen Fenster)</span></a> aus und kann bis Freitag eingesehen werden, sagte die Sprecherin.</p>"
            "<p class='visually-hidden'>Article content</p>"
            + "".join(f"<p>{paragraph}</p><span class='sr-only'>Article content</span>" for paragraph in PARAGRAPHS_DE)
            + "</article></body></html>")
    article = extract_article(FetchedPage(entry=entry(url), url=url, html=page, content_type=None))
    assert article.text.split("\n")[0] == ("Der Vertrag liegt beim Gemeinderat aus und kann bis Freitag eingesehen "
                                           "werden, sagte die Sprecherin.")
    assert "Fenster" not in article.text and "Article content" not in article.text
