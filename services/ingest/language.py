"""Which language a ticket is written in, when the channel did not say (as Zendesk and Freshdesk do).

langdetect (a port of Google's language-detection, Apache-2.0) with a fixed seed, so the same
text always gets the same answer. Only a confident guess is kept; a short or mixed text stays
unknown rather than mislabelled, because routing by language (rules, agents' languages) trusts it.
"""

from __future__ import annotations

from langdetect import DetectorFactory, LangDetectException, detect_langs

DetectorFactory.seed = 0  # langdetect samples at random; seeding makes it deterministic

MIN_CHARS = 20
MIN_PROBABILITY = 0.90
MAX_CHARS = 1500  # enough to be sure, and it bounds the cost (about 3 ms per ticket)


def detect_language(*texts: str) -> str | None:
    """ISO 639-1 code (`de`, `pt`, ...; `zh-cn`/`zh-tw` for Chinese) or None when unsure."""
    text = "\n".join(t for t in texts if t).strip()[:MAX_CHARS]
    if sum(c.isalpha() for c in text) < MIN_CHARS:
        return None
    try:
        best = detect_langs(text)[0]
    except LangDetectException:
        return None
    return best.lang if best.prob >= MIN_PROBABILITY else None
