"""trim_reply on reply headers in other languages, as clients write and wrap them.

Lines marked with a file are copied verbatim from that real mail in the shared corpus
(shared/data/emails, see SOURCES.md). The corpus has German and English replies only, so
the Russian, Japanese, Chinese, French, Spanish, Portuguese, Dutch and Italian lines are
written in the format the named client produces (with example.org addresses).
"""

from __future__ import annotations

import pytest

from services.ingest.email import parse_email, trim_reply
from tests.unit.ingest_email.corpus import read

NEW = "Danke, das hat geholfen.\nJan"
QUOTED = "\n> Hello Jan,\n> please restart the printer.\n"
UNQUOTED = "\nHello Jan,\nplease restart the printer.\n\nSupport\n"

#: header -> where it comes from; each is tried above a '>' block and above unquoted history
HEADERS = {
    # real lines from the corpus
    "Am 4. April 2012 08:24 schrieb Smith, John Marian <john.smith@example.com<mailto:john.smith@example.com>>:": (
        "zammad/mail003.box"
    ),
    "Am 07.05.2012 08:10, schrieb Martin Edenhofer via Znuny Team:": "zammad/mail005.box",
    "On May 2, 2012, at 14:25 , John Smith wrote:": "zammad/mail003.box",
    "On Thu, Aug 19, 2021 at 2:07 PM Tejaswini from Email sender test <\ntejaswini@chatwoot.com> wrote:": (
        "chatwoot/mail_with_quote.eml"
    ),
    "-----Ursprüngliche Nachricht-----\nVon: Martin Edenhofer via Znuny Sales [mailto:example@znuny.com]\n"
    "Gesendet: Freitag, 30. November 2012 13:50\nAn: Smith, Alex\nBetreff: Agenda [Ticket#11995]": "zammad/mail012.box",
    "----- Original Nachricht ----\nVon:     example@example.com\nAn:      bob@example.com\n"
    "Datum:   30.05.2017 16:17\nBetreff: Invoice": "zammad/mail057.box",
    "Von: Fritz Bauer [mailto:me@example.com]\nGesendet: Donnerstag, 3. Mai 2012 11:51\nAn: John Smith\n"
    "Betreff: Re: XXXX::XXX Erweiterung - Anhänge an CI's": "zammad/mail003.box",
    "-----Original Message-----\nFrom: GitHub <noreply@github.com>\nSent: Tuesday, 6 April 2021 9:09 AM\n"
    "Subject: [GitHub API] Update notice for access token [SEC=UNOFFICIAL]": "django-helpdesk/forwarded-message.eml",
    # the formats of clients the corpus has no mail from
    "6 мая 2024 г., в 10:02, Support <support@example.org> написал(а):": "Apple Mail, Russian",
    "11 мая 2024 г., 10:02 Иван Петров <ivan@example.org> написал(а):": "Gmail, Russian",
    "пн, 6 мая 2024 г. в 10:02, Support <support@example.org>:": "Gmail, Russian (no verb)",
    "06.05.2024 10:02, Support пишет:": "Thunderbird, Russian",
    "6 мая 2024 г., в 10:02, Support <support@example.org>\nнаписал(а):": "Apple Mail, Russian, wrapped",
    "2024-05-06 10:02 に Support さんは書きました:": "Thunderbird, Japanese",
    "2024年5月6日(月) 10:02 Support <support@example.org>:": "Gmail, Japanese",
    "2024/05/06 10:02、Support <support@example.org>のメール:": "Apple Mail, Japanese",
    "Support <support@example.org> 于2024年5月6日周一 10:02写道：": "Gmail, Chinese",
    "Le lun. 6 mai 2024 à 10:02, Support <\nsupport@example.org> a écrit :": "Gmail, French, wrapped",
    "Le 06/05/2024 à 10:02, Support a écrit\u00a0:": "Thunderbird, French (no-break space)",
    "El lun, 6 may 2024 a las 10:02, Support (<support@example.org>) escribió:": "Gmail, Spanish",
    "Em seg., 6 de mai. de 2024 às 10:02, Support <support@example.org> escreveu:": "Gmail, Portuguese",
    "Op ma 6 mei 2024 om 10:02 schreef Support <support@example.org>:": "Gmail, Dutch",
    "Il giorno lun 6 mag 2024 alle ore 10:02 Support <support@example.org> ha scritto:": "Gmail, Italian",
    "Am Mo., 6. Mai 2024 um 10:02 Uhr schrieb Support <\nsupport@example.org>:": "Gmail, German, wrapped",
    "-----Исходное сообщение-----\nОт: Support <support@example.org>\nОтправлено: 6 мая 2024 г. 10:02\n"
    "Кому: Jan\nТема: RE: Drucker": "Outlook, Russian",
    "От: Support <support@example.org>\nОтправлено: понедельник, 6 мая 2024 г. 10:02\nКому: Jan\nТема: RE: x": (
        "Outlook, Russian, no separator"
    ),
    "差出人: Support <support@example.org>\n送信日時: 2024年5月6日 10:02\n宛先: Jan\n件名: RE: Drucker": "Outlook, Japanese",
    "发件人: Support <support@example.org>\n发送时间: 2024年5月6日 10:02\n收件人: Jan\n主题: 回复: Drucker": "Outlook, Chinese",
    "De: Support <support@example.org>\nEnviada em: segunda-feira, 6 de maio de 2024 10:02\nPara: Jan\n"
    "Assunto: RE: Drucker": "Outlook, Portuguese",
    "De: Support <support@example.org>\nEnviado el: lunes, 6 de mayo de 2024 10:02\nPara: Jan\nAsunto: RE: x": (
        "Outlook, Spanish"
    ),
    "De\u00a0: Support <support@example.org>\nEnvoyé\u00a0: lundi 6 mai 2024 10:02\nÀ\u00a0: Jan\nObjet\u00a0: RE: x": (
        "Outlook, French"
    ),
}


@pytest.mark.parametrize("below", [QUOTED, UNQUOTED], ids=["above a quote", "above unquoted history"])
@pytest.mark.parametrize("header", HEADERS, ids=HEADERS.values())
def test_a_reply_header_and_the_history_below_it_are_trimmed(header: str, below: str) -> None:
    assert trim_reply(f"{NEW}\n\n{header}{below}") == NEW


#: undated attributions: trusted only right above a '>' block
BARE = {
    "Support Team <\nsupport@example.org> wrote:": "a bare attribution wrapped inside the address",
    "Иван Петров написал:": "Russian, bare",
    "Support さんは書きました:": "Japanese, bare",
}


@pytest.mark.parametrize("header", BARE, ids=BARE.values())
def test_an_undated_attribution_right_above_a_quote_is_trimmed(header: str) -> None:
    assert trim_reply(f"{NEW}\n\n{header}{QUOTED}") == NEW


#: a real mail, the header line in it (checked to be there) and the customer's own words
REAL_MAILS = [
    ("zammad/mail003.box", "Von: Fritz Bauer [mailto:me@example.com]", "für den Beta-Test für die Ticket Templates"),
    ("zammad/mail005.box", "Am 07.05.2012 08:10, schrieb Martin Edenhofer via Znuny Team:", "nur am Freitag"),
    ("zammad/mail007.box", 'Von: "Martin Edenhofer via Znuny Team" <support@example.com>', "absagen für morgen"),
    ("zammad/mail012.box", "-----Ursprüngliche Nachricht-----", "Problem mit unserer Develop-Umgebung"),
    ("chatwoot/mail_with_quote.eml", "tejaswini@chatwoot.com> wrote:", "step how to reproduce this issue"),
    ("flanker/edge-cases/from-encoding.eml", "Marc Slemko wrote:", "switching to an EUID of nobody"),
    ("django-helpdesk/forwarded-message.eml", "-----Original Message-----", "This is email body"),
]


@pytest.mark.parametrize(("path", "header", "kept"), REAL_MAILS, ids=[m[0] for m in REAL_MAILS])
def test_real_replies_keep_the_new_words_and_drop_the_history(path: str, header: str, kept: str) -> None:
    text = parse_email(read(path)).text
    assert header in text
    trimmed = trim_reply(text)
    assert kept in trimmed
    assert header not in trimmed and len(trimmed) < len(text) - len(header)


#: the customer's own words, which merely contain a header's words
NOT_HEADERS = {
    "German, no date": "Guten Tag,\n\nAm Montag schrieb ich Ihnen bereits:\nDer Drucker druckt nicht.",
    "French, no date": "Bonjour,\n\nLe support a écrit :\nmerci de redémarrer. Je l'ai fait, rien ne change.",
    "English, no date": "Hi,\n\nOn the forum someone wrote:\nrestart the spooler. That did not help.",
    "Russian, no time": "Здравствуйте,\n\nКоллега написал:\nпринтер не печатает.",
    "Japanese, no time": "こんにちは。\n\n田中さんは書きました:\nプリンターが動きません。",
    "an address, no year": "Hi,\n\nMeeting at 10:30 with John <john@example.org>:\nwe still need the invoice.",
    "a header word mid-sentence": "Hallo,\n\nVon: meinem Kollegen weiß ich, dass Datum: egal ist.\nBitte helfen Sie.",
}


@pytest.mark.parametrize("text", NOT_HEADERS.values(), ids=NOT_HEADERS.keys())
def test_customer_text_that_merely_contains_the_words_is_kept(text: str) -> None:
    assert trim_reply(text) == text
