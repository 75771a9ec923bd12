"""What kind of page gave no article: the dead letter says it, so a user knows whether to wait
(a bot wall lifts, a retry may pass), to give the site a cookie or an account (a consent wall,
a paywall), to fetch it with a browser (a page its scripts render), or to leave it (not an
article, empty). Read from the page's own words and markup, whatever its HTTP status: many
walls answer 200."""

from __future__ import annotations

import re
from typing import Any

from newsbeam.extraction.metadata import PageMetadata

BLOCKED = "blocked: a challenge or bot wall"
CONSENT = "a consent wall"
PAYWALL = "a paywall teaser"
SCRIPT_ONLY = "rendered by its scripts only"
NOT_AN_ARTICLE = "not an article"
EMPTY = "empty"

# The words and markers of the walls the common providers serve (Cloudflare, Akamai, DataDome,
# PerimeterX, hCaptcha, reCAPTCHA; Sourcepoint, OneTrust, Didomi, Usercentrics, Google's own).
_BLOCKED = re.compile(
    r"cf-challenge|cf_chl_|challenge-platform|just a moment\.\.\.|attention required!|checking your browser|"
    r"verify (?:that )?you are (?:a )?human|are you a robot|captcha-delivery|px-captcha|h-captcha|g-recaptcha|"
    r"access denied|request blocked|unusual traffic|bot protection", re.I)
_CONSENT = re.compile(
    r"before you continue to|consent\.(?:google|yahoo)|sp_message_container|sourcepoint|onetrust-consent|"
    r"didomi|usercentrics|cookie consent|we value your privacy|zustimmung|einwilligung|datenschutzeinstellungen|"
    r"privacy settings|accept all cookies|alle akzeptieren|tout accepter|aceptar todo", re.I)
_PAYWALL = re.compile(
    r"paywall|subscribe to (?:continue|read)|subscribers only|for subscribers|already a subscriber|"
    r"jetzt abonnieren|abo abschließen|weiterlesen mit|réservé aux abonnés|exclusivo para suscriptores|"
    r"piano-(?:offer|paywall)|tp-container", re.I)
_NOSCRIPT = re.compile(r"enable javascript|javascript (?:is )?(?:required|disabled)|turn on javascript|"
                       r"needs javascript|requires javascript", re.I)


def page_kind(html: str, tree: Any, metadata: PageMetadata, visible: str) -> str:
    """Which kind of page this is, of one that gave no article body (`visible`: the text
    trafilatura found)."""
    head = html[:200_000]
    if _BLOCKED.search(head):
        return BLOCKED
    if metadata.free is False or _PAYWALL.search(head):
        return PAYWALL
    if _CONSENT.search(head):
        return CONSENT
    words = len(" ".join(tree.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]")).split())
    scripts = len(tree.xpath("//script"))
    if (_NOSCRIPT.search(head) or scripts >= 5) and words < 100:
        return SCRIPT_ONLY
    if words < 20 and not visible:
        return EMPTY
    return EMPTY if words < 20 else NOT_AN_ARTICLE  # a section front, a list of links, a product, a video
