"""Bylines as the publisher credits them: the people who wrote the article, each once, in
reading order (`authors`), and the agencies, desks and outlets the page credits (`credits`).

From the first source that names people: the article's JSON-LD `author`, the page's author meta
tags, the byline trafilatura finds, the page's byline elements, the feed entry's
`dc:creator`/`author`, and last the links to an author's page. Bylines are split ("By A and B",
"A, B und C", "A og B", "Family, Given; Family, Given"); prefixes ("Von", "Autor:", "Capital Von
...", "Ein Kommentar von", "Reporting by"), places ("in Washington", ", Berlin"), jobs and
papers ("Staff Writer", "Tech Lead", "for The Guardian", "is a reporter at ..."), credentials
("MS, RDN") and initials in brackets dropped; the byline ends where editors or photographers are named.
Organisations (said so by JSON-LD, or named like the site), news agencies, outlets by their
initials after a name ("Jane Doe, CNN") and named desks ("BR24 Redaktion", "Guardian staff") are
credits, not authors; generic accounts ("Admin", "Redaktion", "Editor"), e-mail addresses, URLs
and descriptions of a person's job are neither. Where no source names a person, a byline line
among the text's first two ("By Chris Lewis", `opening_byline`) or a name set apart under the
last paragraph (bold, or to the right: `signed_off`) is the byline, and leaves the text; a closing
line of the site's name and its source ("Wochenblatt / Última Hora") credits the source."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable

from newsbeam.extraction.metadata import Author, PageMetadata
from newsbeam.extraction.titles import names_the_site, site_words
from newsbeam.schemas.lexicon import (
    AGENCY_FULL_NAMES,
    AGENCY_SHORT_NAMES,
    ANY_BYLINE_WORD_PATTERN,
    BYLINE_LABEL_PATTERN,
    BYLINE_WORD_PATTERN,
    BYLINE_WORDS,
    PICTURE_CREDIT_LABEL_PATTERN,
    STAMP_LABEL_CAPITALISED_PATTERN,
)
from newsbeam.schemas.text import fold_letters

# What introduces a byline: "By", "Von", "Par" ..., with a label before it ("Reporting by",
# "Ein Kommentar von", "Analysis by").
_PREFIX = re.compile(r"^(?:(?:an?|ein|eine|un|une|with|additional)\s+)?(?:(?:written|reported|reporting|text|texte|"
                     r"texto|testo|story|words|opinion|analysis|commentary|column|review|interview|updated|kommentar|"
                     r"analyse|gastbeitrag|kolumne|reportage|essay|recherche)\s+)?"
                     rf"(?:{ANY_BYLINE_WORD_PATTERN}|from|autor(?:in|a)?|author|text|"
                     r"texte|texto|testo|текст|автор|de)\s*[:\-]?\s+", re.I)
# A section's label before the byline's own prefix: "Capital Von Jemima Kelly".
_LABEL_PREFIX = re.compile(rf"^(?:\w+\s){{1,2}}(?:{'|'.join(word.capitalize() for word in BYLINE_WORDS)})\s+"
                           r"(?=[A-ZÀ-ÖØ-Þ])")
# Where a reporter filed from: "David Smith in Washington", "Ashifa Kassam in Stanstead, Quebec".
_PLACE = re.compile(r"\s+(?:in|aus|from|en|à)\s+[A-ZÀ-ÖØ-Þ][^;&|]*?(?=\s+(?:and|und|et|y|og|och)\s+|[;&|]|$)")
# Between two names: punctuation, and the word for "and" of the languages newsbeam meets.
# A comma may have the word after it ("Jane Doe, John Roe, and Max Muster").
_BETWEEN = re.compile(r"\s*(?:[,;|/&+•·](?:\s*(?:and|und|et|y|e|og|och|en)\s)?|\s[-–—]\s|"
                      r"\s(?:and|und|et|y|e|og|och|en|i|ve|a|и|și|ja|és|with|mit|avec|con)\s)\s*", re.I)
# Before a news agency's full name run into the last name: "ERIC TUCKER Associated Press".
_BEFORE_AGENCY = re.compile(r"(?<!\bthe)\s+(?=(?:the\s+)?(?:" + "|".join(re.escape(name) for name in AGENCY_FULL_NAMES)
                            + r")\s*$)", re.I)
# Between two names of a "Family, Given" list: a semicolon, an ampersand, the word for "and".
_LIST_BETWEEN = re.compile(r"\s*(?:;|&|\s(?:and|und|et|y|e|og|och|en)\s)\s*", re.I)
# A family name or given names as such lists write them: one or two capitalised words ("Del
# Pino", "Mary Ann", "Lenharo", "J.").
_FAMILY_OR_GIVEN = re.compile(r"[A-ZÀ-ÖØ-Þ][\w'’.-]*(?: [A-ZÀ-ÖØ-Þ][\w'’.-]*)?")
# A picture's credit, not a byline: "Foto: Bild: SN", "Photo: Jane Doe", "© dpa".
_PICTURE_CREDIT = re.compile(rf"^(?:(?:{PICTURE_CREDIT_LABEL_PATTERN}|source)\s*:\s*|©\s*)+", re.I)
# A name's job or paper after it: "Jane Doe, Staff Writer", "Jane Doe for The Guardian", "Jane
# Doe Special to the Post".
_ROLE = re.compile(r"(?:\s+(?:(?:senior|chief|staff|political|foreign|deputy|contributing|special|guest|freelance|"
                   r"business|science|health|sports?|investigative|data|national|international)\s+)*(?:writer|reporter|"
                   r"correspondent|editor(?:[- ]at[- ]large)?|columnist|contributor|journalist|redakteur(?:in)?|"
                   r"korrespondent(?:in)?))+$|"
                   r"\s+(?:for|für|pour|para|special to)\s+.*$|"
                   # a desk's name before a job in lower case: "Damian Carrington Environment editor"
                   r"(?-i:\s+[A-Z][\w-]*(?:\s+[a-z][\w-]*){0,2}\s+"
                   r"(?:writer|reporter|correspondent|editor|columnist|critic))$|"
                   # the day it was written, run into the name: "Jeff Foust Monday, November 18" (not the
                   # months that are names too: May, June, April, August)
                   r"\s+(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|July|"
                   r"September|October|November|December)\b.*$", re.I)
# A byline that goes on to say who the writer is or writes for: "Jane Doe is a reporter at
# ...", "Jane Doe on behalf of the Conference Committee".
_BIO = re.compile(r"\s+(?:is|was|ist|war|est|es|è|on behalf of|im auftrag)\s+.*$", re.I)
# A job written after a name, beside the jobs _ROLE takes off it: "Max Muster, Tech Lead for Code
# Health and Author of ...", "Jane Doe, Senior Product Manager". Words that are no one's family
# name, so a part with one is a job, not a writer ("Author" alone opens bylines: "Author: Jane Doe").
_JOB = re.compile(r"\b(?:author of|lead|manager|engineer|director|scientist|professor|president|officer|analyst|"
                  r"researcher|economist|strategist|consultant|founder|co-founder|ceo|cto|cfo|designer|architect|"
                  r"lecturer|attorney|executive|secretary|minister|senator|programmer|evangelist)s?\b", re.I)
# Where the writers' names end in a byline: who edited it, or made its pictures.
_NOT_WRITERS = re.compile(r"^(?:editing|edited|compiled|produced|redigiert|bearbeitet|fotos?|photos?|photography|"
                          r"bilder?|images?|video|grafik|graphics?|illustrations?|фото)\b", re.I)
# A line of the body that is a byline opens with one of these words, is at most this long, and
# has no mark a sentence has ("By jove! What a long podcast!").
_BYLINE_LINE = re.compile(rf"^(?:{BYLINE_WORD_PATTERN}|{BYLINE_LABEL_PATTERN})\s+\S", re.I)
BYLINE_LINE_CHARS = 200
_NOT_A_BYLINE = re.compile(r"[!?\"“”„«»]")
# A closing line of the site's name and the source it took the report from ("Wochenblatt / Última Hora").
_SITE_AND_SOURCE = re.compile(r"^(?P<site>[^/]{2,40}?)\s*/\s*(?P<source>[^/\d]{2,40})$")
# An outlet by its initials, not a person's name: "Jane Doe, CNN".
_ACRONYM = re.compile(r"[A-Z]{2,5}")
_BRACKETS = re.compile(r"\s*[(\[][^)\]]{0,40}[)\]]")
# Where a byline element runs on into the time stamp beside it, spaced or not ("Detroit News
# wire services Published 11:11 PM EST", "CNN Editor-at-largeUpdated 1909 GMT").
_STAMP = re.compile(rf"(?:(?<=[a-z])|\s+)(?:{STAMP_LABEL_CAPITALISED_PATTERN})\b.*$")
# A full stop after a name of two words or more ends the names: what follows is another
# sentence, the outlet or a bio ("Finian Cunningham. Sputnik International"); an initial's or
# a title's stop is no end ("Bruce Y. Lee", "Dr. Jane Doe", "Martin King Jr. ...").
_AFTER_A_FULL_STOP = re.compile(r"(\b[A-ZÀ-ÖØ-Þ][^\W\d_]{2,})\.\s+[A-ZÀ-ÖØ-Þ].*$")
# A desk or newsroom: with a name ("BR24 Redaktion", "MND Staff") it is a credit; alone, nothing.
_DESK = re.compile(
    r"\b(?:redaktion|redaction|rédaction|redacción|redazione|redakce|redaksjon|staff|newsroom|news desk|desk|team|"
    r"agenturen|agentur|agencies|agency|agence|nachrichtenagentur|editors?|editorial|reporters?|correspondents?|"
    r"gmbh|ag|inc|ltd|llc|s\.a\.|verlag|media|medien|zeitung|newspaper|news|nachrichten|noticias|nouvelles|"
    r"notizie|nieuws|nyheter|wiadomości|"
    # an outlet by its name's word for a paper or a station ("Lesotho Times", "Deutsche Welle")
    r"times|herald|tribune|gazette|chronicle|welle|rundschau|anzeiger|tageblatt|tagblatt|observer|courier|kurier|"
    r"television|fernsehen|rundfunk|"
    # a body or an account by its kind or its role: no one's name has these words ("Google Ads
    # Developer Advisor", "Android Developers", "Press Office", "Research Institute")
    r"developers?|advisors?|advocates?|blog|community|foundation|institute|university|ministry|department|"
    r"office|council|committee|association|communications|relations)\b|"
    # German compounds: "ARD-Hauptstadtstudio", "Wirtschaftsredaktion", "Korrespondentenbüro"
    r"\w(?:studio|redaktion|agentur|büro)\b", re.I)
# Accounts that name no one: not an author, not a credit.
_GENERIC = re.compile(r"^(?:\w*admin\w*|administrator|redaktion|redaction|rédaction|redacción|redazione|redaksjon|"
                      r"staff|editor|editors|newsroom|team|webmaster|guest|gast|user|anonymous|online|red\.?|rd|ots|"
                      r"online-redaktion|onlineredaktion|web|desk|news|nachrichten|noticias|nouvelles|notizie|nieuws|"
                      r"nyheter|wiadomości|media|medien)$", re.I)
# Degrees and licences after a name: "Ilana Muhlstein, MS, RDN".
_CREDENTIALS = frozenset(fold_letters(c) for c in (
    "MS", "MSc", "BSc", "MA", "BA", "MD", "PhD", "Ph.D.", "RD", "RDN", "LD", "LDN", "RN", "NP", "MPH", "MBA", "JD",
    "DO", "DDS", "DVM", "CPT", "CSCS", "CFA", "CPA", "LCSW", "FACS", "FRCP", "Esq", "PA-C", "CDCES", "CNS", "MEd"))
# The longest byline read: ten names with their jobs fit; a longer "author" is a bio or a
# page's text, and the pattern of jobs after a name (_ROLE) would take seconds over it.
MAX_BYLINE_CHARS = 500
# News agencies (schemas.lexicon), as a byline's names are compared.
AGENCIES = frozenset(fold_letters(name) for name in (*AGENCY_SHORT_NAMES, *AGENCY_FULL_NAMES))
_LINK = re.compile(r"^(?:https?://|www\.)|@|\.(?:com|de|org|net|html?)\b", re.I)


@dataclasses.dataclass(frozen=True)
class Byline:
    authors: tuple[str, ...] = ()  # people
    credits: tuple[str, ...] = ()  # agencies, desks, outlets


def byline(metadata: PageMetadata | None, extracted: str | None = None, entry_authors: Iterable[str] = (),
           feed_name: str | None = None) -> Byline:
    """The byline of a page (its metadata, trafilatura's byline `extracted`) or of a feed entry
    alone (`metadata` None): the people of the first source that names any, and the credits of
    that source (or, when no source names a person, of the first that credits someone)."""
    sites = site_words(metadata, feed_name) if metadata else feed_sites(feed_name)
    sources: list[list[Author]] = [
        metadata.ld_authors if metadata else [],
        [Author(name) for name in metadata.meta_authors] if metadata else [],
        [Author(extracted)] if extracted else [],  # trafilatura's byline, "A; B": one byline
        [Author(text) for text in metadata.bylines] if metadata else [],
        [Author(name) for name in entry_authors],
        [Author(name) for name in metadata.author_links] if metadata else [],  # the weakest sign
    ]
    credited: Byline | None = None
    for source in sources:
        found = _read(source, sites)
        if found.authors:
            return found
        credited = credited or (found if found.credits else None)
    return credited or Byline()


def signed_off(text: str, found: Byline, sites: list[str], set_apart: Callable[[str], bool]) -> tuple[str, Byline]:
    """A body that ends with its author's name on a line of its own, set apart on the page (in
    bold, or to the right: "Lê Phương" under the last paragraph), where the page names no one
    else: the name is the byline, and leaves the body. A last line of the site's name and its
    source ("Wochenblatt / Última Hora") credits the source, and leaves the body too. Returns the
    body and the byline, as they were when it does neither."""
    body, _, last = text.rpartition("\n")
    name = " ".join(last.split())
    source = _SITE_AND_SOURCE.match(name)
    # the site's very name: a place a site is named after is no sign ("Berlin / Brandenburg")
    if body and source and fold_letters(source["site"]) in sites and not names_the_site(source["source"], sites):
        credits = {fold_letters(credit): credit for credit in (*found.credits, source["source"])}
        return body, Byline(found.authors, tuple(credits.values()))
    words = name.split()
    if body and len(words) <= 4 and len(name) <= 40 and _DESK.search(name) and not _GENERIC.match(name) and \
            not _NOT_A_BYLINE.search(name) and not name.endswith(".") and set_apart(name):  # "IN-Redaktion"
        credits = {fold_letters(credit): credit for credit in (*found.credits, name)}
        return body, Byline(found.authors, tuple(credits.values()))
    if found.authors or not body or not 2 <= len(words) <= 4 or len(name) > 40 or \
            not all(word[:1].isupper() for word in words) or not is_person(name, sites) or not set_apart(name):
        return text, found
    return body, Byline((name,), tuple(c for c in found.credits if not names_the_site(c, sites)))


def opening_byline(text: str, found: Byline, sites: list[str]) -> tuple[str, Byline]:
    """Where the byline found names no one, a line among the body's first two that is a byline
    and nothing else ("By Chris Lewis", "Por Matt Spetalnick e Jason Szep", "Author: Jeff
    Listfield") names the authors, and leaves the body; a credit of the outlet itself goes
    with it (the page names people). Returns the body and the byline, as they were when no
    line is one."""
    lines = text.split("\n")
    if found.authors or len(lines) < 2:
        return text, found
    for number, line in enumerate(lines[:2]):
        if len(line) > BYLINE_LINE_CHARS or not _BYLINE_LINE.match(line) or _NOT_A_BYLINE.search(line):
            continue
        parts = _names(line)
        if not parts or not all(is_person(part, sites) or (_is_credit(part, sites) and part[:1].isupper())
                                for part in parts):
            continue  # "By Monday, the council will decide": a sentence's opening
        read = _read([Author(line)], sites)
        if read.authors:
            credits = [c for c in found.credits if not names_the_site(c, sites)] + list(read.credits)
            return "\n".join(lines[:number] + lines[number + 1:]), Byline(read.authors, tuple(dict.fromkeys(credits)))
    return text, found


def feed_sites(feed_name: str | None) -> list[str]:
    """The names a feed's site goes by, where only the feed's name is known."""
    return [fold_letters(feed_name)] if feed_name and fold_letters(feed_name) else []


def _read(authors: list[Author], sites: list[str]) -> Byline:
    """The people and credits of one source. The outlet itself is a credit only when the byline
    names no one else ("Le Monde", "sportschau.de"): beside a reporter it says nothing."""
    people_seen: dict[str, str] = {}
    credits_seen: dict[str, str] = {}
    outlet: set[str] = set()
    for author in authors:
        if author.organization:
            if not _GENERIC.match(author.name):
                credits_seen.setdefault(fold_letters(author.name), author.name)
                if names_the_site(author.name, sites):
                    outlet.add(fold_letters(author.name))
            continue
        picture = _PICTURE_CREDIT.match(author.name.strip())
        if picture:  # whoever made the picture did not write the article
            credit = author.name.strip()[picture.end():].strip()
            if credit:
                credits_seen.setdefault(fold_letters(credit), credit)
            continue
        if len(author.name) > MAX_BYLINE_CHARS:
            continue  # a bio or a page's text in the author field, not a byline
        for name in _names(author.name):
            first = name.split()[0]
            if _ACRONYM.fullmatch(first) and fold_letters(first) in AGENCIES:
                name = first  # "AP National Security Writer"
            if _is_credit(name, sites) or _ACRONYM.fullmatch(name):
                credits_seen.setdefault(fold_letters(name), name)
                if fold_letters(name) not in AGENCIES and names_the_site(name, sites):
                    outlet.add(fold_letters(name))
                break  # "Jane Doe, MDR THÜRINGEN, Erfurt": after the newsroom come places and dates
            if (credits_seen or any(" " in person for person in people_seen.values())) and \
                    " " not in name and name.isascii():
                break  # "Jane Doe, Berlin", "PTI, Washington": a word after a name is where it was filed
            if is_person(name, sites):
                people_seen.setdefault(fold_letters(name), name)
    if people_seen:
        credits_seen = {key: name for key, name in credits_seen.items() if key not in outlet}
    return Byline(tuple(people_seen.values()), tuple(credits_seen.values()))


def _is_credit(name: str, sites: list[str]) -> bool:
    """An agency, a named desk, or the outlet itself."""
    if _GENERIC.match(name) or len(name.split()) > 5 or "@" in name:
        return False  # an e-mail address names the site in its domain, and is no credit
    if fold_letters(re.sub(r"^the\s+", "", name, flags=re.I)) in AGENCIES or names_the_site(name, sites):
        # "The Associated Press"; "hessenschau.de" names its site too
        return True
    return not _LINK.search(name) and bool(_DESK.search(name))


def _names(byline: str) -> list[str]:
    """The names in a byline: split, prefixes, places, credentials and bracketed initials off."""
    byline = _STAMP.sub("", _BRACKETS.sub("", " ".join(byline.split())))
    first_name = re.match(r"\S+\s+", byline)
    if first_name:  # after at least two words
        byline = byline[:first_name.end()] + _AFTER_A_FULL_STOP.sub(r"\1", byline[first_name.end():])
    byline = _LABEL_PREFIX.sub("", byline)
    byline = _BIO.sub("", _PLACE.sub("", byline))
    byline = _given_first(_PREFIX.sub("", byline))
    names = []
    for part in (piece for between in _BETWEEN.split(f" {byline} ") for piece in _BEFORE_AGENCY.split(between)):
        part = " ".join(part.split()).strip(" .,:;-–—")
        if _NOT_WRITERS.match(part):
            break  # "Text: Jane Doe, Fotos: John Roe", "Reporting by Jane Doe; Editing by John Roe"
        if _JOB.search(part):
            continue  # "Jane Doe, Senior Product Manager": the writer's job
        part = _PREFIX.sub("", _PREFIX.sub("", part).strip(" .,:;-–—"))  # "Text: Von ..."
        part = _ROLE.sub("", part)
        if part and fold_letters(part) not in _CREDENTIALS:
            names.append(part)
    return names


def _given_first(byline: str) -> str:
    """A byline written "Family, Given" ("You, Xiaoying; Lenharo, Mariana", "Brazil, Rachel",
    "Lenharo, Mariana and You, Xiaoying") with the given names first, each name one piece; any
    other byline as it is. A list of names separated by commas alone ("Jane Doe, John Roe") has
    more than one word on a side."""
    parts = [part for part in _LIST_BETWEEN.split(byline) if part.strip()]
    flipped = []
    for part in parts:
        sides = [side.strip() for side in part.split(",")]
        if len(sides) != 2 or not all(_FAMILY_OR_GIVEN.fullmatch(side) and fold_letters(side) not in AGENCIES
                                      and not _DESK.search(side) for side in sides):
            return byline  # "AFP, Berlin", "Reuters, Jane": a credit is no family name
        flipped.append(f"{sides[1]} {sides[0]}")
    # one name alone is flipped only when each side is one word: "Doe, Jane", not "Jane Doe, Reuters"
    if len(flipped) == 1 and any(len(side.split()) > 1 for side in parts[0].split(",")):
        return byline
    return "; ".join(flipped)


def is_person(name: str, sites: list[str]) -> bool:
    """Could this be a person's name (not an organisation, an agency, a newsroom, an address,
    or a description of someone's job)?"""
    words = name.split()
    if not 1 <= len(words) <= 5 or len(name) < 2 or any(c.isdigit() or c in "!?" for c in name) or _LINK.search(name):
        return False
    if _GENERIC.match(name) or _is_credit(name, sites):
        return False
    # A job or a place written out ("professor at the faculty of ..."): a name's words start
    # with a capital, but for the particles between them (von, de, van, del, bin, ...).
    if words[0] == "The":
        return False  # "The Russian [and Syrian defense ministries]": a thing or a brand, never a name
    lower = [w for w in words if w[:1].islower() and w not in _PARTICLES]
    return not lower or (len(words) == 1 and not name.isascii())


_PARTICLES = frozenset("von van der den de del della di da dos das du le la al el bin ibn ten ter zu af".split())
