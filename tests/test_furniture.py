"""What a feed repeats in its items is its furniture, not the article (sources.furniture):
learned from the feed document's own items, taken out before matching and writing, and never
an article's own text. The feeds here are written for the tests."""

from __future__ import annotations

import html

from newsbeam.pipeline.cli import main
from newsbeam.schemas import FeedSource
from newsbeam.sources.feeds import parse_feed
from newsbeam.sources.furniture import strip_furniture
from tests.conftest import RUN_ARGS, latest_stories, serving, write_feeds_file

FORUM_POSTS = [("Spiral icicle on the porch", "frostfan", "pics", 512),
               ("Light pillars over the harbour", "nightowl_77", "pics", 1043),
               ("My grandmother's bread recipe", "crumbs", "food", 88),
               ("The old lighthouse at dawn", "keeper2", "photos", 301),
               ("A cat that opens doors", "whiskers", "aww", 2210)]


def forum_feed(posts=FORUM_POSTS) -> bytes:
    """A link aggregator's feed: each item's text is only who submitted it where, and links."""
    def description(n: int, user: str, board: str, comments: int) -> str:
        return html.escape(f'submitted by <a href="/u/{user}">{user}</a> to <a href="/r/{board}">{board}</a><br/>'
                           f'<a href="http://x.test/{n}">[link]</a> <a href="http://forum.test/{n}">'
                           f'[{comments} comments]</a>')

    items = "".join(f"<item><title>{title}</title><link>http://forum.test/{n}</link>"
                    f"<description>{description(n, user, board, comments)}</description></item>"
                    for n, (title, user, board, comments) in enumerate(posts))
    return f"<rss version='2.0'><channel><title>Forum</title>{items}</channel></rss>".encode()


LEADS = [("Ferry timetable changes", "The harbour ferry switches to its winter timetable on Monday."),
         ("Bridge closed for repairs", "Engineers found cracks in two pillars of the old bridge last week."),
         ("Mayor wins second term", "Anna Berg was re-elected with a clear majority after a quiet campaign."),
         ("School opens early", "Pupils of the new north school start classes a week before the others."),
         ("Storm warning", "Gusts of up to 110 km/h are expected along the coast tonight."),
         ("Market moves", "The Saturday market leaves the square for the old fish hall in spring."),
         ("Library extends hours", "From January the library stays open until nine on weekdays."),
         ("Rail strike called off", "Drivers and the operator agreed on pay talks late on Sunday."),
         ("New museum director", "Jonas Lind, an expert on Baltic trade, takes over the maritime museum."),
         ("Football club promoted", "A late goal sealed promotion for the town's club in front of 8,000 fans."),
         ("Hospital wing opens", "The children's wing has forty beds and its own small garden."),
         ("Water prices rise", "Households will pay six percent more for water from next month.")]


def parsed(body: bytes):
    return parse_feed(body, "http://forum.test/feed", None, FeedSource(url="http://forum.test/feed")).entries


def test_a_feeds_own_lines_leave_each_items_text():
    assert [entry.summary for entry in parsed(forum_feed())] == [""] * len(FORUM_POSTS)


def test_a_sign_off_naming_the_item_is_cut_and_the_article_stays():
    """A blog platform's sign-off carries each item's own headline and may run on from its last
    paragraph: what is before it stays."""
    items = [(headline, f"{text}\n{headline} was originally published in The Weekly on Blogland, where people "
              "are continuing the conversation by highlighting and responding to this story.")
             for headline, text in LEADS]
    items[2] = (items[2][0], items[2][1].replace("\n", " “Never again,” she said. "))
    texts = strip_furniture(items)
    assert texts[0] == LEADS[0][1]
    assert texts[2] == LEADS[2][1] + " “Never again,” she said."


def test_a_quote_two_reports_share_and_a_feed_without_furniture_stay_whole():
    quote = "“We will not give up the harbour,” the mayor said on Monday evening."
    items = [("Mayor defends harbour", f"The council met.\n{quote}"),
             ("Harbour vote delayed", f"The vote was delayed.\n{quote}"),
             ("School opens", "The new school opened its doors.\nPupils arrived by ferry."),
             ("Bridge closed", "The bridge is closed for repairs.\nTraffic goes round the bay."),
             ("Ferry timetable", "The ferry runs every hour.\nIn winter, every two hours."),
             ("Market day", "The market is on Saturday.\nStalls open at eight."),
             ("Rain expected", "Rain is expected all week.\nThe river may rise.")]
    assert strip_furniture(items) == [text for _, text in items]
    # the mayor's words in four reports of one feed are still the reports' own
    quoted = [(headline, f"{text}\n{quote}") for headline, text in LEADS[:4]] + LEADS[4:]
    assert strip_furniture(quoted) == [text for _, text in quoted]


def test_a_sentence_a_feed_opens_or_closes_its_items_with_leaves_the_line_it_runs_on_in():
    """A listing site's opening sentence runs on into each listing's details, on one line, and a
    release blog's sign-off follows its last sentence: the sentences go, the details stay. A
    sentence with a number that differs (a version) is each item's own."""
    contact = "Please contact Harbour Lettings on 040 if you wish to book a viewing."
    listings = [(f"Flat {n}", f"{contact.replace('040', '')} {detail}") for n, detail in enumerate([
        "Two rooms above the bakery, balcony to the harbour, wooden floors, a bath with a window, a cellar room "
        "and a place for bicycles in the yard, 780 a month.",
        "Studio by the ferry landing, new kitchen, a shower, built-in wardrobes, a view of the boats from the desk "
        "and the bus at the door, 540 a month.",
        "Three rooms in the old school, a garden shared with two families, a large kitchen, a stove in the "
        "living room, 1,150 a month.",
        "Attic flat on Market Street, sloping ceilings, skylights in every room, a small kitchen, the market "
        "below on Saturdays, 620 a month."])]
    assert strip_furniture(listings) == [detail for _, detail in listings for detail in [detail.split(". ", 1)[1]]]
    sign_off = "Questions? Visit us on the harbour office forum."
    changes = ["adds a late boat on Fridays for the people who work in the harbour bars and want to get home "
               "before midnight, from the first week of May until the end of September",
               "moves the first boat of the day to six in the morning, half an hour earlier than now, so that "
               "the pupils of the north school reach their first lesson",
               "drops the stop at the old mill, where fewer than ten people a day got on last year, and adds one "
               "at the new housing estate on the east bank instead",
               "runs a boat every half hour in August, when the summer guests fill the boats to the last seat on "
               "most afternoons, and every hour again from September"]
    releases = [(f"Timetable 2026.{n}", f"This timetable {change}. {sign_off}") for n, change in enumerate(changes, 1)]
    assert strip_furniture(releases) == [f"This timetable {change}." for change in changes]


def test_a_templated_lead_that_gives_each_items_own_numbers_stays():
    """A release blog opens each announcement with the same sentence but its own version and
    date: alike in words, each the item's own. Its sign-off, the same in each, goes."""
    sign_off = "Questions? Ask us on the harbour office forum."
    items = [(f"Timetable {version}", f"Today we publish timetable {version} of the harbour ferry, the {nth} "
              f"timetable of {year}. Here is what changes:\n{change}\n{sign_off}")
             for version, nth, year, change in [
                 ("2026.1", "first", 2026, "A late boat on Fridays."), ("2026.2", "second", 2026, "The first boat "
                 "leaves at six."), ("2026.3", "third", 2026, "No stop at the old mill."),
                 ("2027.1", "first", 2027, "A boat every half hour in August.")]]
    assert strip_furniture(items) == [text.rsplit("\n", 1)[0] for _, text in items]


def test_a_sign_off_in_few_of_many_items_is_kept():
    """Recurring means in many of the feed's items: a line in 2 of 12 is the items' own."""
    items = [(headline, text + ("\nQuestions? Ask the harbour office." if n < 2 else ""))
             for n, (headline, text) in enumerate(LEADS)]
    assert strip_furniture(items) == [text for _, text in items]


def test_two_posts_with_only_the_feeds_furniture_are_not_one_story(tmp_path):
    """Their pages fail, their feed texts are furniture only: no story joins them (each waits
    for its page as a dead letter)."""
    with serving(tmp_path / "site") as site:
        site.routes["/feed.rss"] = lambda h: h.send_body(200, forum_feed(), "application/rss+xml")
        feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feed.rss"])
        main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), "--store",
              str(tmp_path / "state.db"), *RUN_ARGS])
    stories = latest_stories(tmp_path / "out")
    assert all(len(story["variants"]) == 1 for story in stories.values())
    assert not any("submitted by" in v["text"] for story in stories.values() for v in story["variants"])


def test_what_one_item_alone_shows_is_cut_by_the_teaser_list():
    """A read-on link with the time the item was written, and an ellipsis a feed lost to "?"."""
    from newsbeam.sources.feeds import strip_teasers

    assert strip_teasers("A ferramenta ajuda o eleitor. Leia mais (09/24/2018 - 19h22)") == \
        "A ferramenta ajuda o eleitor."
    assert strip_teasers("O candidato aproxima-se de Bolsonaro com 22%, uma diferença de 3 pontos em [?]") == \
        "O candidato aproxima-se de Bolsonaro com 22%, uma diferença de 3 pontos em"
    assert strip_teasers("Pedimos ajuda? [sic]") == "Pedimos ajuda? [sic]"
    # a line pointing to another story, by the labels page bodies lose them by too
    assert strip_teasers("The ferry runs again.\nALSO READ: Rowers win\nLeia também: Outra notícia") == \
        "The ferry runs again."
    assert strip_teasers("The ferry runs again.\nRelated to the storm, the port stays shut.") == \
        "The ferry runs again.\nRelated to the storm, the port stays shut."


def test_a_feeds_kickers_and_bylines_leave_its_headlines():
    from newsbeam.sources.furniture import split_titles

    sports = [("Transfer fix | Iborra returns to Spain for good", ("Kicker Desk",)),
              ("Second attempt | Magdeburg loans out a young talent", ("Kicker Desk",)),
              ("Regional league | Bonn appoints a new head coach", ("Kicker Desk",)),
              ("Club sold to local investors", ("Kicker Desk",))]
    assert split_titles(sports) == [("Iborra returns to Spain for good", "Transfer fix"),
                                    ("Magdeburg loans out a young talent", "Second attempt"),
                                    ("Bonn appoints a new head coach", "Regional league"),
                                    ("Club sold to local investors", None)]
    opinion = [("The response to it was worse | Cas Mudde", ("Cas Mudde",)),
               ("Politics could change like it did | Erica Chenoweth and Jeremy Pressman",
                ("Erica Chenoweth and Jeremy Pressman",)),
               ("Harbour deal | What the mayor did not say", ("Anna Berg",)),
               ("Storm closes the coast road", ("Anna Berg",))]
    # a byline after the pipe goes (the authors keep it); one pipe before a headline is no kicker
    assert split_titles(opinion) == [("The response to it was worse", None),
                                     ("Politics could change like it did", None),
                                     ("Harbour deal | What the mayor did not say", None),
                                     ("Storm closes the coast road", None)]


SITE_REPORTS = [
    ("ferry", "Ferry timetable changes", LEADS[0][1], "Boats leave every forty minutes until the end of March."),
    ("bridge", "Bridge closed for repairs", LEADS[1][1], "Cars are sent round the bay by the old coast road."),
    ("mayor", "Mayor wins second term", LEADS[2][1], "Turnout was the lowest in twenty years, officials said."),
    ("school", "School opens early", LEADS[3][1], "Parents had asked for the earlier start for two years."),
    ("storm", "Storm warning", LEADS[4][1], "Ferries may be cancelled and the harbour gates closed."),
]
# A standing line the extractor keeps (it reads as text): the reporter's bio under every report.
BIO = "Anna Berg has covered the harbour and the town council for the Courier since 2009."
QUOTE = "“We will not give up the harbour,” the mayor told the council on Monday evening."


def site_report(title: str, lead: str, second: str) -> str:
    paragraphs = [lead, second, QUOTE, BIO, "A third paragraph of this report goes on with more details "
                  f"about {title.lower()} and what the town council plans next."]
    return (f"<html lang='en'><head><title>{title}</title><meta property='article:tag' content='Harbour'></head>"
            f"<body><article><h1>{title}</h1>"
            + "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs) + "</article></body></html>")


def test_what_a_site_repeats_on_its_pages_leaves_their_bodies_from_the_first_pass_and_after(tmp_path):
    """Four reports of one site in the first pass, a fifth a pass later: the reporter's bio under
    every article leaves all five bodies (the site's memory is the store's); the mayor's words,
    quoted in all of them, stay."""
    with serving(tmp_path / "site") as site:
        def feed(reports) -> bytes:
            items = "".join(f"<item><title>{title}</title><link>{site.base_url}{slug}.html</link></item>"
                            for slug, title, _, _ in reports)
            return f"<rss version='2.0'><channel><title>C</title>{items}</channel></rss>".encode()

        pages = {f"/{slug}.html": site_report(title, lead, second).encode()
                 for slug, title, lead, second in SITE_REPORTS}
        for path in pages:
            site.routes[path] = lambda h, path=path: h.send_body(200, pages[path], "text/html; charset=utf-8")
        listed = SITE_REPORTS[:4]
        site.routes["/feed.rss"] = lambda h: h.send_body(200, feed(listed), "application/rss+xml")
        feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feed.rss"])
        arguments = ["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]
        assert main(arguments) == 0
        listed = SITE_REPORTS
        assert main(arguments) == 0
    stories = latest_stories(tmp_path / "out")
    assert len(stories) == 5
    for story in stories.values():
        assert BIO not in story["text"]
        assert QUOTE in story["text"] and "A third paragraph of this report" in story["text"]
        assert story["tags"] == ["Harbour"] == story["variants"][0]["tags"]  # what the page declares


def test_a_paragraph_on_two_pages_of_a_site_or_on_three_of_three_sites_is_the_articles_own():
    from newsbeam.extraction.site_furniture import MemorySites, strip_site_furniture
    from newsbeam.schemas import Article

    def article(url: str, lead: str) -> Article:
        return Article(url=url, feed_url="", title="T", text=f"{lead}\n{BIO}\n" + f"{lead} " * 4,
                       language="en", published=None, authors=(), site_name=None, description=None, image=None,
                       tags=(), body_source="page")

    two = [article(f"https://courier.example/{n}", LEADS[n][1]) for n in range(2)]
    assert strip_site_furniture(two, MemorySites(), "2026-12-07T00:00:00+00:00") == two
    elsewhere = [article(f"https://site{n}.example/a", LEADS[n][1]) for n in range(3)]
    assert strip_site_furniture(elsewhere, MemorySites(), "2026-12-07T00:00:00+00:00") == elsewhere
    memory = MemorySites()
    strip_site_furniture(two, memory, "2026-12-07T00:00:00+00:00")
    (third,) = strip_site_furniture([article("https://courier.example/2", LEADS[2][1])], memory,
                                    "2026-12-08T00:00:00+00:00")
    assert BIO not in third.text and third.text.startswith(LEADS[2][1])  # remembered: the third page
