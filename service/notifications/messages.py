"""The messages, in Kyrgyz, Russian and English: a subject, plain text and HTML, with a link to the page.

Written here rather than in the pages' catalogues: a message is made by the worker, outside any request, in
the language of the person it goes to (English for one who has chosen none).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from babel.dates import format_date

from events.domain.canonical import parse_time

LANGUAGES = ("ky", "ru", "en")
DATE_LOCALE = {"en": "en_GB", "ru": "ru", "ky": "ky"}  # as the pages write dates: 1 September 2021

# kind -> language -> (subject, body); the body's paragraphs are separated by blank lines, the last is the link.
TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "review_requested": {
        "en": ("Review requested: {title}",
               "{actor} asks you to review the revision “{summary}” of “{title}”.\n\nReview it here: {link}"),
        "ky": ("Карап чыгуу суралат: {title}",
               "{actor} сизден «{title}» саясатынын «{summary}» редакциясын карап чыгууну суранат.\n\n"
               "Бул жерден карап чыгыңыз: {link}"),
        "ru": ("Запрос на рецензирование: {title}",
               "{actor} просит вас рассмотреть редакцию «{summary}» документа «{title}».\n\nРассмотреть: {link}"),
    },
    "signature_needed": {
        "en": ("Your signature is needed: {title}",
               "The reviewers have approved the revision “{summary}” of “{title}”. It now needs your signature."
               "\n\nSign it here: {link}"),
        "ky": ("Сиздин колуңуз керек: {title}",
               "Карап чыгуучулар «{title}» саясатынын «{summary}» редакциясын жактырышты. Эми ага сиздин "
               "колуңуз керек.\n\nБул жерден кол коюңуз: {link}"),
        "ru": ("Требуется ваша подпись: {title}",
               "Рецензенты одобрили редакцию «{summary}» документа «{title}». Теперь требуется ваша подпись."
               "\n\nПодписать: {link}"),
    },
    "changes_requested": {
        "en": ("Changes requested: {title}",
               "{actor} asks for changes to your revision “{summary}” of “{title}”:\n\n{comment}\n\n"
               "Open it here: {link}"),
        "ky": ("Өзгөртүү суралат: {title}",
               "{actor} «{title}» саясатынын «{summary}» редакцияңызга өзгөртүү киргизүүнү суранат:\n\n"
               "{comment}\n\nБул жерден ачыңыз: {link}"),
        "ru": ("Запрошены изменения: {title}",
               "{actor} просит внести изменения в вашу редакцию «{summary}» документа «{title}»:\n\n{comment}"
               "\n\nОткрыть: {link}"),
    },
    "rejected": {
        "en": ("Revision rejected: {title}",
               "{actor} rejected your revision “{summary}” of “{title}”.\n\nReason: {reason}\n\n"
               "Open it here: {link}"),
        "ky": ("Редакция четке кагылды: {title}",
               "{actor} «{title}» саясатынын «{summary}» редакцияңызды четке какты.\n\nСебеби: {reason}\n\n"
               "Бул жерден ачыңыз: {link}"),
        "ru": ("Редакция отклонена: {title}",
               "{actor} отклоняет вашу редакцию «{summary}» документа «{title}».\n\nПричина: {reason}\n\n"
               "Открыть: {link}"),
    },
    "published": {
        "en": ("Published: {title}, version {version}",
               "Your revision “{summary}” of “{title}” is published as version {version}, in force from "
               "{date}.\n\nOpen it here: {link}"),
        "ky": ("Жарыяланды: {title}, {version}-версия",
               "«{title}» саясатынын «{summary}» редакцияңыз {version}-версия катары жарыяланды. Күчүнө "
               "кирүү күнү: {date}.\n\nБул жерден ачыңыз: {link}"),
        "ru": ("Опубликовано: {title}, версия {version}",
               "С {date} действует версия {version} документа «{title}», опубликованная по вашей редакции "
               "«{summary}».\n\nОткрыть: {link}"),
    },
    "acknowledgement_needed": {
        "en": ("Please read and acknowledge: {title}, version {version}",
               "Version {version} of “{title}” is in force from {date}. Please read it and acknowledge that "
               "you have.\n\nAcknowledge it here: {link}"),
        "ky": ("Окуп, таанышканыңызды белгилеңиз: {title}, {version}-версия",
               "«{title}» саясатынын {version}-версиясы жарыяланды, күчүнө кирүү күнү: {date}. Аны окуп "
               "чыгып, таанышканыңызды белгилеңиз.\n\nБул жерден белгилеңиз: {link}"),
        "ru": ("Ознакомьтесь: {title}, версия {version}",
               "С {date} действует версия {version} документа «{title}». Прочитайте её и подтвердите "
               "ознакомление.\n\nПодтвердить: {link}"),
    },
    "review_due": {
        "en": ("Periodic review due on {date}: {title}",
               "The periodic review of “{title}”, which you answer for, is due on {date}.\n\n"
               "Record it here: {link}"),
        "ky": ("Мезгилдүү карап чыгуу мөөнөтү {date}: {title}",
               "Сиз жооп берген «{title}» саясатын мезгилдүү карап чыгуунун мөөнөтү — {date}.\n\n"
               "Бул жерден каттаңыз: {link}"),
        "ru": ("Срок периодического пересмотра {date}: {title}",
               "{date} наступает срок периодического пересмотра документа «{title}», за который вы отвечаете.\n\n"
               "Зафиксировать пересмотр: {link}"),
    },
    "review_overdue": {
        "en": ("Periodic review overdue: {title}",
               "The periodic review of “{title}”, which you answer for, has been due since {date}. Please "
               "review the policy and record the outcome.\n\nRecord it here: {link}"),
        "ky": ("Мезгилдүү карап чыгуунун мөөнөтү өттү: {title}",
               "Сиз жооп берген «{title}» саясатын мезгилдүү карап чыгуунун мөөнөтү ({date}) өтүп "
               "кетти. Саясатты карап чыгып, жыйынтыгын каттаңыз.\n\nБул жерден каттаңыз: {link}"),
        "ru": ("Периодический пересмотр просрочен: {title}",
               "С {date} просрочен периодический пересмотр документа «{title}», за который вы отвечаете. "
               "Пересмотрите документ и зафиксируйте результат.\n\nЗафиксировать пересмотр: {link}"),
    },
}


@dataclass(frozen=True, kw_only=True)
class Message:
    """One message as it goes out."""

    subject: str
    text: str
    html: str


def human_date(moment: str | None, language: str, timezone: str) -> str:
    """Return a time as people write its date in a language, in the deployment's time zone."""
    if not moment:
        return ""
    local: datetime = parse_time(moment).astimezone(ZoneInfo(timezone))
    return format_date(local.date(), format="long", locale=DATE_LOCALE.get(language, "en_GB"))


def render(kind: str, language: str | None, **values: object) -> Message:
    """Return a message of a kind in a language (English for none), the values put in its text."""
    language = language if language in LANGUAGES else "en"
    subject, body = TEXTS[kind][language]
    text = body.format(**values)
    link = str(values["link"])
    paragraphs = []
    for paragraph in text.split("\n\n"):
        html = escape(paragraph).replace("\n", "<br>")
        paragraphs.append(f"<p>{html.replace(escape(link), _anchor(link))}</p>")
    html_document = (f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
                     f"<title>{escape(subject.format(**values))}</title></head>\n<body>\n"
                     + "\n".join(paragraphs) + "\n</body></html>\n")
    return Message(subject=" ".join(subject.format(**values).split()), text=text + "\n", html=html_document)


def _anchor(link: str) -> str:
    return f'<a href="{escape(link)}">{escape(link)}</a>'
