"""The whole body and nothing else.

trafilatura finds the article's text in the visible markup. What it keeps that is not the
article goes: placeholders of blocked embeds and paywall or newsletter notices (the same notice
repeated, or in the words such notices use), picture credits, lists of other stories ("Lesen Sie
auch", "ALSO READ: ...", a label and links alone, a run of linked headlines at the end, cards of
other stories whose headline is one of the page's links or is given twice, a link in capitals
between paragraphs), readers' comments below their heading ("12 Kommentare"), prompts to comment
or share, a page's data (a bare time stamp, the address of a picture or of the page, a post's
categories and tags), video teasers ("07.12.2026 | 0:21 min"), the byline and the authors'
standing bio. What it misses comes from the page's own copy of the text, where the page has one,
or from the other blocks of an article that advertising cut into blocks
of one class (trafilatura takes the first):

- JSON-LD `articleBody`, when it is the whole article (it ends where the visible text ends),
  decides which of the visible lines belong to the article;
- the block the page's microdata marks as the article's body (`itemprop="articleBody"`) is
  read alone when trafilatura read far more than it (the whole page around it, or hidden copies
  of the article the page keeps for machines);
- a paragraph trafilatura gives twice where the page shows it once is given once;
- when the visible markup holds no article at all (a page rendered by a script), the text of
  the JSON-LD `articleBody` or of the framework's payload (`__NEXT_DATA__`, ...) is the body.
"""

from __future__ import annotations

import collections
import copy
import html
import re
from typing import Any

import lxml.html
from lxml.html import HtmlElement

from newsbeam.extraction.metadata import PageMetadata, link_text_key
from newsbeam.extraction.settings import DEFAULTS, ExtractSettings
from newsbeam.extraction.text import normalize_text
from newsbeam.schemas.lexicon import (
    AGENCY_PATTERN,
    ANY_BYLINE_WORD_PATTERN,
    BYLINE_LABEL_PATTERN,
    BYLINE_WORD_PATTERN,
    OTHER_STORIES_LABEL_PATTERN,
    OTHER_STORIES_WORD_PATTERN,
    PICTURE_CREDIT_LABEL_PATTERN,
    PUBLISHED_LABEL_PATTERN,
    UPDATED_LABEL_PATTERN,
)

WORD = re.compile(r"\w+")

# A call to follow the site or its writer: "Follow Metro.co.uk on Twitter", "follow us on Instagram".
_FOLLOW_US = r"follow [\w .'’-]{1,30} on (?:google|twitter|facebook|instagram|x\b)"
# Notices a page shows instead of, or around, its article, in the languages newsbeam meets. Only
# short lines are judged by them.
_NOTICE = re.compile(r"|".join((
    r"externe[rn]? inhalt", r"privatsphäre-einstellungen", r"datenschutz-?einstellungen",
    r"inhalt nicht verfügbar", r"um (?:diesen|den) inhalt (?:zu sehen|anzuzeigen)",
    r"embedded content", r"external content", r"this content is not available", r"enable javascript",
    r"^(?:advertisement|anzeige|werbung|publicité|publicidad|pubblicità|reklame|reklama|annonce|annons|advertentie|"
    r"mainos|comments?|kommentare)$",
    # where an advertisement or a gallery sits in the text: "Continue Reading Below", "Story
    # continues below gallery", "Weiterlesen nach der Anzeige"
    r"^(?:the )?(?:story|article|text|post) continues (?:below|after)\b", r"^continue reading (?:below|after)\b",
    r"^weiterlesen nach der (?:anzeige|werbung)", r"^(?:der )?artikel (?:wird )?(?:unter|nach) der (?:anzeige|werbung)",
    r"^la suite (?:après|sous) (?:cette |la )?(?:publicité|annonce)", r"^(?:el )?artículo continúa (?:tras|después)",
    # a link past the page's navigation, left in the text: "Hauptinhalt", "Skip to main content"
    r"^(?:hauptinhalt|zum inhalt(?: springen)?|direkt zum inhalt|main content|skip to (?:the )?(?:main )?content|"
    r"aller au contenu(?: principal)?|ir al contenido(?: principal)?)$",
    # a label whose date went elsewhere ("Published", "Offentliggjort", "- -Aktualisiert am")
    rf"^\W*(?:{PUBLISHED_LABEL_PATTERN}|{UPDATED_LABEL_PATTERN})(?: (?:on|am|le|el))?\W*$",
    r"newsletter", r"^sign up\b", r"\bsubscribe (?:to|now)\b", r"join our comment", r"got a story\?",
    r"thanks for signing up", r"processing your subscription", r"keep an eye on your inbox",
    _FOLLOW_US,
    r"^for more (?:stories|news|articles) like this\b", r"la suite est réservée", r"il vous reste \d",
    r"share (?:it|this(?: story| article| post)?) with (?:a friend|your friends)",
    r"^\W*(?:order reprints|print (?:this )?article|e-?mail (?:this )?article)\W*$",
    # a shop's disclosure that it earns from what it recommends
    r"^we independently (?:select|choose|review|research)\b", r"\bmay earn (?:us )?an? (?:small )?commission\b",
    # what the page's forms say (sharing by e-mail, a failed request)
    r"^(?:this|the) (?:article|story) has been sent to\b", r"^an error (?:has )?occurred\b",
    # the label a page shows in place of an embed until consent, a rail of videos
    r"^empfohlener redaktioneller inhalt$", r"^recommended (?:videos?|stories|articles|reading|for you)$",
    # a pointer to the site's live coverage or pictures, its link gone ("Mehr zur Lage lesen Sie in
    # unserem Liveblog:", "Follow our live coverage here:", "See more photos:")
    r"\b(?:liveblog|live-?blog|live-?ticker|newsblog|live coverage|live updates)\b[^.!?]*:$",
    r"\b(?:lesen|finden|sehen) sie [^.!?]*\b(?:in unserem|in unserer|im|hier)\b[^.!?]*:$",
    r"^see more (?:photos|pictures|images|videos)\b",
    r"reservado para suscriptores", r"この記事は会員限定", r"有料会員", r"会員登録", r"定期購読", r"読み放題",
    r"詳しくはこちら", r"メールマガジン", r"に登録すると", r"電子版が(?:利用|読め|使え)",
    # prompts to comment and notes of a story still being written
    r"join (?:the|thought-provoking) conversations?", r"\b(?:log|sign)(?:ged)? in to (?:post a )?comment",
    r"comments are closed", r"more to follow\W*$", r"\bbefore commenting\b", r"\blog ?out and then log ?in again\b",
    r"\b(?:comments?|comentários?|comentarios?|kommentare?|commentaires?|commenti)\b[^.!?]{0,100}"
    r"\b(?:moderat(?:ed|ion|or)|moderiert|moderador|modérés?|moderati)\b",
)), re.I)
# A notice of the terms a copy is given under opens with words no article's sentence opens
# with, so it goes at any length ("This copy is for your personal, non-commercial use only. To
# order presentation-ready copies ...", Dow Jones's papers under every article).
_TERMS_NOTICE = re.compile(r"^(?:this (?:copy|article|content|material) is (?:for|intended for) your personal,? "
                           r"non-?commercial use|distribution and use of this material (?:is|are) governed by|"
                           r"to order presentation-ready copies)", re.I)
# And a call to sign up for the site's newsletter, wherever it stands in the line ("Der BR24
# Newsletter informiert Sie ... in Ihrem Postfach. Hier geht's zur Anmeldung", "... Sign up for the
# free daily newsletter.").
_NEWSLETTER_CALL = re.compile(r"\bnewsletters?\b.*\b(?:anmeld\w*|abonnier\w*|sign(?:ing)?[- ]up|subscrib\w*|inbox|"
                              r"postfach)\b|\b(?:anmeld\w*|abonnier\w*|sign[- ]up|subscribe)\b.*\bnewsletters?\b", re.I)
# So does a notice that the text is a machine's translation ("Dies ist eine maschinelle
# Übersetzung eines Artikels unserer US-Kollegen ...", "This is a machine translation of ...").
_TRANSLATION_NOTICE = re.compile(r"^(?:dies ist eine|this is an?) (?:maschinelle|automatische|automatisierte|machine|"
                                 r"automatic|automated) (?:übersetzung|translation)\b", re.I)
# So do the site's calls to its reader: to support it, when the article was liked, with money or
# membership ("If you enjoyed this article, we have a proposition for you: Join ...", "Hat Ihnen
# dieser Artikel gefallen? Dann unterstützen Sie uns ..."), and to follow it ("Follow Metro.co.uk
# on Twitter and Facebook for the latest news updates. You can now also ...").
_CALL_TO_THE_READER = re.compile(
    rf"^(?:{_FOLLOW_US}|"
    r"if you (?:enjoyed|liked|value|appreciate[d]?) (?:this|our) (?:article|story|journalism|reporting)(?![\w'’])|"
    r"(?:did|do) you (?:enjoy|like) (?:this|the|our) (?:article|story|journalism)\?|"
    r"(?:hat|haben) ihnen (?:dieser|der|unser) (?:artikel|beitrag|text|journalismus) gefallen\?|"
    r"gefällt ihnen (?:dieser|der|unser) (?:artikel|beitrag|text|journalismus)\?|"
    r"vous avez aimé (?:cet|notre) article|¿?te ha gustado (?:este|nuestro) artículo|"
    r"ti è piaciuto (?:questo|l')\s?articolo)", re.I)
# The notices that go at any length, by the words they open with.
_OPENING_NOTICES = (_TERMS_NOTICE, _TRANSLATION_NOTICE, _CALL_TO_THE_READER)
_CREDIT = re.compile(rf"^(?:{PICTURE_CREDIT_LABEL_PATTERN})\s*[:©]|©|\binfogra(?:fik|phic)\b|getty ?images|"
                     rf"picture[- ]alliance|imago|shutterstock|istock|ap photo|\b(?:{AGENCY_PATTERN})\s*/|"
                     rf"/\s*(?:{AGENCY_PATTERN})\b", re.I)
# A picture's caption with its credit at the end ("Los geht's: Von Montag an ... Bild: Maximilian
# von Lachner", "The new pier. Photo: Jane Doe"): the caption, not the text.
_CAPTION_WITH_CREDIT = re.compile(rf"(?:[.!?)]\s+|\s[|/]\s+|^main )(?:{PICTURE_CREDIT_LABEL_PATTERN})\s*:\s*"
                                  r"[^.!?:]{2,60}$", re.I)
CAPTION_CHARS = 250
_MORE = re.compile(rf"^(?:(?:{OTHER_STORIES_LABEL_PATTERN})\b|(?:{OTHER_STORIES_WORD_PATTERN})\s*[:：])", re.I)
# A label and links alone: "More AP NBA: https://apnews.com/NBA and https://twitter.com/AP_Sports".
# Each link ends at a space, so a line is read one way only (a pattern that could split a run
# of "www.www.www..." many ways takes minutes on a hostile page).
_LINKS_ONLY = re.compile(r"^[^:]{1,40}:\s*(?:https?://|www\.)\S+(?:\s+(?:(?:and|und)\s+)?(?:https?://|www\.)\S+)*$",
                         re.I)
LIST_ITEM = re.compile(r"^[-–•*·]\s")
# A post's filing as a blog's template prints it above or below the text ("Filed under: Khawarij |",
# "05/10/2018 - Publicado por: ... - Categoria: Saúde - Tags: sad"): a label of the site's
# taxonomy and a colon.
_FILING = re.compile(r"(?:^|\s[-|•·]\s)(?:filed under|posted in|categor(?:y|ies|ia|ias|ie|ía|ías)|kategorien?|rubrik|"
                     r"tags?|schlagw(?:ö|oe)rter|stichw(?:ö|oe)rter|etiquetas|étiquettes|mots-clés|tag)\s*:", re.I)
# A filing that ends in its tags, which the template may go on listing a line each below it.
_TAGS_LAST = re.compile(
    r"(?:tags?|schlagw(?:ö|oe)rter|stichw(?:ö|oe)rter|etiquetas|étiquettes|mots-clés)\s*:[^:]{0,40}$", re.I)
# Filing lines are looked for among this many lines at each edge of the body.
FILING_EDGE_LINES = 3
# The heading of the readers' comments under an article: what follows it is theirs.
_COMMENTS = re.compile(r"^(?:\d+\s+)?(?:(?:top[- ]rated|reader|readers'?|latest|most recent|show|view|read all)\s+)?"
                       r"(?:comments?|kommentare?|leserkommentare|commentaires?|comentarios?|comentários?|commenti|"
                       r"reacties|kommentarer|komentarze|yorumlar)(?:\s*\(\d+\)|\s+\d+)?\s*[:\]]?$", re.I)
# A line that is a CMS's shortcode, its markup left in the text: "[button link=...]Send us your
# review[/button]".
_SHORTCODE = re.compile(r"^\[(\w+)\b[^\]]*\].*\[/\1\]$")
# A line that is only a page's data: a time stamp, the address of a picture, or a program's
# state a template prints (a flag's name in camel case with its colon, "- showPaywall:", and a
# value of no language, "- false", "- null").
_DATA_LINE = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?$|"
                        r"^https?://\S+\.(?:jpe?g|png|gif|webp|svg|avif)(?:\?\S*)?$|"
                        r"^(?:- )?(?-i:[a-z]{2,}(?:[A-Z][a-z0-9]+)+\s*[:=]\s*(?:true|false|null|undefined)?)$|"
                        r"^(?:- )?(?-i:true|false|null|undefined)$", re.I)
# The class of a block of an article's text (as a page's markup names it).
_ARTICLE_CLASS = re.compile(r"(?:^|[\s_-])(?:article|story|body|content|text|entry|post)(?:$|[\s_-])", re.I)
# A paragraph given twice is judged against the page from this length on (shorter lines, a
# list's "GPS" or a table's "63 %", recur in a page's own text).
PARAGRAPH_CHARS = 80
# Each paragraph given twice is looked up in the page's text; at most this many are (a page
# whose text repeats hundreds of lines is no reading's mistake, and each look-up reads the page).
MAX_REPEATS_CHECKED = 200
# A block marked as the article's body that holds fewer than this share of the words found is
# the article among what trafilatura read besides (on the pages measured: 24%, a page read
# whole, and 32%, the article with two hidden copies of it; 59% and more where the found text
# is the article and the block a part of it).
MARKED_BODY_SHARE = 0.4
# An article split into more blocks than this is something else: a list of teasers.
MAX_ARTICLE_PARTS = 10
# A time stamp before a byline's word on one line: "5:45 AM PST 11/19/2019 by ...".
_STAMP_BEFORE_BYLINE = re.compile(rf"^(?P<stamp>.{{6,60}}?)\s+(?=(?i:{BYLINE_WORD_PATTERN})\s)")
# A byline as a line of the body: its opening word, and the words between the names.
_BYLINE_OPENER = re.compile(rf"^(?:{ANY_BYLINE_WORD_PATTERN}|{BYLINE_LABEL_PATTERN})\s+", re.I)
_BYLINE_SEPARATORS = re.compile(r"\s*(?:,|;|&|\band\b|\bund\b|\bog\b|\bet\b|\by\b|\be\b|\bi\b|\ben\b)\s*", re.I)
# A name written in Chinese, Japanese or Korean script, without spaces: "渡辺洋介".
_CJK_NAME = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{2,8}")
# A byline or a bio is looked for among this many lines at the end of the body.
AUTHOR_LINES = 5
# A bio is at most this long (a standing bio is a few sentences).
BIO_CHARS = 600
# What a bio says of a writer's work.
_WRITERS_WORK = re.compile(r"\b(?:journalist|writer|reporter|editor|columnist|correspondent|contributor|"
                           r"has (?:covered|written|reported)|covers|writes (?:about|for)|journalist(?:in)?|"
                           r"redakteur(?:in)?|autor(?:in)?|schreibt (?:für|über))\b", re.I)
_URL = re.compile(r"^(?:https?://|www\.)\S+$")
# What a line that only tells a time may hold beside digits and marks.
_DIGIT_GROUPS = re.compile(r"\d+")
_CLOCK = re.compile(r"\d{1,2}(?::\d\d|時\d{1,2}分)")
_TIME_WORDS = re.compile(
    r"[年月日時分秒]|更新|\b[ap]\.m\.|\b(?:updated?|published|posted|aktualisiert|veröffentlicht|stand|uhr|am|um|at|pm|utc|gmt|"
    r"cet|cest|est|edt|cst|cdt|mst|mdt|pst|pdt|bst|ist|"
    r"jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|"
    r"september|october|november|december|januar|februar|märz|mai|juni|juli|oktober|dezember|"
    r"mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag)\b\.?", re.I)
_LETTERS = re.compile(r"[^\W\d_]")
# A time stamp's opening word: "Updated at 1:23 p.m.".
_STAMP_OPENER = re.compile(rf"^(?:{UPDATED_LABEL_PATTERN}|{PUBLISHED_LABEL_PATTERN}|stand)\b", re.I)
# A video or audio teaser: its date and its length ("18.04.2024 | 0:21 min").
_MEDIA_TEASER = re.compile(r"\|\s*\d{1,2}:\d\d\s*(?:min\.?|mins|minutes|minuten)?$", re.I)
NOTICE_MAX_CHARS = 160  # longer lines are the article's own, whatever words they use
# A list of other stories at the end: at least this many items of headline length.
TEASER_LIST = (3, 30, 160)
# A card's headline that is one of the page's links may be shorter ("Pats place Olszewski on
# IR"): the link says what it is.
CARD_LINK_MIN_CHARS = 15
# Headings left empty at a body's end: at most this many, each at most this long.
EMPTY_HEADINGS = (3, 20)
# What no heading has: a sentence's end (or a closing bracket or quote), or a number.
_SENTENCE_END_OR_NUMBER = re.compile(r"[.!?。！？:：)）\]」”\"]$|\d")



def clean_body(text: str, settings: ExtractSettings = DEFAULTS, links: frozenset[str] = frozenset(),
               page_urls: frozenset[str] = frozenset()) -> str:
    """The body without notices, credits, readers' comments and lists of other stories (see
    the module); `links` are the page's link texts (PageMetadata.link_texts), `page_urls` the
    addresses of the page itself (a line that is only one of them is the page's data)."""
    lines = _without_comments(text.split("\n"), settings.min_body_chars)
    kept = []
    for line in lines:
        stripped = line.strip()
        if stripped in page_urls or any(notice.match(stripped) for notice in _OPENING_NOTICES) or \
                _NEWSLETTER_CALL.search(line):
            continue
        if len(line) <= NOTICE_MAX_CHARS and (_NOTICE.search(line) or _MORE.match(line) or _LINKS_ONLY.match(line)):
            continue
        if _DATA_LINE.match(stripped) or _SHORTCODE.match(stripped) or _only_a_time(line) or (
                len(line) <= NOTICE_MAX_CHARS and _MEDIA_TEASER.search(line)):
            continue
        if len(line) <= 120 and _CREDIT.search(line) and not line.rstrip().endswith((".", "!", "?", '"', "“", "”")):
            continue
        if _shouted_link(line, links) or (len(line) <= CAPTION_CHARS and _CAPTION_WITH_CREDIT.search(line)):
            continue
        kept.append(line)
    # A run of list items of headline length at the end is a list of other stories ("- Headline:
    # ..."), with the heading above it; an item that ends with a full stop is a sentence (a
    # recipe's step), not a headline.
    least, shortest, longest = TEASER_LIST
    end = len(kept)
    while end and LIST_ITEM.match(kept[end - 1]) and shortest <= len(kept[end - 1]) <= longest and \
            not kept[end - 1].endswith("."):
        end -= 1
    if len(kept) - end >= least:
        kept = kept[:end]
        if kept and len(kept[-1]) <= 60 and not kept[-1].endswith((".", "!", "?")):
            kept.pop()
    return "\n".join(_without_teaser_cards(kept, links))


def without_template_edges(text: str) -> str:
    """The body without what a page's template leaves at its edges: the post's filing (its
    categories and tags, as a blog's template prints them, and the tags it lists a line each
    under a filing at the top: single words before the first sentence), and lines without a
    word ("|", "***"). Once the headline is taken: these are under it."""
    lines = text.split("\n")

    def filing(line: str) -> bool:
        return len(line) <= NOTICE_MAX_CHARS and _FILING.search(line) is not None and \
            not line.rstrip().endswith((".", "!", "?"))

    start = 0
    while start < len(lines) - 1 and not WORD.search(lines[start]):
        start += 1
    while start < min(FILING_EDGE_LINES, len(lines)) and filing(lines[start]):
        tags_follow = _TAGS_LAST.search(lines[start]) is not None
        start += 1
        while tags_follow and start < len(lines) - 1 and _a_tag(lines[start]):
            start += 1
    end = len(lines)
    while end > max(start, len(lines) - FILING_EDGE_LINES) and filing(lines[end - 1]):
        end -= 1
    while end > start + 1 and not WORD.search(lines[end - 1]):
        end -= 1
    return "\n".join(lines[start:end])


def _a_tag(line: str) -> bool:
    """A tag as a template lists them, a line each: a word or two, no sentence, no number."""
    return len(line.split()) <= 2 and not _SENTENCE_END_OR_NUMBER.search(line)


def _shouted_link(line: str, links: frozenset[str]) -> bool:
    """A line in capitals that is one of the page's links, anywhere in the body: the site's
    call to another of its pages ("CLICK HERE TO GET THE FOX NEWS APP", a related story's
    headline in capitals between paragraphs), not the article's sentence."""
    return line.isupper() and len(line) <= TEASER_LIST[2] and link_text_key(line) in links


def without_empty_headings(text: str) -> str:
    """The body without the headings of the page's boxes left empty at its end ("関連キーワード",
    "Mehr zum Thema", "Tags"): short lines, no sentence, no number, nothing under them. Once the
    byline is taken: a name under the last paragraph looks the same."""
    lines = text.split("\n")
    end = len(lines)
    while end > 1 and len(lines) - end < EMPTY_HEADINGS[0] and _empty_heading(lines[end - 1]):
        end -= 1
    return "\n".join(lines[:end])


def _empty_heading(line: str) -> bool:
    line = line.strip()
    words = line.split()
    if 2 <= len(words) <= 4 and all(word[:1].isupper() for word in words):
        return False  # a name under the last paragraph, not set apart: the text's own line
    return 0 < len(line) <= EMPTY_HEADINGS[1] and not _SENTENCE_END_OR_NUMBER.search(line)


def _only_a_time(line: str) -> bool:
    """A line that is a date with a time of day and nothing else ("2025年1月14日 01時28分 (1月14日
    01時40分更新)", "07.12.2026, 14:05 Uhr", "Updated 12/07/2026 2:05 PM"), or a labelled date
    ("UPDATED: Tue., Nov. 19, 2019"): the page's, not a sentence."""
    # a time alone may be an event's, a number a telephone's: a date or "Updated" with it; after
    # "Updated" a date alone is the page's too ("UPDATED: Tue., Nov. 19, 2019")
    opener = _STAMP_OPENER.match(line.strip()) is not None
    if len(line) > 80 or len(_DIGIT_GROUPS.findall(line)) < (2 if opener else 3) or \
            not (opener or _CLOCK.search(line)):
        return False
    return not _LETTERS.search(_TIME_WORDS.sub(" ", line))


def _without_comments(lines: list[str], article_chars: int) -> list[str]:
    """The lines before the readers' comments: a comments heading ("12 Kommentare", "Top Rated
    Comments") once an article's worth of text is above it, and all after it, go (the comments
    may well be longer than the article)."""
    seen = 0
    for number, line in enumerate(lines):
        if seen >= article_chars and _COMMENTS.match(line.strip()):
            return lines[:number]
        seen += len(line)
    return lines


def _without_teaser_cards(lines: list[str], links: frozenset[str]) -> list[str]:
    """The body without the cards of other stories at its end: each a headline that is a link
    of the page (or is given twice: the card's link and its heading, run together) and at most
    a one-line standfirst, two or more of them, with their heading ("Popular")."""
    def card(line: str) -> bool:
        return _card_headline(line) or (
            CARD_LINK_MIN_CHARS <= len(line) <= TEASER_LIST[2] and link_text_key(line) in links
            and not _URL.match(line.strip()))

    end, cards = len(lines), 0
    while end:
        if card(lines[end - 1]):
            end, cards = end - 1, cards + 1
        elif end >= 2 and len(lines[end - 1]) <= TEASER_LIST[2] + 60 and card(lines[end - 2]):
            end, cards = end - 2, cards + 1
        elif not WORD.search(lines[end - 1]):
            end -= 1  # an empty item between the cards
        else:
            break
    if cards < 2 or end < 1:
        return lines
    if len(lines[end - 1]) <= 30 and not lines[end - 1].endswith((".", "!", "?", ":")):
        end -= 1  # the cards' heading
    return lines[:end]


def _card_headline(line: str) -> bool:
    """A line that is one headline given twice, as a card of another story shows it."""
    line = line.strip()
    half = len(line) // 2
    return TEASER_LIST[1] <= len(line) <= 2 * TEASER_LIST[2] + 1 and len(line) % 2 == 1 and \
        line[half] == " " and line[:half] == line[half + 1:]


def without_author_lines(text: str, authors: tuple[str, ...]) -> str:
    """The body without its byline ("von Manuela Conrad", "Jane Doe and John Roe") among its
    first or last lines, and without its authors' standing bio among its last lines (a line
    that opens with an author's name and goes on in lower case: "Manuela Conrad ist
    ZDF-Reporterin ..."); the names are the byline's, read apart from the body."""
    names = {" ".join(name.split()).casefold() for name in authors
             if len(name.split()) >= 2 or _CJK_NAME.fullmatch(name)}
    if not names:
        return text
    lines = text.split("\n")
    edge = set(range(min(3, len(lines)))) | set(range(max(0, len(lines) - AUTHOR_LINES), len(lines)))
    kept = [line for number, line in enumerate(lines)
            if number not in edge or not (_names_only(line, names) or (
                number >= len(lines) - AUTHOR_LINES and _bio(line, names)))]
    return "\n".join(kept)


def _names_only(line: str, names: set[str]) -> bool:
    """Is this line the byline and nothing else, after a time stamp or not ("5:45 AM PST
    11/19/2019 by Patrick Shanley")?"""
    line = " ".join(line.split())
    stamped = _STAMP_BEFORE_BYLINE.match(line)
    if stamped and _only_a_time(stamped["stamp"]):
        line = line[stamped.end("stamp"):].strip()
    parts = _BYLINE_SEPARATORS.split(_BYLINE_OPENER.sub("", line).strip(" .:"))
    parts = [part.strip(" .").casefold() for part in parts if part.strip(" .")]
    return bool(parts) and all(part in names for part in parts)


def _bio(line: str, names: set[str]) -> bool:
    """A writer's standing bio: it opens with their name and goes on in lower case ("Manuela
    Conrad ist ZDF-Reporterin ..."), or names them (by their given name too) as a writer ("A
    38-year industry veteran and award-winning journalist, Lance has covered technology ...")."""
    folded = " ".join(line.split())
    if len(folded) > BIO_CHARS:
        return False
    if any(folded.casefold().startswith(name + " ") and folded[len(name) + 1:][:1].islower() for name in names):
        return True
    if not _WRITERS_WORK.search(folded):
        return False
    given = {name.split()[0] for name in names if len(name.split()[0]) >= 3}
    return bool(given & set(WORD.findall(folded.casefold()))) or any(name in folded.casefold() for name in names)


def split_article(tree: HtmlElement, first_line: str) -> HtmlElement | None:
    """The article as one document when the page splits it into blocks (advertising between
    them): the block holding the body's first line has a class of an article's text
    ("article__content", "story-body") that 2 to `MAX_ARTICLE_PARTS` blocks at its depth share,
    none inside another. None when the page does not split it so."""
    key = " ".join(first_line.split())[:80]
    if len(key) < 40:
        return None
    holder = next((p for p in tree.iter("p") if key in " ".join(p.text_content().split())), None)
    block = holder.getparent() if holder is not None else None
    while block is not None and not (block.tag in ("div", "section", "article") and (block.get("class") or "").strip()):
        block = block.getparent()
    if block is None or block.tag in ("body", "html") or not _ARTICLE_CLASS.search(block.get("class") or ""):
        return None
    depth = len(list(block.iterancestors()))
    parts = [part for part in tree.iter(block.tag) if part.get("class") == block.get("class")
             and len(list(part.iterancestors())) == depth]
    if not 2 <= len(parts) <= MAX_ARTICLE_PARTS:
        return None
    document = lxml.html.fromstring("<html><body><article></article></body></html>")
    article = document.find(".//article")
    for part in parts:
        article.append(copy.deepcopy(part))
    return document


# The box a page opens over a word of its text on hover (a person's card with their latest
# headlines, a glossary's definition), by its class: the box, not the word it opens over.
_POPUP_CLASS = re.compile(r"(?:tooltip|popover|hover-?card|rollover)[-_](?:\w+[-_])?"
                          r"(?:block|content|text|body|inner|box|card|popup)\b", re.I)
# (looked for inside paragraphs only: a sixth of the time of a look through the whole page)
_POPUP_CANDIDATES = ('//p//*[contains(@class, "tooltip") or contains(@class, "popover") or '
                     'contains(@class, "over-card") or contains(@class, "overcard") or contains(@class, "rollover")]')


# Text for screen readers only, by the classes that hide it from the eye ("sr-only",
# "visually-hidden", "screen-reader-text", Golem's "go-vh"): "(öffnet im neuen Fenster)" after
# each link, "Article content" between paragraphs. At most this long: a hidden block longer
# than a label is left to the extractor.
_SCREEN_READER_CLASS = re.compile(r"(?:^|\s)(?:sr-only|sr-text|visually-?hidden|u-visually-hidden|hidden-visually|"
                                  r"screen-reader-(?:text|only)|a11y-hidden|[a-z]{1,3}-vh)(?:\s|$)")
# (by the class attributes alone: two fifths less time than a look at every element)
_SCREEN_READER_CANDIDATES = ('//body//@class[contains(., "sr-") or contains(., "visually") or '
                             'contains(., "screen-reader") or contains(., "a11y") or contains(., "-vh")]/..')
SCREEN_READER_CHARS = 200


def drop_unseen(tree: HtmlElement) -> None:
    """Take out of the page's text what a reader never sees in it: the boxes it opens on hover
    inside a paragraph (The Hill's card of a politician's latest headlines under each name; the
    name they open over stays), and the words it writes for screen readers only."""
    for element in tree.xpath(_POPUP_CANDIDATES):
        if _POPUP_CLASS.search(element.get("class") or "") and element.getparent() is not None:
            element.drop_tree()
    for element in tree.xpath(_SCREEN_READER_CANDIDATES):
        if _SCREEN_READER_CLASS.search(element.get("class") or "") and element.getparent() is not None and \
                element.tag not in ("h1", "body", "article", "main") and \
                len(element.text_content()) <= SCREEN_READER_CHARS:
            element.drop_tree()


# A paragraph's first letter set as a drop cap, by its class ("initial-letter", "dropcap",
# "first-letter", "lettrine"); and the letters that are words of their own, which a space
# after them keeps apart ("A house", "I was", "Y", "E").
_DROP_CAP_CANDIDATES = ('//p//@class[contains(., "initial") or contains(., "dropcap") or contains(., "drop-cap") or '
                        'contains(., "first-letter") or contains(., "lettrine")]/..')
_ONE_LETTER_WORDS = frozenset("AIOUYEWZÀÁÉÈÓÚÅØ")


def join_drop_caps(tree: HtmlElement) -> None:
    """A drop cap as a reader sees it, one with the word it opens: a page that writes a space
    after the letter's element ("<span class="initial-letter">N</span> <span>a endlich!")
    gave "N a endlich!"."""
    for element in tree.xpath(_DROP_CAP_CANDIDATES):
        letter = element.text_content().strip()
        if len(letter) != 1 or not letter.isalpha() or letter.upper() in _ONE_LETTER_WORDS:
            continue
        while element.getparent() is not None and element.getparent().tag != "p" and \
                element.getparent().text_content().strip() == letter:
            element = element.getparent()  # the outermost element that holds the letter alone
        after = element.tail or ""
        following = element.getnext()
        rest = after.lstrip() or (following.text_content().lstrip() if following is not None else "")
        if after[:1].isspace() and rest[:1].islower():
            element.tail = after.lstrip()


def marked_body(tree: HtmlElement, visible: str, settings: ExtractSettings = DEFAULTS) -> HtmlElement | None:
    """The block the page's microdata marks as its article's body (`itemprop="articleBody"`, the
    largest), as one document, when the text found is the whole page around it: the block holds
    fewer than `MARKED_BODY_SHARE` of the text's words, and its own words are in the text. None
    otherwise (the block is most of the text, or the page marks none)."""
    blocks = tree.xpath('//*[@itemprop="articleBody"]')
    if not blocks:
        return None
    block = max(blocks, key=lambda element: len(element.text_content()))
    marked, found = _tokens(block.text_content()), _tokens(visible)
    if len(" ".join(block.text_content().split())) < settings.min_body_chars or \
            sum(marked.values()) >= MARKED_BODY_SHARE * sum(found.values()) or _share_in(marked, found) < 0.9:
        return None
    document = lxml.html.fromstring("<html><body><article></article></body></html>")
    document.find(".//article").append(copy.deepcopy(block))
    return document


def once_as_shown(text: str, tree: HtmlElement) -> str:
    """The text without the paragraphs trafilatura gave twice where the page shows them once (it
    reads `<br>`-separated paragraphs of nested blocks at two levels); a paragraph the page
    itself repeats (a pull quote, a meal plan's recipe) stays repeated."""
    lines = text.split("\n")
    repeated = len(lines) - len(set(lines))
    if not repeated or repeated > MAX_REPEATS_CHECKED:
        return text  # nothing given twice; or so much that it is the page's own (and costly to look up)
    # compared without spaces: the page's text nodes join with spaces where its elements meet
    shown = "".join(normalize_text("".join(tree.xpath(
        "//body//text()[not(ancestor::script) and not(ancestor::style)]"))).split())
    kept, seen = [], set()
    for line in lines:
        if line in seen and _paragraph(line) and shown.count("".join(line.split())) < 2:
            continue
        seen.add(line)
        kept.append(line)
    return "\n".join(kept)


def _paragraph(line: str) -> bool:
    """A paragraph as the page shows it: no list item or table row (trafilatura marks those
    with "- " and "|"), long enough to be one."""
    return len(line) >= PARAGRAPH_CHARS and not LIST_ITEM.match(line) and "|" not in line


def _tokens(text: str) -> collections.Counter:
    return collections.Counter(WORD.findall(text.casefold()))


def _share_in(part: collections.Counter, whole: collections.Counter) -> float:
    total = sum(part.values())
    return sum((part & whole).values()) / total if total else 1.0


# A standfirst is found by the first characters of the page's description, and is at most this
# long (a longer block that holds them is the article, or a part of the page around it).
STANDFIRST_KEY_CHARS = 50
STANDFIRST_CHARS = (60, 1000)
STANDFIRST_PLACES, STANDFIRST_LEVELS = 10, 4
# The elements that run inside a line of text.
_INLINE = frozenset(["a", "em", "strong", "b", "i", "u", "span", "abbr", "cite", "q", "small", "sub", "sup", "mark",
                     "time", "code", "s", "del", "ins"])
# Where a page's description in the markup is no standfirst: a link (a teaser of this article
# elsewhere on the page), a caption, the page's navigation, side boxes and forms.
_NOT_A_STANDFIRST = frozenset(["a", "nav", "aside", "footer", "figure", "figcaption", "button", "form", "label",
                               "select", "option", "script", "noscript", "template", "style", "head", "title"])


def with_standfirst(visible: str, tree: HtmlElement, metadata: PageMetadata) -> str:
    """The body with the standfirst the page shows under its headline (the summary, "Vorspann",
    "perex") first, where trafilatura left it out (it drops a lead set apart from the body's
    paragraphs on about one page in eight): the block below the <h1> that opens with the
    page's own description of the article."""
    description = " ".join((metadata.description or "").split())
    if len(description) < STANDFIRST_CHARS[0]:
        return visible
    key = description[:STANDFIRST_KEY_CHARS]
    if key in " ".join(visible.split()):
        return visible
    h1 = next((h for h in tree.iter("h1") if metadata.h1 and " ".join(h.text_content().split()) == metadata.h1), None)
    below = h1.sourceline or 0 if h1 is not None else 0
    # (a few places and levels at most: a hostile page may repeat the words ten thousand times)
    for node in tree.xpath("//body//text()[contains(., $probe)]", probe=key[:30])[:STANDFIRST_PLACES]:
        block, levels = node.getparent(), 0
        while block is not None and key not in " ".join(block.text_content().split()) and block.tag != "body":
            block, levels = block.getparent(), levels + 1
            if levels > STANDFIRST_LEVELS:
                block = None
        if block is None or block.tag == "body" or (block.sourceline or 0) < below:
            continue
        text = " ".join(block.text_content().split())
        if levels == 0 and node.is_text and len(text) > STANDFIRST_CHARS[1]:
            text = _leading_text(block)  # the block's own first lines, before its first break: a paragraph
        if not STANDFIRST_CHARS[0] <= len(text) <= STANDFIRST_CHARS[1] or \
                any(element.tag in _NOT_A_STANDFIRST for element in (block, *block.iterancestors())):
            continue
        return f"{text}\n{visible}"
    return visible


def _leading_text(block: HtmlElement) -> str:
    """The text a block opens with, up to its first line break or block of its own (a page that
    writes its paragraphs as text between `<br>`s)."""
    parts = [block.text or ""]
    for child in block:
        if not isinstance(child.tag, str) or child.tag == "br" or child.tag not in _INLINE:
            break
        parts += [child.text_content(), child.tail or ""]
    return " ".join("".join(parts).split())


def body_from_json_ld(visible: str, metadata: PageMetadata, settings: ExtractSettings = DEFAULTS) -> str:
    """The visible text, each line kept only if the article's own JSON-LD `articleBody` has it,
    when that body is the whole article: it holds nearly all of the visible text's words (so
    it is not a teaser) and the visible text's last paragraph (so it is not cut short)."""
    whole = max((normalize_text(_text(body)) for body in metadata.article_bodies), key=len, default="")
    lines = visible.split("\n")
    if len(whole) < settings.min_body_chars or not lines:
        return visible
    words = _tokens(whole)
    kept = [line for line in lines if _share_in(_tokens(line), words) >= 0.5]
    if not kept or _share_in(_tokens("\n".join(kept)), words) < 0.95:
        return visible
    last = max(kept[-3:], key=len)
    if _share_in(_tokens(last), words) < 0.9 or sum(_tokens("\n".join(kept)).values()) < 0.6 * sum(
            _tokens(visible).values()):
        return visible  # the JSON-LD body ends before the visible one: a teaser or a cut
    return "\n".join(kept)


def script_body(metadata: PageMetadata, settings: ExtractSettings = DEFAULTS) -> str:
    """The article's text from the page's script data, for a page whose markup holds none:
    JSON-LD `articleBody`, else the longest run of text in its framework's payload."""
    bodies = [normalize_text(_text(body)) for body in metadata.article_bodies]
    bodies += [normalize_text(text) for payload in metadata.payloads
               for text in _payload_texts(payload, settings.min_body_chars)]
    bodies = [b for b in bodies if len(b) >= settings.min_body_chars and not b.endswith(("…", "..."))]
    return max(bodies, key=len, default="")


def _text(value: str) -> str:
    """A text that may be HTML (a script's copy of the article often is): its paragraphs."""
    if "<" in value and re.search(r"<(?:p|br|div|h\d)\b", value, re.I):
        value = re.sub(r"(?i)<\s*(br|/p|/div|/li|/h\d)\s*/?>", "\n", value)
        value = re.sub(r"<[^>]+>", " ", value)
    return html.unescape(value)


def _payload_texts(payload: Any, min_chars: int) -> list[str]:
    """Texts of a framework's payload that may be an article body: an HTML string with
    paragraphs, or a list of paragraph blocks (objects with a text), joined in order."""
    found: list[str] = []
    stack = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            paragraphs = [_block_text(block) for block in item]
            paragraphs = [p for p in paragraphs if p]
            if len(paragraphs) >= 3 and sum(len(p) for p in paragraphs) >= min_chars:
                found.append("\n".join(paragraphs))
            stack.extend(item)
        elif isinstance(item, str) and len(item) >= min_chars and re.search(r"<p\b", item, re.I):
            found.append(_text(item))
    return found


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block if len(block) >= 40 and " " in block else ""
    if isinstance(block, dict):
        for key in ("text", "content", "html", "value", "body"):
            value = block.get(key)
            if isinstance(value, str) and len(value) >= 40 and " " in value:
                return " ".join(_text(value).split())
    return ""
