"""The words of newsrooms newsbeam knows, one list each, for every rule that needs them in the
feed reader and the page extractor alike: news agencies (a byline's credit, a photo credit
"Foto: dpa/...", a closing "(Reuters)" line), the labels of a line that points to other
stories ("Lesen Sie auch: ...", "ALSO READ: ..."), the labels of a piece's kind above it
("Analysis", "Článek"), of a byline ("By", "Von", "Author:"), of a picture's credit ("Foto:",
"Image credit:") and of a time stamp ("Published", "Aktualisiert am")."""

from __future__ import annotations

import re

# Wire and photo agencies by the names they sign with: short forms first, then full names.
AGENCY_SHORT_NAMES = (
    "dpa", "afp", "ap", "reuters", "sid", "kna", "epd", "apa", "sda", "ansa", "efe", "upi", "pap", "anp", "tt",
    "ntb", "ddp", "aa", "pa", "ips", "ctk", "čtk", "tass", "xinhua", "kyodo", "yonhap", "belga", "ritzau",
    "bloomberg", "anadolu", "epa", "keystone", "pti", "ians")
AGENCY_FULL_NAMES = (
    "dpa-afx", "dpa-infocom", "keystone-sda", "apa-ots", "afp/dpa", "dpa/afp", "associated press",
    "agence france-presse", "deutsche presse-agentur", "agencia efe", "europa press", "press association")
# One alternation of the short names, for patterns ("\b(?:dpa|afp|...)\b"), longest first.
AGENCY_PATTERN = "|".join(re.escape(name) for name in sorted(AGENCY_SHORT_NAMES, key=len, reverse=True))

# A line that points to other stories opens with one of these, in the languages newsbeam meets
# ("Lesen Sie auch", "Read more: ...", "ALSO READ: ..."); it is no sentence of the article.
OTHER_STORIES_LABELS = (
    "lesen sie auch", "lesen sie mehr", "mehr zum thema", "mehr dazu", "auch interessant", "das könnte sie",
    "weitere artikel", "read more", "read also", "also read", "read next", "related", "see also", "more from",
    "you may also like", "you might also like", "mehr artikel", "more articles", "read the original article",
    "lest den originalartikel", "lesen sie den originalartikel",
    "more on this", "lire aussi", "à lire aussi", "voir aussi", "leer más", "lee también", "leia também",
    "leggi anche", "zobacz też", "zobacz także", "læs også", "les også", "läs också", "lees ook", "czytaj też",
    "přečtěte si")
# Words that point to other stories only with a colon after them ("MORE: <a headline>", "Also:
# See ...", "WATCH: <a video>"): without it they open sentences.
OTHER_STORIES_WORDS = ("more", "also", "see more", "watch", "listen")
# As alternations for patterns: the labels, and the words (either needs the colon checked by the pattern).
OTHER_STORIES_LABEL_PATTERN = "|".join(re.escape(label) for label in OTHER_STORIES_LABELS)
OTHER_STORIES_WORD_PATTERN = "|".join(re.escape(word) for word in OTHER_STORIES_WORDS)

# The word before a byline's names ("By Jane Doe", "Von Max Muster", "Par ...", "Przez ..."), in
# the languages newsbeam meets; and two that are as often words of a sentence ("Di", "Da"), read
# only where the names after them are checked.
BYLINE_WORDS = ("by", "von", "par", "por", "door", "av", "af", "przez")
BYLINE_WORDS_ALSO_COMMON = ("di", "da")
BYLINE_WORD_PATTERN = "|".join(BYLINE_WORDS)
ANY_BYLINE_WORD_PATTERN = "|".join((*BYLINE_WORDS, *BYLINE_WORDS_ALSO_COMMON))
# A byline's label, with its colon: "Author: Jane Doe", "Text: Max Muster".
BYLINE_LABEL_PATTERN = "|".join(re.escape(label) for label in ("author:", "autorin:", "autor:", "text:"))

# The label of a picture's credit, before a colon ("Foto: dpa", "Image credit: NASA", "Bild: SN"):
# a caption's end, a credit line in a text, a credit a byline field holds in place of a name.
PICTURE_CREDIT_LABELS = (
    "foto", "fotos", "fotoğraf", "фото", "bild", "bilder", "photo", "photos", "photograph", "photographs", "image",
    "images", "image credit", "picture", "pictures", "credit", "credits", "grafik", "graphic", "graphics",
    "illustration", "illustrations", "video", "quelle")
PICTURE_CREDIT_LABEL_PATTERN = "|".join(re.escape(label) for label in sorted(PICTURE_CREDIT_LABELS, key=len,
                                                                                 reverse=True))

# What kind of piece it is, as a page labels it above the headline or the text ("Analysis",
# "Kommentar", "Článek"): a label alone on a line there is no line of the text.
ARTICLE_KIND_LABELS = frozenset((
    "article", "artikel", "článek", "artículo", "articolo", "artigo", "artykuł", "analysis", "analyse", "análisis",
    "analisi", "review", "rezension", "kritik", "critique", "crítica", "opinion", "meinung", "kommentar", "opinión",
    "commentary", "comment", "column", "kolumne", "editorial", "leitartikel", "interview", "entrevista", "intervista",
    "exclusive", "exklusiv", "explainer", "feature", "reportage", "essay", "gastbeitrag", "podcast", "video",
    "gallery", "galerie", "live", "liveblog", "ticker", "breaking", "eilmeldung", "news", "nachrichten"))

# The labels of a page's time stamps, in the languages newsbeam meets: when the article went out
# ("Published 11:11 PM EST", "Veröffentlicht am ..."), and when it last changed ("Updated ...").
PUBLISHED_LABELS = ("published", "posted", "veröffentlicht", "publiziert", "publié", "publicado", "pubblicato",
                    "gepubliceerd", "offentliggjort", "publicerad", "publisert", "opublikowano", "publikováno",
                    "기사입력", "입력", "公開日", "配信日", "发布时间", "发布日期")
UPDATED_LABELS = ("last updated", "updated", "aktualisiert", "actualizado", "mis à jour", "aggiornato", "güncelleme")
PUBLISHED_LABEL_PATTERN = "|".join(re.escape(label) for label in PUBLISHED_LABELS)
UPDATED_LABEL_PATTERN = "|".join(re.escape(label) for label in UPDATED_LABELS)
# As a page writes them capitalised before the time ("... Associated Press Published 11:34 PM"):
# in lower case they may well be words of a sentence or a name.
STAMP_LABEL_CAPITALISED_PATTERN = "|".join(re.escape(label.capitalize()) for label in (*UPDATED_LABELS,
                                                                                       *PUBLISHED_LABELS))
