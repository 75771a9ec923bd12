"""The language of a text: langdetect, seeded so the same text gets the same language every run;
the declared language when the text is too short to judge."""

from __future__ import annotations

import langdetect

from newsbeam.extraction import settings

# langdetect is random unless seeded.
langdetect.DetectorFactory.seed = 0


def detect_language(text: str, declared: str | None) -> str | None:
    """langdetect on the body; the declared language for texts too short to judge."""
    sample = text[:settings.LANGDETECT_MAX_CHARS]
    if len(sample) < settings.LANGDETECT_MIN_CHARS:
        return declared
    try:
        return langdetect.detect(sample)[:2]
    except langdetect.LangDetectException:
        return declared
