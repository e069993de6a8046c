"""The demo: the seed policy with a realistic history from 2019 to now, recorded at its historical times."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from events.application import Context, Ledger
from events.domain import commands as cmd
from events.domain.canonical import format_time, parse_time, utcnow
from events.domain.document import Document
from events.domain.errors import AlreadyExists, WrongState
from events.domain.policy import Actor
from events.domain.rules import ApprovalRule
from service import accounts as auth
from service.bootstrap import bootstrap

from .importing import ImportRequest, import_policy, parse_policy_file

SEED_FILE = Path(__file__).parent / "seed" / "oshsu-education-quality-policy.ky.txt"
POLICY_ID = "oshsu-quality"
TOKENS_FILE = "demo-tokens.txt"
DATABASE_LINE = "# Policy Ledger demo users of the database "

# One user per part in the story; the quality office both imports (authors) the text and adopts it (admin); a
# lecturer (staff) reads the internal pages and acknowledges the version in force.
USERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dean", ("author",)),
    ("head-of-department", ("author",)),
    ("teacher", ("author",)),
    ("reviewer1", ("reviewer",)),
    ("reviewer2", ("reviewer",)),
    ("qa-director", ("approver",)),
    ("rector", ("approver",)),
    ("auditor", ("auditor",)),
    ("quality-office", ("admin", "author")),
    ("lecturer", ("staff",)),
)
# Each demo user's full name and the language of their pages and messages (an accreditation auditor from abroad).
PEOPLE: dict[str, tuple[str, str]] = {
    "dean": ("Нурлан Абдыкадыров", "ky"),
    "head-of-department": ("Гүлнара Жолдошева", "ky"),
    "teacher": ("Айбек Мамытов", "ky"),
    "reviewer1": ("Бактыгүл Осмонова", "ky"),
    "reviewer2": ("Елена Петрова", "ru"),
    "qa-director": ("Жыпаргүл Асанова", "ky"),
    "rector": ("Канатбек Исаков", "ky"),
    "auditor": ("Sarah Mitchell", "en"),
    "quality-office": ("Сапат бөлүмү", "ky"),
    "lecturer": ("Айгүл Токтосунова", "ky"),
}
MAIL_DOMAIN = "oshsu.example"

# The university units responsible for the seven strategic directions.
UNITS = {
    "I.": "Окуу-методикалык башкармалыгы",
    "II.": "Илим жана инновациялар башкармалыгы",
    "III.": "Кадрлар башкармалыгы",
    "IV.": "Эл аралык байланыштар бөлүмү",
    "V.": "Инфраструктураны өнүктүрүү бөлүмү",
    "VI.": "Санариптик трансформация борбору",
    "VII.": "Тарбия иштери жана жаштар саясаты бөлүмү",
}
KEY_PROVISIONS = "Негизги жоболор:"
PROVISION_5_DRAFT = ("билим берүү процессин илим жана практика менен интеграциялоо, илимий мекемелер, ишканалар "
                     "жана уюмдар менен байланышты чыңдоо;")
PROVISION_5 = ("билим берүү процессин илим жана практика менен интеграциялоо, илимий мекемелер, ишканалар, "
               "иш берүүчүлөр жана уюмдар менен байланышты чыңдоо;")
PROVISION_ADDED = "студенттердин жана иш берүүчүлөрдүн пикирин билим берүүнүн сапатын баалоодо жыл сайын эске алуу;"
DIRECTION_VI_REJECTED = ("СТРАТЕГИЯЛЫК БАГЫТ – Санариптик билим берүү чөйрөсүн түзүү жана бардык курстарды "
                         "онлайн форматка өткөрүү.")
PROVISION_9_DRAFT = ("ишмердиктин бардык түрлөрүнүн сапатынын жогорулашын камсыздоочу университеттин санариптик "
                     "трансформациясы;")
LAST_MOMENT = "2025-10-06T09:20:00+00:00"
# The revisions the story makes, by the key DemoResult.revisions uses, as a person would call them.
REVISION_NOTES = {
    "adopted": "the 2019 text, adopted as version 1",
    "revision_2021": "the 2021 revision of provision 5, published as version 2",
    "rejected_2024": "the 2024 proposal on direction VI, rejected",
    "open_draft": "the dean's open draft on provision 9",
}


class HistoricalClock:
    """A clock set by hand to past moments; each reading moves on a microsecond so times stay distinct."""

    def __init__(self, start: str) -> None:
        self.now = parse_time(start)

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now

    def set(self, moment: str) -> None:
        """Move to a later moment; the story, like the log's record time, never runs backwards."""
        target = parse_time(moment)
        if target < self.now:
            raise ValueError(f"the clock cannot go back from {format_time(self.now)} to {moment}")
        self.now = target


@dataclass(frozen=True, kw_only=True)
class DemoResult:
    """What the demo made: the policy, its revisions by name, and each demo user's token."""

    policy_id: str
    revisions: dict[str, str]
    tokens: dict[str, str]
    passwords: dict[str, str]
    roles: dict[str, tuple[str, ...]]
    events: int


@dataclass
class _Story:
    """Commands on the demo policy, each at the moment the clock was set to."""

    ledger: Ledger
    clock: HistoricalClock
    revisions: dict[str, str] = field(default_factory=dict)

    def at(self, moment: str) -> _Story:
        self.clock.set(moment)
        return self

    def do(self, command: cmd.Command, actor: str, role: str, reason: str | None = None) -> dict[str, Any]:
        context = Context(actor=Actor(name=actor, role=role), reason=reason)
        return self.ledger.handle(command, context).result

    def document(self, version: int) -> Document:
        return self.ledger.load(POLICY_ID).document_at(version)


def load_demo(database_url: str, seed: Path = SEED_FILE) -> DemoResult:
    """Load the seed policy's history into an empty log and create the demo users; refuse a non-empty log."""
    if utcnow() < parse_time(LAST_MOMENT):
        raise WrongState(f"the system clock reads {format_time(utcnow())}, before the demo's last date "
                         f"{LAST_MOMENT}; set the clock right first", field="clock")
    clock = HistoricalClock("2019-08-26T09:00:00+00:00")
    services = bootstrap(database_url, clock=clock)
    try:
        held = services.store.head()[0]
        if held:
            raise WrongState(f"the log already holds {held} events; the demo loads only into an empty log",
                             field="database")
        with services.engine.connect() as connection:
            taken = connection.execute(select(auth.users.c.name)
                                       .where(auth.users.c.name.in_([name for name, _ in USERS]))).scalars().all()
        if taken:
            raise AlreadyExists(f"demo users already exist ({', '.join(sorted(taken))}); the demo needs a fresh "
                                "database", field="users")
        story = _Story(services.ledger, clock)
        _adopt_2019(story, seed)
        _revise_2021(story)
        _review_2022(story)
        _reject_2024(story)
        _draft_now(story)
        passwords = {name: f"{name}-{secrets.token_urlsafe(6)}" for name, _ in USERS}
        tokens = {name: auth.add_user(services.engine, name, list(roles), full_name=PEOPLE[name][0],
                                      language=PEOPLE[name][1], email=f"{name}@{MAIL_DOMAIN}",
                                      password=passwords[name])
                  for name, roles in USERS}
        return DemoResult(policy_id=POLICY_ID, revisions=story.revisions, tokens=tokens, passwords=passwords,
                          roles=dict(USERS),
                          events=services.store.head()[0])
    finally:
        services.engine.dispose()


def _adopt_2019(story: _Story, seed: Path) -> None:
    """The quality office imports the signed text and adopts it; units take the seven directions."""
    story.at("2019-08-26T09:30:00+00:00")
    imported = import_policy(story.ledger, parse_policy_file(seed), ImportRequest(
        policy_id=POLICY_ID, actor="quality-office", source=seed.name, language="ky",
        approval_rule=ApprovalRule(approvals=2, roles=("approver",)), publish=True,
        effective_from=parse_time("2019-09-01T00:00:00Z"),
        reason="approved by the academic council on 2019-08-23, before the ledger was kept; "
               f"imported from {seed.name}"))
    story.revisions["adopted"] = imported.draft_revision_id
    story.at("2019-09-02T10:00:00+00:00")
    document = story.document(1)
    for section_id in document.children[None]:
        section = document.sections[section_id]
        if section.label in UNITS:
            story.do(cmd.AssignResponsibility(
                policy_id=POLICY_ID, party=UNITS[section.label], party_kind="unit", section_id=section_id,
                duty="responsible", valid_from=parse_time("2019-09-01T00:00:00Z")), "quality-office", "admin",
                reason="order of the rector on the 2019–2024 development concept")


def _provisions(document: Document) -> tuple[str, ...]:
    heading = next(s for s in document.sections.values() if s.kind == "heading" and s.title == KEY_PROVISIONS)
    return tuple(document.children[heading.id])


def _revise_2021(story: _Story) -> None:
    """A department head amends provision 5 and adds one; two reviews, one round of changes, two signatures."""
    author = "head-of-department"
    provisions = _provisions(story.document(1))
    fifth = provisions[4]
    rid = story.at("2021-05-10T08:15:00+00:00").do(cmd.OpenRevision(
        policy_id=POLICY_ID, summary="5-жобону тактоо жана кызыкдар тараптардын пикири боюнча жобо кошуу"),
        author, "author")["revision_id"]
    story.revisions["revision_2021"] = rid
    on = {"policy_id": POLICY_ID, "revision_id": rid}
    story.do(cmd.ChangeRevision(**on, changes=(
        cmd.AmendSection(section_id=fifth, text=PROVISION_5_DRAFT),
        cmd.AddSection(parent_id=story.document(1).parents[fifth], after_id=fifth, kind="item", label="•",
                       text=PROVISION_ADDED))), author, "author")
    story.at("2021-05-12T10:00:00+00:00").do(cmd.SubmitRevision(**on, reviewers=("reviewer1", "reviewer2")),
                                              author, "author")
    story.at("2021-05-17T11:40:00+00:00").do(cmd.ReviewRevision(
        **on, verdict="request_changes",
        comment="Иш берүүчүлөрдү да атаңыз: бүтүрүүчүлөрдүн ишке орношуусу ушуга байланыштуу."),
        "reviewer1", "reviewer")
    story.at("2021-05-19T09:05:00+00:00").do(cmd.ChangeRevision(**on, changes=(
        cmd.AmendSection(section_id=fifth, text=PROVISION_5),)), author, "author")
    story.do(cmd.SubmitRevision(**on, reviewers=("reviewer1", "reviewer2")), author, "author")
    story.at("2021-05-24T14:20:00+00:00").do(cmd.ReviewRevision(**on, verdict="approve",
                                                                comment="Сунуш эске алынды."), "reviewer1", "reviewer")
    story.at("2021-05-25T10:10:00+00:00").do(cmd.ReviewRevision(**on, verdict="approve", comment="Макулмун."),
                                              "reviewer2", "reviewer")
    story.at("2021-06-02T09:00:00+00:00").do(cmd.ApproveRevision(
        **on, meaning="approved as quality assurance director", full_name=PEOPLE["qa-director"][0]),
        "qa-director", "approver")
    story.at("2021-06-07T12:30:00+00:00").do(cmd.ApproveRevision(
        **on, meaning="approved as rector", comment="Окумуштуулар кеңешинин чечими менен",
        full_name=PEOPLE["rector"][0]), "rector", "approver")
    story.at("2021-08-20T10:00:00+00:00").do(cmd.PublishRevision(
        **on, effective_from=parse_time("2021-09-01T00:00:00Z")), "qa-director", "approver",
        reason="in force from the new academic year")
    # The quality office asks the staff (and the teacher by name) to read version 2 by October; the demo's
    # users are created after the story, so the audience is read from USERS as the accounts would give it.
    asked = (*(name for name, roles in USERS if "staff" in roles), "teacher")
    story.at("2021-08-23T09:00:00+00:00").do(cmd.StartCampaign(
        policy_id=POLICY_ID, version=2, due=parse_time("2021-10-01T00:00:00Z"), roles=("staff",),
        users=("teacher",), audience=asked), "quality-office", "admin",
        reason="every member of staff reads the revised policy before the academic year starts")
    story.at("2021-09-10T07:45:00+00:00").do(cmd.AcknowledgeVersion(policy_id=POLICY_ID, version=2),
                                              "teacher", "author")


def _review_2022(story: _Story) -> None:
    """The yearly review of the policy in force finds nothing to change, and says so."""
    story.at("2022-06-15T10:00:00+00:00").do(cmd.RecordPeriodicReview(
        policy_id=POLICY_ID, outcome="no_change", notes="Саясат талдоого алынды; өзгөртүү талап кылынбайт."),
        "qa-director", "approver")


def _reject_2024(story: _Story) -> None:
    """A proposal to move every course online is refused by the rector, with the reason."""
    author = "head-of-department"
    document = story.document(2)
    sixth = next(s.id for s in document.sections.values() if s.label == "VI.")
    rid = story.at("2024-02-12T08:30:00+00:00").do(cmd.OpenRevision(
        policy_id=POLICY_ID, summary="VI багытты кеңейтүү: бардык курстар онлайн"), author, "author")["revision_id"]
    story.revisions["rejected_2024"] = rid
    on = {"policy_id": POLICY_ID, "revision_id": rid}
    story.do(cmd.ChangeRevision(**on, changes=(cmd.AmendSection(section_id=sixth, text=DIRECTION_VI_REJECTED),)),
             author, "author")
    story.at("2024-02-13T09:00:00+00:00").do(cmd.SubmitRevision(**on, reviewers=("reviewer2",)), author, "author")
    story.at("2024-03-01T11:00:00+00:00").do(
        cmd.RejectRevision(**on), "rector", "approver",
        reason="Бардык курстарды онлайн форматка өткөрүү университеттин өнүгүү концепциясына ылайык келбейт.")


def _draft_now(story: _Story) -> None:
    """The dean has a draft open: provision 9 speaks of digital transformation, not informatisation."""
    ninth = _provisions(story.document(2))[9]  # the ninth of the original eleven, after 2021's addition
    rid = story.at("2025-10-06T09:00:00+00:00").do(cmd.OpenRevision(
        policy_id=POLICY_ID, summary="9-жобону жаңылоо: маалыматташтыруудан санариптик трансформацияга"),
        "dean", "author")["revision_id"]
    story.revisions["open_draft"] = rid
    story.at(LAST_MOMENT).do(cmd.ChangeRevision(policy_id=POLICY_ID, revision_id=rid, changes=(
        cmd.AmendSection(section_id=ninth, text=PROVISION_9_DRAFT),)), "dean", "author")


def save_tokens(path: Path, result: DemoResult, database: str) -> None:
    """Write the demo users' tokens, and the database they belong to, to a file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{DATABASE_LINE}{database}",
             "# name, roles, password (for the pages), API token (send as: Authorization: Bearer <token>)"]
    lines += [f"{name}\t{','.join(result.roles[name])}\t{result.passwords[name]}\t{token}"
              for name, token in result.tokens.items()]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)  # O_CREAT's mode applies only to a new file
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


@dataclass(frozen=True, kw_only=True)
class SavedTokens:
    """The demo tokens saved in a file, and the database whose users they are."""

    database: str | None
    users: list[tuple[str, str, str, str]]


def read_tokens(path: Path) -> SavedTokens:
    """Return the saved users as (name, roles, password, token), none when no demo was saved there."""
    if not path.is_file():
        return SavedTokens(database=None, users=[])
    database, users = None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(DATABASE_LINE):
            database = line.removeprefix(DATABASE_LINE)
        elif line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) == 3:  # saved before demo users had passwords
                parts.insert(2, "")
            name, roles, password, token = parts
            users.append((name, roles, password, token))
    return SavedTokens(database=database, users=users)
