"""trim_reply on replies as the common clients write them."""

from __future__ import annotations

import pytest

from services.ingest.email import trim_reply

CASES = {
    "gmail": (
        "Thanks, that fixed it!\n\n"
        "On Mon, May 6, 2024 at 10:02 AM Support Team <support@example.org> wrote:\n\n"
        "> Hi Jane,\n>\n> please restart the printer.\n>\n",
        "Thanks, that fixed it!",
    ),
    "gmail wrapped attribution": (
        "Yes, I am providing you step how to reproduce this issue\n\n"
        "On Thu, Aug 19, 2021 at 2:07 PM Tejaswini from Email sender test <\n"
        "tejaswini@example.com> wrote:\n\n> Any update on this?\n>\n",
        "Yes, I am providing you step how to reproduce this issue",
    ),
    "apple mail": (
        "Works now.\n\nSent from my iPhone\n\n"
        "> On 6. May 2024, at 10:02, Support <support@example.org> wrote:\n>\n> Please try again.\n",
        "Works now.",
    ),
    "german Am ... schrieb (Thunderbird)": (
        "Hallo,\n\ndanke, es geht wieder.\n\nGruß Jan\n\n"
        "Am 07.05.2012 08:10, schrieb Martin Edenhofer via Znuny Team:\n> Hallo Jan,\n>\n> bitte neu starten.\n",
        "Hallo,\n\ndanke, es geht wieder.\n\nGruß Jan",
    ),
    "german Am ... schrieb without quote marks": (
        "Passt, danke!\n\nAm Di., 7. Mai 2024 um 08:10 Uhr schrieb Support <support@example.org>:\nHallo Jan,\nbitte neu starten.\n",
        "Passt, danke!",
    ),
    "french": (
        "Merci !\n\nLe lun. 6 mai 2024 à 10:02, Support <support@example.org> a écrit :\n> Bonjour\n",
        "Merci !",
    ),
    "spanish": ("¡Gracias!\n\nEl lun, 6 may 2024 a las 10:02, Soporte escribió:\n> Hola\n", "¡Gracias!"),
    "dutch": ("Bedankt.\n\nOp 6 mei 2024 om 10:02 schreef Support <support@example.org>:\n> Hoi\n", "Bedankt."),
    "outlook original message": (
        "Please see my answers below.\n\nBest regards\nJohn\n\n"
        "-----Original Message-----\nFrom: Support <support@example.org>\nSent: Monday, May 6, 2024 10:02 AM\n"
        "To: John <john@example.com>\nSubject: Ticket #42\n\nHello John,\n",
        "Please see my answers below.\n\nBest regards\nJohn",
    ),
    "outlook header block with rule": (
        "Done.\n\n________________________________\nFrom: Support <support@example.org>\n"
        "Sent: Monday, May 6, 2024 10:02\nTo: John\nSubject: RE: Ticket #42\n\nHello John,\n",
        "Done.",
    ),
    "outlook german Von/Gesendet": (
        "Erledigt.\n\nVon: Support <support@example.org>\nGesendet: Montag, 6. Mai 2024 10:02\n"
        "An: Jan <jan@example.com>\nBetreff: AW: Ticket #42\n\nHallo Jan,\n",
        "Erledigt.",
    ),
    "outlook bold fields after html conversion": (
        "Ok\n\n*From:* Support <support@example.org>\n*Sent:* Monday, May 6, 2024\n*To:* Jane\n*Subject:* x\n",
        "Ok",
    ),
    "ursprüngliche nachricht": (
        "Anbei die Datei.\n\n-----Ursprüngliche Nachricht-----\nVon: Support\nGesendet: Montag\nAn: Jan\nBetreff: x\n",
        "Anbei die Datei.",
    ),
    "gmx sent-first block": (
        'Hier die Daten.\n\nGesendet: Mittwoch, 03. Februar 2016 um 12:43 Uhr\nVon: "Martin" <m@example.com>\n'
        "An: support@example.org\nBetreff: Zugangsdaten\nalte Nachricht\n",
        "Hier die Daten.",
    ),
    "signature": ("Thanks!\n\n-- \nJane Doe\nACME Corp\n+49 30 1234", "Thanks!"),
    "signature without trailing space": ("Thanks!\n--\nJane Doe", "Thanks!"),
    "bottom posting keeps the answer": (
        "On Mon, May 6, 2024 at 10:02 AM Support wrote:\n> Did it work?\n\nYes it did.\n",
        "Yes it did.",
    ),
    "inline answers keep every answer": (
        "> Which printer?\nThe one on floor 2.\n> Since when?\nSince Monday.\n",
        "The one on floor 2.\nSince Monday.",
    ),
    "forwarded message is not trimmed": (
        "Please look at this.\n\n---------- Forwarded message ---------\nFrom: Bob <bob@example.com>\n"
        "Date: Mon, May 6, 2024 at 10:02 AM\nSubject: Broken\nTo: jane@example.com\n\nIt is broken.\n",
        "Please look at this.\n\n---------- Forwarded message ---------\nFrom: Bob <bob@example.com>\n"
        "Date: Mon, May 6, 2024 at 10:02 AM\nSubject: Broken\nTo: jane@example.com\n\nIt is broken.",
    ),
    "a new mail is unchanged": ("Hello,\n\nmy printer is broken.\n\nJane", "Hello,\n\nmy printer is broken.\n\nJane"),
    "only a quote: nothing is lost": ("> just quoted text\n> more\n", "> just quoted text\n> more"),
    "crlf line ends": ("Thanks\r\n\r\nOn Mon, Jane wrote:\r\n> hi\r\n", "Thanks"),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_trim_reply(text: str, expected: str) -> None:
    assert trim_reply(text) == expected


def test_empty() -> None:
    assert trim_reply("") == ""
