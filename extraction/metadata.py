"""What a page says about itself, read once from its markup: the JSON-LD of its article, its
meta tags, its main headline, and the names it gives its site. The other modules choose from
these (titles, authors, bodies)."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import json_repair
import lxml.etree
import lxml.html
from trafilatura.utils import load_html

from newsbeam.schemas import same_site
from newsbeam.schemas.lexicon import (
    BYLINE_WORD_PATTERN,
    PICTURE_CREDIT_LABEL_PATTERN,
    PUBLISHED_LABEL_PATTERN,
    PUBLISHED_LABELS,
    UPDATED_LABEL_PATTERN,
)

# JSON-LD types of an article (schema.org): NewsArticle, ReportageNewsArticle, BlogPosting, ...
_ARTICLE_TYPE = re.compile(r"(Article|BlogPosting|LiveBlogPosting|Report)$")
# Nodes that date the page rather than the article (a site's WebPage node of a @graph, a fact
# check's ClaimReview): their datePublished and dateModified count after every article's and
# meta tag's.
_PAGE_TYPE = re.compile(r"(WebPage|ClaimReview)$")
_ORGANIZATION_TYPE = re.compile(r"(Organization|Corporation|NewsMediaOrganization)$")
# JSON-LD that is not JSON (a comma before a closing bracket, a `// comment`, a string in single
# quotes, an unescaped quote, a brace too many) is repaired, up to this many characters a page:
# the repair reads about 4 µs a character, and a page's JSON-LD is a few thousand.
MAX_REPAIRED_JSON_LD_CHARS = 100_000
# Words a page declares as its section that name none.
_NO_SECTION = frozenset(("post", "posts", "article", "articles", "all", "home", "homepage", "home page", "front page",
                         "startseite", "uncategorized", "allgemein", "default"))
# A caption that is a byline ("Von Jane Doe, Redakteurin"): the figure is the author's portrait.
_PORTRAIT = re.compile(rf"^(?i:{BYLINE_WORD_PATTERN})\s+[A-ZÀ-ÖØ-Þ]")
# A figure that advertises the publisher's magazine or newsletter ("Need more space? Subscribe
# to our sister title ..."), not the article's picture.
_PROMOTION = re.compile(r"\b(?:subscribe|subscription|newsletter|sign up|abonnieren|abonnement)\b", re.I)
# The lead image is the first figure with an image among this many (an author's portrait may come first).
LEAD_FIGURES = 2
_AUTHOR_META = ("author", "article:author", "byl", "dc.creator", "parsely-author", "sailthru.author")
# Meta tags that give the time a page was last changed, the most specific first.
_MODIFIED_META = ("article:modified_time", "og:updated_time", "og:article:modified_time", "datemodified",
                  "last-modified", "dcterms.modified")
# Meta tags that give a page's publication time, the most specific first.
_PUBLISHED_META = ("article:published_time", "og:article:published_time", "og:published_time", "published_time",
                   "datepublished", "publishdate", "publish-date", "pubdate", "parsely-pub-date", "sailthru.date",
                   "publication_date", "article.published", "dc.date.issued", "dcterms.issued", "dc.date",
                   "dcterms.created", "date")


@dataclasses.dataclass
class Author:
    name: str
    organization: bool = False  # said to be one (JSON-LD @type)


@dataclasses.dataclass
class PageMetadata:
    headlines: list[str]  # JSON-LD headline of the article, first first
    meta_titles: dict[str, str]  # og:title, twitter:title, title: as given
    h1: str | None  # the page's main headline as shown, without a kicker set inside it
    kicker: str | None  # the line the page sets above (or inside, apart from) its main headline
    site_names: list[str]  # og:site_name, application-name, JSON-LD publisher
    ld_authors: list[Author]
    meta_authors: list[str]
    bylines: list[str]  # the text of the page's byline elements
    author_links: list[str]  # the text of the first links to an author's page ("von <a href=/autoren/...>")
    description: str | None
    image: str | None  # og:image
    language: str | None  # <html lang> or og:locale, two letters: a hint for language detection
    article_bodies: list[str]  # JSON-LD articleBody
    published: list[str]  # publication times as the page gives them: JSON-LD, meta tags, <time>, first first
    payloads: list[Any]  # parsed JSON of framework script payloads (__NEXT_DATA__, ...)
    host: str
    canonical: str | None = None  # the address the page gives itself (rel=canonical, og:url), http(s) only
    modified: list[str] = dataclasses.field(default_factory=list)  # when it was last changed: JSON-LD, meta
    section: str | None = None  # the section it declares (JSON-LD articleSection, article:section)
    free: bool | None = None  # whether it says it is free to read (JSON-LD isAccessibleForFree)
    # The lead image's caption and credit, where the page gives them (JSON-LD ImageObject, the
    # first <figure> of the article)
    image_caption: str | None = None
    image_credit: str | None = None
    # The page names an address on another site as its own: its claims of who it is (site name)
    # are no more than claims, and the host it was fetched from names it instead.
    elsewhere: bool = False
    # The texts of the page's links of a few words or more (folded: fold_spaces, lower case):
    # a line of the body that is one of them whole is a link to another page, not a sentence.
    link_texts: frozenset[str] = frozenset()

    @property
    def site_name(self) -> str | None:
        """The name the page gives its site; the host it was fetched from when it claims to be
        elsewhere (a page on any host can call itself DER SPIEGEL)."""
        if self.elsewhere:
            return self.host.removeprefix("www.") or None
        names = [name for name in (site_name_of(value, self.host) for value in self.site_names) if name]
        # a name like the host's before another ("heise online" before the section's "Security")
        return next((name for name in names if _like_the_host(name, self.host)), next(iter(names), None))


def site_name_of(value: str | None, host: str) -> str | None:
    """A site's name as a page gives it, as a reader would name the site: a name written as the
    site's own address is its host ("https://www.kleinezeitung.at"), another address or a handle
    is none ("https://twitter.com/...", "@site"), a copyright notice's words are no part of it
    ("人民网版权所有", "© Coastal Courier"), nor a tagline after a name like the host's, nor the
    host after the name ("The Jerusalem Post | JPost.com")."""
    name = " ".join(_COPYRIGHT.sub(" ", value or "").split()).strip(" -|,")
    if "://" in name or name.startswith("www."):
        address = urllib.parse.urlsplit(name if "://" in name else f"https://{name}").hostname or ""
        return address.removeprefix("www.") if address and address == host else None
    if not name or name.startswith("@"):
        return None
    first, *rest = _TAGLINE_SEPARATOR.split(name, maxsplit=1)
    if rest and _like_the_host(first, host):  # "LinkNaija | Nigeria's popular news platform"
        return first
    if rest and _DOMAIN.match(rest[0]) and _like_the_host(rest[0], host):  # "The Jerusalem Post | JPost.com"
        return first
    return name


# Between a site's name and its tagline or topics: "LinkNaija | Nigeria's popular news platform",
# "Autoracing | F1 | Indy", "Remember 80/90 - Memorabilia anni 80/90".
_TAGLINE_SEPARATOR = re.compile(r"\s+[|\-–—·•:]\s+")
# A name written as an address without its scheme: "JPost.com", "Golem.de".
_DOMAIN = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}$", re.I)
# The words of a copyright notice run into a site's name.
_COPYRIGHT = re.compile(r"©|\(c\)|copyright|all rights reserved|版权所有|著作権|저작권", re.I)
# The labels of a host that say nothing of the site ("www", "com", "co", "de").
_HOST_LABEL_CHARS = 3


def _like_the_host(name: str, host: str) -> bool:
    """Does this name read as the host's (one of its labels in the name's letters, or the name in
    a label: "heise online" on www.heise.de, "Golem.de" on www.golem.de)?"""
    letters = "".join(character for character in name.casefold() if character.isalnum())
    labels = ["".join(character for character in label if character.isalnum())
              for label in host.casefold().split(".")[:-1] if label != "www"]
    labels = [label for label in labels if len(label) >= _HOST_LABEL_CHARS]
    return len(letters) >= _HOST_LABEL_CHARS and any(label in letters or letters in label for label in labels)


def link_text_key(text: str) -> str:
    """A link's text (or a line of the body) as PageMetadata.link_texts holds it."""
    return " ".join(text.split()).casefold()


def _link_texts(tree: lxml.html.HtmlElement) -> frozenset[str]:
    texts = (link.text_content() for link in tree.iter("a") if link.get("href"))
    return frozenset(key for key in map(link_text_key, texts) if len(key.split()) >= 3 and len(key) <= 300)


def clean(value: Any) -> str:
    """A string value from markup or JSON: entities decoded, whitespace single."""
    return " ".join(html.unescape(str(value)).split()) if value is not None else ""


def parse_page(page: bytes | str) -> lxml.html.HtmlElement:
    """The page's tree, parsed once for everything that reads it: as trafilatura parses it
    (its encoding detection and repairs; it takes the tree as it is), an empty page when the
    markup holds none."""
    tree = load_html(page)
    return tree if tree is not None else lxml.html.fromstring("<html></html>")


def read_metadata(page: bytes | str | lxml.html.HtmlElement, url: str) -> PageMetadata:
    """What the page's markup says of itself. It reads the tree and leaves it as it was."""
    tree = page if isinstance(page, lxml.html.HtmlElement) else parse_page(page)
    nodes = list(_json_ld(tree))
    articles = [n for n in nodes if any(_ARTICLE_TYPE.search(t) for t in _types(n))]
    pages = [n for n in nodes if any(_PAGE_TYPE.search(t) for t in _types(n))]
    meta = {(m.get("property") or m.get("name") or "").lower(): m.get("content") or ""
            for m in tree.iter("meta") if m.get("content")}
    authors = []
    for article in articles:
        named = list(_authors(article.get("author")))
        if not any(not author.organization for author in named):  # the outlet as author, its reporter as creator
            named += [creator for creator in _authors(article.get("creator")) if not creator.organization]
        authors += named
    publishers = [clean(a.get("publisher", {}).get("name")) for a in articles if isinstance(a.get("publisher"), dict)]
    publishers += [clean(n.get("name")) for n in nodes if any(_ORGANIZATION_TYPE.search(t) for t in _types(n))]
    title = tree.find(".//title")
    main_h1 = _main_headline(tree)
    # the article's own headline (where og:title and <title> may well be only the site's name)
    page_titles = {clean(a.get("headline")) for a in articles} | {_h1_text(main_h1) if main_h1 is not None else ""}
    canonical = _canonical(tree, meta, url)
    lead = _lead_image(articles, tree, meta)
    bylines = _bylines(tree)
    return PageMetadata(
        headlines=[clean(a["headline"]) for a in articles
                   if isinstance(a.get("headline"), str) and clean(a["headline"])],
        meta_titles={name: clean(value) for name, value in (
            ("og:title", meta.get("og:title")), ("twitter:title", meta.get("twitter:title")),
            ("title", title.text_content() if title is not None else None)) if clean(value)},
        h1=_h1_text(main_h1) if main_h1 is not None else None,
        kicker=_kicker(main_h1) if main_h1 is not None else None,
        # a site name that is the page's own headline is none (an application-name set to it)
        site_names=[n for n in [clean(meta.get("og:site_name")), clean(meta.get("application-name")), *publishers]
                    if n and n not in page_titles],
        ld_authors=authors,
        meta_authors=[clean(m.get("content")) for m in tree.iter("meta")
                      if (m.get("name") or m.get("property") or "").lower() in _AUTHOR_META and m.get("content")],
        bylines=bylines,
        author_links=_author_links(tree),
        description=clean(meta.get("og:description") or meta.get("description")) or None,
        image=picture_address(lead.url, url) or picture_address(meta.get("og:image"), url),
        image_caption=lead.caption, image_credit=lead.credit,
        language=clean(tree.get("lang") or meta.get("og:locale"))[:2].lower() or None,
        article_bodies=[a["articleBody"] for a in articles if isinstance(a.get("articleBody"), str)],
        published=[*(a["datePublished"] for a in articles if isinstance(a.get("datePublished"), str)),
                   *(meta[name] for name in _PUBLISHED_META if meta.get(name)), *_time_elements(tree),
                   *_dated(pages, "datePublished"), *_stamps(bylines)] or _labelled_stamps(tree),
        payloads=list(_payloads(tree)),
        host=(urllib.parse.urlsplit(url).hostname or "") if url else "",
        canonical=canonical,
        elsewhere=bool(canonical and url and not same_site(canonical, url)),
        link_texts=_link_texts(tree),
        modified=[*(a["dateModified"] for a in articles if isinstance(a.get("dateModified"), str)),
                  *(meta[name] for name in _MODIFIED_META if meta.get(name)), *_dated(pages, "dateModified")],
        section=next(filter(None, (_section(s, url) for s in [*(_first(a.get("articleSection")) for a in articles),
                                                              meta.get("article:section")])), None),
        free=next((_flag(a["isAccessibleForFree"]) for a in articles if "isAccessibleForFree" in a), None),
    )


class LeadImage(NamedTuple):
    url: str | None
    caption: str | None
    credit: str | None


# A caption's credit at its end: "Foto: Jane Doe", "Photo: Reuters", "Bild: dpa", "© AFP".
# Its label: "Foto:", "Photograph:", "Image via", "Photo by", "Courtesy of", "©".
_CREDIT_LABEL = (rf"(?:(?:{PICTURE_CREDIT_LABEL_PATTERN}|source)\s*:|credit(?:\.\.\.|…)|©|"
                 rf"(?:(?:{PICTURE_CREDIT_LABEL_PATTERN})\s+(?:via|by|von|courtesy of)|courtesy of)\s)")
_CAPTION_CREDIT = re.compile(rf"(?:^|\s*[(\[|/–—-]?\s*){_CREDIT_LABEL}\s*([^()\[\]]{{2,80}}?)\s*[)\]]?\s*$", re.I)
# A caption that is only a name in brackets: "(The Independent)".
_BRACKETED_CREDIT = re.compile(r"^[(\[]\s*([^()\[\]]{2,80}?)\s*[)\]]$")
# The label a caption opens with for screen readers ("Legende: ...", an icon's name: "Camera
# Icon"): no part of it.
_CAPTION_LABEL = re.compile(r"^(?:(?:legende|bildlegende|bildunterschrift|légende|caption|photo caption)\s*:\s*|"
                            r"(?:camera|image|photo|expand|zoom)\s*icon\s*)", re.I)
_CREDIT_CLASS = ('contains(@class, "credit") or contains(@class, "copyright") or contains(@class, "author") or '
                 'contains(@class, "source")')
# Where an <img> has its picture: a lazy image's data attributes before its src (a placeholder).
_IMAGE_SOURCES = ("data-src", "data-lazy-src", "data-original", "src")
# A caption that is a credit and nothing else says so by a class of that very name.
_CREDIT_ONLY_CLASS = " or ".join(f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'
                                 for name in ("attribution", "credit", "credits", "copyright"))


def _lead_image(articles: list[dict], tree: Any, meta: dict[str, str]) -> LeadImage:
    """The article's lead image, with its caption and credit: its JSON-LD ImageObject
    (caption, creditText, copyrightHolder, author), else the first <figure> of the article
    with an image (its <figcaption>, the credit set apart or written at the caption's end),
    else og:image and og:image:alt."""
    for article in articles:
        image = _first(article.get("image"))
        if isinstance(image, dict) and (image.get("url") or image.get("contentUrl")):
            credit = image.get("creditText") or _name(image.get("copyrightHolder")) or _name(image.get("author"))
            caption, written = _split_credit(clean(image.get("caption") or image.get("description")))
            return LeadImage(clean(_first(image.get("url") or image.get("contentUrl"))), caption,
                             _credit_label_off(clean(credit)) or written)
    root = next(iter(tree.xpath("//article")), tree)
    for figure in root.xpath(".//figure[.//img]")[:LEAD_FIGURES]:
        shown_with = clean(figure.xpath("string(.//figcaption)"))
        if _PORTRAIT.match(shown_with) or _PROMOTION.search(shown_with):
            continue  # the author's portrait beside the byline, a magazine's cover: not the article's picture
        # a lazy image has its picture in data-src (and a placeholder in src, if any)
        image = figure.xpath(".//img")[0]
        source = next((image.get(name) for name in _IMAGE_SOURCES if image.get(name)), "")
        caption_element = next(iter(figure.xpath(".//figcaption")), None)
        if caption_element is None:
            break
        # the credit set apart: elements of the caption, or the whole caption ("attribution")
        credited = caption_element.xpath(f"self::*[{_CREDIT_ONLY_CLASS}]") or \
            caption_element.xpath(f".//*[{_CREDIT_CLASS}]")
        credits = [clean(element.text_content()) for element in credited]
        text = clean(caption_element.text_content())
        for credit in credits:  # the caption without the credit set apart in it
            text = text.replace(credit, "").strip()
        caption, written = _split_credit(text)
        return LeadImage(clean(source) or None, caption, _credit_label_off(" ".join(credits)) or written)
    caption, written = _split_credit(clean(meta.get("og:image:alt")))
    return LeadImage(None, caption, written)


def _section(value: Any, url: str) -> str | None:
    """The section as a reader would name it: the first of a list written as one ("Global,
    Innovation"), one of a name given twice ("News - News"); None for a CMS's slug ("news_news"),
    a word that names no section ("post", "All") or the site's own address ("gizmodo.com")."""
    section = clean(value).split(",")[0].strip()
    parts = {part.strip() for part in section.split(" - ")}
    if len(parts) == 1:
        section = parts.pop()
    host = (urllib.parse.urlsplit(url).hostname or "").removeprefix("www.") if url else ""
    if not section or "_" in section or section.casefold() in _NO_SECTION or section.casefold() == host:
        return None
    return section


def _split_credit(caption: str) -> tuple[str | None, str | None]:
    """A caption and the credit written at its end ("... am Montag. Foto: Jane Doe"), looked for
    in its last 200 characters (a credit is short; a hostile caption may be a megabyte)."""
    caption = _CAPTION_LABEL.sub("", caption).lstrip(":;, ")
    alone = _BRACKETED_CREDIT.match(caption)
    if alone:
        return None, _credit_label_off(alone.group(1))
    start = max(0, len(caption) - 200)
    match = _CAPTION_CREDIT.search(caption, start)
    if match is None:
        return caption or None, None
    return caption[:match.start()].strip() or None, _credit_label_off(match.group(1))


def _credit_label_off(credit: str | None) -> str | None:
    """A credit without its brackets and label: "(Image credit: TNG Collaboration)" is "TNG
    Collaboration"."""
    if not credit:
        return None
    bracketed = _BRACKETED_CREDIT.match(credit.strip())
    credit = bracketed.group(1) if bracketed else credit
    return re.sub(rf"^{_CREDIT_LABEL}\s*", "", credit, flags=re.I).strip() or None


def _name(value: Any) -> str:
    value = _first(value)
    return clean(value.get("name")) if isinstance(value, dict) else clean(value) if isinstance(value, str) else ""


def _first(value: Any) -> Any:
    """A JSON-LD value that may be a list: its first item."""
    return value[0] if isinstance(value, list) and value else value


def _flag(value: Any) -> bool | None:
    """A JSON-LD boolean, written as one or as text ("False", "true")."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text == "true" else False if text == "false" else None


def _canonical(tree: Any, meta: dict[str, str], url: str) -> str | None:
    """The page's own address for itself: <link rel=canonical>, else og:url, resolved against
    the page's URL."""
    links = [link.get("href") for link in tree.iter("link")
             if "canonical" in (link.get("rel") or "").lower().split() and link.get("href")]
    return next(filter(None, (web_address(candidate, url) for candidate in [*links, meta.get("og:url")])), None)


def picture_address(candidate: Any, base: str | None) -> str | None:
    """The address of an article's picture (web_address), not of the stand-in a site shows
    before it or instead of one: a file named only for that ("placeholder.png", "player-spinner",
    "opengraph_default.jpg", "<site>_fb_logo.jpg")."""
    address = web_address(candidate, base)
    if address is None:
        return None
    parts = urllib.parse.urlsplit(address)
    stem = parts.path.rsplit("/", 1)[-1].rsplit(".", 1)[0].casefold()
    words = set(filter(None, re.split(r"[\W_]+", stem)))
    site = set((parts.hostname or "").casefold().split("."))
    stand_in = words & _STAND_IN_WORDS and words <= _STAND_IN_WORDS | _PICTURE_WORDS | site
    return None if stand_in else address


# The words a stand-in's file is named with ("image.jpg", "social" alone name real pictures too).
_STAND_IN_WORDS = frozenset(("placeholder", "lazyload", "spinner", "spacer", "blank", "pixel", "transparent",
                             "missing", "default", "fallback", "logo", "dummy", "noimage"))
_PICTURE_WORDS = frozenset(("image", "img", "picture", "photo", "player", "loading", "lazy", "opengraph", "og",
                            "fb", "facebook", "share", "social", "site", "empty", "no", "thumb"))


def web_address(candidate: Any, base: str | None) -> str | None:
    """An address a page gives (of itself, of a picture) resolved against the page's URL; None
    unless it is an http(s) URL a reader can follow (not a `data:` placeholder, not a list)."""
    if not isinstance(candidate, str) or not candidate.strip():
        return None
    try:
        found = urllib.parse.urljoin(base or "", clean(candidate))
        parts = urllib.parse.urlsplit(found)
    except ValueError:  # what a hostile address makes the URL library raise
        return None
    if parts.scheme.lower() in ("http", "https") and parts.hostname and found.isprintable() and " " not in found:
        return found
    return None


def _dated(nodes: list[dict], key: str) -> list[str]:
    return [node[key] for node in nodes if isinstance(node.get(key), str)]


def _types(node: dict) -> list[str]:
    kinds = node.get("@type")
    return [str(k) for k in (kinds if isinstance(kinds, list) else [kinds]) if k]


def _json_ld(tree: Any) -> Iterator[dict]:
    """Every JSON-LD object of the page, @graph and nested lists unfolded."""
    repair_budget = MAX_REPAIRED_JSON_LD_CHARS
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        text = script.text_content() or "null"
        try:
            data = json.loads(text, strict=False)
        except ValueError:
            if len(text) > repair_budget:
                continue
            repair_budget -= len(text)
            try:
                data = json_repair.loads(text)
            except (ValueError, RecursionError):
                continue
        except RecursionError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                yield item
                if "@graph" in item:
                    stack.append(item["@graph"])


def _authors(value: Any) -> Iterator[Author]:
    if isinstance(value, list):
        for item in value:
            yield from _authors(item)
    elif isinstance(value, dict):
        name = value.get("name")
        organization = any(_ORGANIZATION_TYPE.search(t) for t in _types(value))
        for item in (name if isinstance(name, list) else [name]):
            if isinstance(item, dict):
                yield from _authors(item)
            elif clean(item):
                yield Author(clean(item), organization)
    elif isinstance(value, str) and clean(value):
        yield Author(clean(value))


def _time_elements(tree: Any) -> Iterator[str]:
    """The times the page marks as its publication: itemprop="datePublished", then the first
    <time datetime> of the article (or of the page)."""
    for element in tree.xpath('//*[@itemprop="datePublished"]'):
        value = element.get("content") or element.get("datetime")
        if value:
            yield value
    for path in ("//article//time[@datetime]", "//main//time[@datetime]", "//time[@datetime]"):
        for element in tree.xpath(path)[:1]:
            yield element.get("datetime")
            return


def _main_headline(tree: Any) -> Any:
    """The page's main headline: the first <h1> with text in the article (or main part) when
    there is one, else the page's first <h1> with text, else the element the page marks as its
    headline (`itemprop="headline"`: pages that set it in an <h2> or a <div>)."""
    for path in ("//article//h1", "//main//h1", "//h1", '//*[@itemprop="headline"][not(self::meta)]'):
        for h1 in tree.xpath(path):
            if clean(h1.text_content()):
                return h1
    return None


# A kicker (topline, Dachzeile, overline, eyebrow) by its class: "article-title__overline",
# "typo-r-topline-detail", "headline__kicker", ...
_KICKER = ('contains(@class, "kicker") or contains(@class, "topline") or contains(@class, "overline") or '
           'contains(@class, "dachzeile") or contains(@class, "eyebrow") or contains(@class, "roofline") or '
           'contains(@class, "spitzmarke") or contains(@class, "supertitle") or contains(@class, "pretitle")')
_KICKER_MAX_CHARS = 120


def _kickers_in(h1: Any) -> list[Any]:
    """The kickers set inside a headline: marked by their class, or an element that opens the
    <h1> with the headline run on after it without a space ("<span>Nationale Demo</span>Der
    9. Juli naht: ..."): the page shows them on lines of their own."""
    marked = h1.xpath(f".//*[{_KICKER}]")
    first = h1[0] if len(h1) and isinstance(h1[0].tag, str) else None
    if not marked and first is not None and not (h1.text or "").strip() and first.text and first.tail and \
            first.text.strip()[-1:].isalnum() and first.text[-1:].strip() and first.tail[:1].isupper():
        return [first]
    return marked


def _h1_text(h1: Any) -> str:
    """The headline's own text: without a kicker set inside the <h1>, and without the hidden
    separator between them (": ", " - ")."""
    if not _kickers_in(h1):
        return clean(h1.text_content())
    copy = lxml.html.fromstring(lxml.html.tostring(h1))
    for kicker in _kickers_in(copy):
        kicker.drop_tree()  # its tail (the text after it) stays
    return clean(copy.text_content()).lstrip(":|-–—/·• ").strip()


def _kicker(h1: Any) -> str | None:
    """The kicker of the main headline: set inside its <h1>, or just before it (a sibling of the
    <h1> or of the block that holds it)."""
    candidates = list(_kickers_in(h1))
    for holder in (h1, h1.getparent()):
        if holder is None:
            continue
        for sibling in list(holder.itersiblings(preceding=True))[:2]:
            candidates += [sibling] if sibling.xpath(f"self::*[{_KICKER}]") else sibling.xpath(f".//*[{_KICKER}]")[-1:]
    for candidate in candidates:
        text = clean(candidate.text_content()).strip(":|-–—/·• ")
        if text and len(text) <= _KICKER_MAX_CHARS:
            return text
    return None


# The elements a page marks as its byline, the surest mark first: microdata, a link's rel, a
# class that says so. One look through the page finds them all; each mark is then taken in turn.
# (by the attributes alone, in the page's order: half the time of a look at every element)
_BYLINE_CANDIDATES = ('//@class[contains(., "byline") or contains(., "author") or contains(., "autor")]/.. | '
                      '//@itemprop[. = "author"]/.. | //@rel[. = "author"]/..')
_BYLINE_MARKS: tuple[Callable[[Any], bool], ...] = (
    lambda element: element.get("itemprop") == "author",
    lambda element: element.get("rel") == "author",
    lambda element: "byline" in (element.get("class") or ""),
    lambda element: "author" in (element.get("class") or "").split(),
    lambda element: any(mark in (element.get("class") or "") for mark in ("author-name", "author__name", "autor")),
)


def _bylines(tree: Any) -> list[str]:
    """The texts of the elements a page marks as its byline (a few, each short)."""
    candidates = tree.xpath(_BYLINE_CANDIDATES)
    found: list[str] = []
    for marked in _BYLINE_MARKS:
        for element in filter(marked, candidates):
            name = element.xpath('.//*[@itemprop="name"]')
            text = clean((name[0] if name else element).text_content())
            if text and len(text) <= 120 and text not in found:
                found.append(text)
        if found:
            return found[:3]
    return found


# The time a byline shows the article went out ("Published 11:11 PM EST Nov 19, 2019", "Posted:
# Aug 08, 2024 4:00 AM EDT", "Veröffentlicht am 27.04.24 um 07:39 Uhr"), up to what follows it.
# (the labels capitalised, as bylines write them: "first published in 2019" is a sentence's)
_PUBLISHED_STAMP = re.compile(
    rf"\b(?:{'|'.join(re.escape(label.capitalize()) for label in PUBLISHED_LABELS)})\b:?\s*"
    rf"(?:on\s+|am\s+|le\s+|el\s+|em\s+)?(?P<when>.+?)\s*(?:$|[|·•]|\s-\s|\b(?i:{UPDATED_LABEL_PATTERN})\b)")


# A text of the page that is a publication stamp and nothing else: its label first, then the
# date ("기사입력 :[ 2018-08-25 15:24 ]", "publiziert am 25. September 2018"), in any case.
_LABELLED_STAMP = re.compile(
    rf"^\s*(?:{PUBLISHED_LABEL_PATTERN})\s*(?:on|am|le|el|em)?\s*[:：]?\s*[\[(]?\s*(?P<when>"
    r"\d{4}[-./]\d\d?[-./]\d\d?(?:[ T]\d\d?:\d\d(?::\d\d)?)?|"  # 2018-08-25 15:24
    r"\d\d?\.\s?\d\d?\.\s?\d{2,4}(?:,? (?:um )?\d\d?:\d\d(?: uhr)?)?|"  # 27.04.24 um 07:39 Uhr
    r"\d\d?\.? [^\W\d_]+\.? \d{4}(?:,? \d\d?:\d\d)?|"  # 25. September 2018
    r"[^\W\d_]+\.? \d\d?,? \d{4}(?:,? \d\d?:\d\d(?: ?[ap]\.?m\.?)?)?"  # November 20, 2019, 4:00 pm
    r")\s*[\])]?\s*$", re.I)
STAMP_TEXT_CHARS = 80


def _labelled_stamps(tree: Any) -> list[str]:
    """The publication time a text of the page shows with its label (the last a page is read
    by: one whose metadata and bylines give none), the first such text in the page's order."""
    for text in tree.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]"):
        if len(text) <= STAMP_TEXT_CHARS and (match := _LABELLED_STAMP.match(text)):
            return [match["when"]]
    return []


def _stamps(bylines: list[str]) -> list[str]:
    """The publication times the page's bylines show, as they write them (the last a page's
    metadata is read by: a page whose JSON-LD gives none, or "0001-01-01")."""
    return [match["when"] for match in map(_PUBLISHED_STAMP.search, bylines)
            if match and any(character.isdigit() for character in match["when"])]  # not "Posted by ..."


# A link to an author's page: a path segment that says so, in the languages newsbeam meets.
_AUTHOR_PAGE = re.compile(r"/(?:authors?|autor(?:en|in|innen)?|auteurs?|autores?|autori|journalists?|"
                          r"journalisten|redakteur(?:e|in)?|yazar|tac-gia)/", re.I)


# The text before a byline's first link, all of it: "By <a>Jane Doe</a>", "Written by <a>" ("Photo
# by <a>" is a credit's).
_BYLINE_WORD_ALONE = re.compile(rf"^\s*(?i:(?:written|reported|story|words)\s+)?(?i:{BYLINE_WORD_PATTERN})\s*:?\s*$")


def _author_links(tree: Any) -> list[str]:
    """The texts of the first link to an author's page (by its address, or by the byline word
    alone before it: "By <a>Jane Doe</a>") and of the links beside it (co-authors named in the
    same byline); later links (other articles' authors in a teaser list) are not read."""
    first = next((a for a in tree.iter("a") if _AUTHOR_PAGE.search(a.get("href") or "") or _after_a_byline_word(a)),
                 None)
    if first is None:
        return []
    by_address = _AUTHOR_PAGE.search(first.get("href") or "") is not None
    names = [clean(a.text_content()) for a in first.getparent().iterchildren("a")
             if not by_address or _AUTHOR_PAGE.search(a.get("href") or "")]
    return [name for name in dict.fromkeys(names) if name and len(name) <= 60][:5]


def _after_a_byline_word(link: Any) -> bool:
    """Is `link` its element's first, after nothing but a byline word ("By", "Von"; a comment
    between them is no text)?"""
    tails: list[str] = []
    for sibling in link.itersiblings(preceding=True):
        if not isinstance(sibling, lxml.etree._Comment):
            return False
        tails.insert(0, sibling.tail or "")
    return _BYLINE_WORD_ALONE.match("".join([link.getparent().text or "", *tails])) is not None


def _payloads(tree: Any) -> Iterator[Any]:
    """The JSON a page's framework renders it from: Next.js (__NEXT_DATA__), Nuxt, and other
    application/json scripts."""
    for script in tree.xpath('//script[@id="__NEXT_DATA__" or @id="__NUXT_DATA__" or @type="application/json"]'):
        text = script.text_content() or ""
        if len(text) < 200:
            continue
        try:
            yield json.loads(text)
        except (ValueError, RecursionError):
            continue
