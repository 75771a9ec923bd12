"""Normalization of an article's text: NFC, one paragraph per line, and neither the headline
restated at the top nor source and credit lines at the end."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from newsbeam.extraction.settings import DEFAULTS, ExtractSettings
from newsbeam.schemas import without_controls
from newsbeam.schemas.lexicon import AGENCY_PATTERN
from newsbeam.schemas.text import fold_words


def normalize_text(text: str) -> str:
    """NFC, single spaces, one paragraph per line, no empty lines, no control characters."""
    text = unicodedata.normalize("NFC", without_controls(text))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# How close in meaning each of several short texts is to one (cosines of sentence vectors): one
# call, so that a page's possible restatements cost one encoder call, not one each.
Similarity = Callable[[str, list[str]], list[float]]


def _headline_like(line: str, max_chars: int) -> bool:
    """Short, and not ending like a sentence: a headline, not the lead."""
    line = line.strip()
    return 0 < len(line) <= max_chars and not line.endswith((".", ":", ";", "…", '."', ".»"))


def strip_repeated_headline(title: str, text: str, similarity: Similarity | None = None,
                            settings: ExtractSettings = DEFAULTS) -> str:
    """Drop the first one to three lines of the body when they repeat the headline: word for
    word, or (with `similarity`, a judge of meaning) in other words, as another translation of
    the same headline would. Restatements must be headline-like lines, no longer than a
    headline; of those close enough in meaning, the closest wins (a caption under the headline
    makes the lines less like it, and stays), with the lines that continue it in lower case
    (a headline broken over two lines)."""
    folded_title = fold_words(title)
    if not folded_title:
        return text
    lines = text.split("\n")
    for count in (1, 2, 3):
        if len(lines) > count and fold_words(" ".join(lines[:count])) == folded_title:
            lines = lines[count:]  # the headline word for word; another wording may follow
            break
    if similarity is None:
        return "\n".join(lines)
    leads: list[str] = []
    for count in (1, 2, 3):
        lead = " ".join(lines[:count])
        headline_like = all(_headline_like(line, settings.headline_line_max_chars) for line in lines[:count])
        if (len(lines) <= count or not headline_like
                or len(lead) > 2 * len(title) + 20):
            break
        if folded_title in fold_words(lead) and fold_words(lead) != folded_title:
            break  # the headline quoted in a longer line ("Xinhua, April 24 - Title: ..."): not a restatement
        leads.append(lead)
    best, best_score = 0, settings.headline_similarity
    for count, score in enumerate(similarity(title, leads) if leads else [], start=1):
        if score > best_score:
            best, best_score = count, score
    while 0 < best < min(3, len(lines) - 1) and lines[best][:1].islower() \
            and _headline_like(lines[best], settings.headline_line_max_chars):
        best += 1
    if best and lines[best][:1].islower():
        return "\n".join(lines)  # the lines go on into a sentence: the start of the lead, not a headline
    return "\n".join(lines[best:])


# Lines that credit a source, an agency, a translation or the reporters who contributed, or
# give a reporter's address, in the languages newsbeam meets: dropped from the end of a body (at
# most three, each short), never from its middle.
_TRAILER = re.compile(r"""^(?:
    (?:source|sources|quelle|quellen|fuente|fuentes|fonte|źródło|kaynak)\s*[:：]\s*\S.*
  | (?:source|quelle|fuente)\s+[^\s.!?][^.!?]{0,60}
  | [(\[]?\s*(?:""" + AGENCY_PATTERN + r""")
      (?:\s*[/,]\s*[\w-]+){0,3}\s*[)\]]?\.?
  | (?:©|\(c\)\s|copyright\b).*
  | mit\s+material\s+(?:von|der|des)\b.*
  | (?:this|the)\s+(?:article|story|text|report)\s+(?:was|has\s+been)\s+(?:\w+\s+){0,2}translated\b.*
  | (?:dieser|der)\s+(?:artikel|text|beitrag)\s+wurde\s+(?:[\w-]+\s+){0,4}übersetzt\b.*
  | (?:automatically|machine|automatisch|maschinell)[- ](?:translated|übersetzt)\b.*
  | (?:translated|übersetzt|übersetzung)\s+(?:by|von|aus|from|mit)\b.*
  | (?:all\s+rights\s+reserved|alle\s+rechte\s+vorbehalten)\.?
  | [(\[]?\s*(?:additional\s+)?(?:reporting|writing|editing)\s+(?:by|from)\b.*
  # the editor's initials, alone or after the site's name: "(dmk)", "MDR (dst)"
  | (?:[\w-]+\s+){0,3}\((?-i:[a-zäöü]{2,5})(?:\s*[/,]\s*(?-i:[a-zäöü]{2,5}))*\)
  # a broadcaster's note of when the report went out: "Sendung: Antenne Brandenburg, 24.04.2024"
  | (?:sendung|dieses\s+thema\s+im\s+programm|im\s+programm)\s*:.*
  | [^.!?]{2,160}\bcontributed\s+(?:reporting|to\s+this\s+(?:report|story|article))\b.*
  # the reporter's address: "Write to Al Root at ...", "Reach the reporters on Twitter at ...",
  # an e-mail address or a profile's address alone
  | (?:write\s+to|reach|contact|e-?mail)\s+(?:the\s+)?[\w .'’-]{2,60}?\s+(?:at|on|via)\s+
      (?=.*(?:@|https?://|twitter|facebook|instagram)).*
  | [\w.+-]+@[\w-]+(?:\.[\w-]+)+
  | (?:https?://)?(?:www\.)?(?:twitter|x|facebook|instagram|linkedin)\.com/\S+
)$""", re.IGNORECASE | re.VERBOSE)


# A notice that the whole story is for members (or subscribers) for now, with its link and when
# it opens to all ("This story is currently available to Medium Members at the following link:
# <title> / The story will be unlocked ... after 30 days"): from it on, the end is the notice's.
_MEMBERS_ONLY = re.compile(r"^(?:this|the)\s+(?:story|article|post)\s+is\s+(?:currently\s+|now\s+)?(?:only\s+)?"
                           r"available\s+(?:only\s+)?to\s+(?:[\w-]+\s+){0,2}(?:members|subscribers)\b|"
                           r"^(?:the|this)\s+(?:story|article|post)\s+will\s+be\s+(?:unlocked|free)\b", re.I)


def strip_trailers(text: str, settings: ExtractSettings = DEFAULTS) -> str:
    """Drop source, credit and translation-notice lines from the end of a body, and a notice
    that the story is for members for now (with the title it links to)."""
    lines = text.split("\n")
    notice = next((number for number in range(max(1, len(lines) - 3), len(lines))
                   if _MEMBERS_ONLY.match(lines[number].strip())), None)
    if notice is not None:
        lines = lines[:notice]
    for _ in range(3):
        if len(lines) > 1 and len(lines[-1]) <= settings.trailer_max_chars and _TRAILER.match(lines[-1].strip()):
            lines.pop()
    return "\n".join(lines)
