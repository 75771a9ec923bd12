"""The language of a text: langdetect, seeded so the same text gets the same language every run;
the declared language when the text is too short to judge."""

from __future__ import annotations

import threading

import langdetect
from langdetect.detector_factory import init_factory

from newsbeam.extraction.settings import DEFAULTS, ExtractSettings

# langdetect is random unless seeded.
langdetect.DetectorFactory.seed = 0
# langdetect publishes its factory before the profiles are in it: a text judged by one thread
# while another loads them would be judged against some languages only.
_PROFILES_LOADING = threading.Lock()


def load_language_profiles() -> None:
    """langdetect's profiles of 55 languages (0.3 s, once a process), whichever thread asks first;
    the others wait until they are all in."""
    with _PROFILES_LOADING:
        init_factory()


def detect_language(text: str, declared: str | None, settings: ExtractSettings = DEFAULTS) -> str | None:
    """langdetect on the body; the declared language for texts too short to judge."""
    sample = text[:settings.langdetect_max_chars]
    if len(sample) < settings.langdetect_min_chars:
        return declared
    load_language_profiles()
    try:
        return langdetect.detect(sample)[:2]
    except langdetect.LangDetectException:
        return declared
