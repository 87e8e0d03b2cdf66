"""Language detection on labelled tickets nobody on the team wrote (../shared/data/tickets)."""

from __future__ import annotations

import csv
from collections import Counter

from services.ingest.language import detect_language
from tests.support.ingest import shared_data

LABELLED = shared_data() / "tickets" / "helpdesk_customer_tickets.csv"


def test_labelled_tickets_in_five_languages_are_detected_and_never_mislabelled() -> None:
    rows = list(csv.DictReader(LABELLED.open(newline="", encoding="utf-8")))
    assert len(rows) == 600
    outcome: Counter[str] = Counter()
    wrong = []
    for row in rows:
        found = detect_language(row["subject"], row["body"])
        if found is None:
            outcome["unsure"] += 1
        elif found == row["language"]:
            outcome["right"] += 1
        else:
            wrong.append((row["id"], row["language"], found))
    assert wrong == [], "a confident guess must be right: routing trusts it"
    assert outcome["right"] >= 0.98 * len(rows), outcome


def test_short_or_empty_text_stays_unknown() -> None:
    assert detect_language("", "") is None
    assert detect_language("Hi", "ok thx") is None
    assert detect_language("1234 5678 !!!") is None


def test_subject_and_body_together() -> None:
    assert (
        detect_language(
            "Rechnung doppelt abgebucht",
            "Guten Tag, meine Rechnung wurde zweimal abgebucht. Bitte erstatten Sie den Betrag.",
        )
        == "de"
    )
    assert (
        detect_language("Refund", "Hello, I was charged twice for my last invoice and would like a refund please.")
        == "en"
    )
