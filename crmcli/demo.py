"""A realistic, deterministic sample CRM: the same seed and the same day give the same data.

Everything goes through the domain API, so the demo is as clean as real data must be.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from crmcli.domain import activities, companies, contacts, fields
from crmcli.errors import Conflict
from crmcli.models import Activity, Company, Contact
from crmcli.values import clock

OWNERS = ("ana", "ben", "mei")
# country: (landline pattern, mobile pattern, names)
COUNTRIES = {  # country: (landline pattern, mobile pattern, first names, surnames)
    "DE": (
        "+49 30 ########",
        "+49 151 ########",
        [
            "Anna",
            "Jürgen",
            "Katrin",
            "Lukas",
            "Sophie",
            "Felix",
            "Lena",
            "Maximilian",
            "Hannah",
            "Tobias",
            "Marie",
            "Jörg",
        ],
        [
            "Müller",
            "Weiß",
            "Schäfer",
            "Becker",
            "Köhler",
            "Schröder",
            "Wagner",
            "Groß",
            "Fischer",
            "Hoffmann",
            "Krüger",
            "Vogel",
        ],
    ),
    "US": (
        "+1 212 555 01##",
        "+1 415 2## ####",
        ["James", "Olivia", "Ethan", "Ava", "Noah", "Mia", "Liam", "Emily", "Lucas", "Chloe", "Mason", "Zoe"],
        [
            "Miller",
            "Johnson",
            "Brown",
            "Davis",
            "Wilson",
            "Anderson",
            "Thomas",
            "Taylor",
            "Moore",
            "Martin",
            "Lee",
            "Clark",
        ],
    ),
    "CN": (
        "+86 10 ########",
        "+86 138 #### ####",
        ["伟", "芳", "娜", "洋", "静", "磊", "敏", "丽", "杰", "婷", "强", "悦", "伟明", "晓东"],
        ["张", "王", "李", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"],
    ),
    "FR": (
        "+33 1 ## ## ## ##",
        "+33 6 ## ## ## ##",
        ["Camille", "Léa", "Hugo", "Chloé", "Théo", "Manon", "Nathan", "Inès", "Louis", "Zoé"],
        ["Dubois", "Moreau", "Lefèvre", "Girard", "Rousseau", "Fontaine", "Chevalier", "Lambert", "Bonnet", "Mercier"],
    ),
    "ES": (
        "+34 91 ### ## ##",
        "+34 6## ### ###",
        ["José", "María", "Sofía", "Álvaro", "Lucía", "Hugo", "Martina", "Pablo", "Valentina", "Íñigo"],
        ["García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ruiz", "Díaz", "Álvarez"],
    ),
    "JP": (
        "+81 3 #### ####",
        "+81 90 #### ####",
        ["健", "花子", "翔", "美咲", "大輔", "さくら"],
        ["佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤"],
    ),
}
ROMAN = {
    "张": "zhang",
    "王": "wang",
    "李": "li",
    "刘": "liu",
    "陈": "chen",
    "杨": "yang",
    "赵": "zhao",
    "黄": "huang",
    "周": "zhou",
    "吴": "wu",
    "徐": "xu",
    "孙": "sun",
    "伟": "wei",
    "芳": "fang",
    "娜": "na",
    "洋": "yang",
    "静": "jing",
    "磊": "lei",
    "敏": "min",
    "丽": "li",
    "杰": "jie",
    "婷": "ting",
    "强": "qiang",
    "悦": "yue",
    "伟明": "weiming",
    "晓东": "xiaodong",
    "佐藤": "sato",
    "鈴木": "suzuki",
    "高橋": "takahashi",
    "田中": "tanaka",
    "渡辺": "watanabe",
    "伊藤": "ito",
    "健": "ken",
    "花子": "hanako",
    "翔": "sho",
    "美咲": "misaki",
    "大輔": "daisuke",
    "さくら": "sakura",
}
COMPANIES = [
    ("Acme Robotics GmbH", "acme-robotics.de", "DE", "Manufacturing"),
    ("Nordlicht Software AG", "nordlicht.de", "DE", "SaaS"),
    ("Bäckerei Schulz KG", "baeckerei-schulz.de", "DE", "Retail"),
    ("Rheinwerk Logistik GmbH", "rheinwerk-logistik.de", "DE", "Logistics"),
    ("Grünwald Energie GmbH", "gruenwald-energie.de", "DE", "Energy"),
    ("Isar Health GmbH", "isar-health.de", "DE", "Healthcare"),
    ("Blue Harbor Analytics Inc.", "blueharbor.io", "US", "SaaS"),
    ("Pinecrest Outdoor Co.", "pinecrest.com", "US", "Retail"),
    ("Summit Dental Group LLC", "summitdental.com", "US", "Healthcare"),
    ("Brightline Media Inc.", "brightline.media", "US", "Media"),
    ("Redwood Freight Ltd.", "redwoodfreight.com", "US", "Logistics"),
    ("Copperleaf Finance Corp.", "copperleaf.com", "US", "Finance"),
    ("Lakeside Coffee Roasters", "lakesidecoffee.com", "US", "Retail"),
    ("Northwind Traders Inc.", "northwind.example", "US", "Retail"),
    ("深圳云图科技有限公司", "yuntu.cn", "CN", "SaaS"),
    ("杭州绿叶电商有限公司", "lvye.cn", "CN", "Retail"),
    ("上海远航物流有限公司", "yuanhang-logistics.cn", "CN", "Logistics"),
    ("北京华康医疗有限公司", "huakang.cn", "CN", "Healthcare"),
    ("广州星辰传媒有限公司", "xingchen.cn", "CN", "Media"),
    ("Atelier Lumière SARL", "atelier-lumiere.fr", "FR", "Media"),
    ("Boulangerie Dupont SAS", "dupont-boulangerie.fr", "FR", "Retail"),
    ("Énergie Verte SA", "energie-verte.fr", "FR", "Energy"),
    ("Lyon Data Services SAS", "lyondata.fr", "FR", "SaaS"),
    ("Viñedos del Sol S.L.", "vinedosdelsol.es", "ES", "Retail"),
    ("Madrid Fintech S.A.", "madridfintech.es", "ES", "Finance"),
    ("Clínica Alba S.L.", "clinicaalba.es", "ES", "Healthcare"),
    ("Sakura Systems K.K.", "sakura-systems.jp", "JP", "SaaS"),
    ("Tokyo Freight K.K.", "tokyofreight.jp", "JP", "Logistics"),
    ("Kyoto Tea House", "kyototea.jp", "JP", "Retail"),
    ("Osaka Medical Devices", "osakamed.jp", "JP", "Healthcare"),
    ("Alpine Ventures GmbH", "alpine-ventures.de", "DE", "Finance"),
    ("Harbor & Pine LLP", "harborpine.com", "US", "Finance"),
]
TITLES = [
    "CEO",
    "CTO",
    "COO",
    "Head of Sales",
    "Head of Marketing",
    "Procurement Manager",
    "Office Manager",
    "Founder",
    "IT Director",
    "Operations Lead",
    "Buyer",
    "CFO",
    "Product Manager",
    "Engineer",
]
SOURCES = ["website", "referral", "trade fair", "cold email", "LinkedIn", "webinar", "partner"]
INDUSTRIES = ["SaaS", "Retail", "Manufacturing", "Logistics", "Healthcare", "Finance", "Media", "Energy"]
NOTES = {
    "call": [
        "Intro call, interested in the team plan",
        "Discussed pricing, wants a quote by Friday",
        "Follow-up call: budget approved for Q1",
        "Checked in after onboarding, all good",
        "Call about the renewal, asked for a discount",
        "Left a voicemail",
    ],
    "email": [
        "Sent the proposal PDF",
        "Sent case studies from the same industry",
        "Answered questions about SSO",
        "Shared the onboarding checklist",
        "Sent the contract for signature",
    ],
    "meeting": [
        "Demo with the whole team",
        "On-site visit, met the operations lead",
        "Workshop on the data import",
        "Quarterly business review",
        "Lunch at the trade fair",
    ],
    "note": [
        "Prefers WhatsApp over email",
        "Decision maker is the CFO",
        "Competitor is also pitching",
        "Birthday in March",
        "Budget cycle starts in October",
        "Very happy with support",
    ],
}


# country: (its name, [(city, region, postcode, street)]); # is a digit
PLACES = {
    "DE": ("Germany", [("Berlin", "Berlin", "101##", "Friedrichstraße #"),
                       ("München", "Bayern", "803##", "Leopoldstraße ##"),
                       ("Hamburg", "Hamburg", "200##", "Am Sandtorkai ##"),
                       ("Köln", "Nordrhein-Westfalen", "506##", "Hohenzollernring ##")]),
    "US": ("United States", [("New York", "NY", "100##", "### Park Avenue"),
                             ("San Francisco", "CA", "941##", "### Market Street"),
                             ("Chicago", "IL", "606##", "### N Michigan Avenue"),
                             ("Austin", "TX", "787##", "### Congress Avenue")]),
    "CN": ("China", [("上海", "上海", "2000##", "南京西路###号"), ("北京", "北京", "1000##", "建国路##号"),
                     ("深圳", "广东", "5180##", "深南大道####号"), ("杭州", "浙江", "3100##", "文三路###号"),
                     ("广州", "广东", "5106##", "天河路###号")]),
    "FR": ("France", [("Paris", "Île-de-France", "750##", "## rue de Rivoli"),
                      ("Lyon", "Auvergne-Rhône-Alpes", "6900#", "# place Bellecour")]),
    "ES": ("Spain", [("Madrid", "Madrid", "280##", "Calle de Alcalá ##"),
                     ("Barcelona", "Cataluña", "080##", "Passeig de Gràcia ##")]),
    "JP": ("Japan", [("Tokyo", "Tokyo", "100-00##", "Marunouchi #-#-#"), ("Osaka", "Osaka", "530-00##", "Umeda #-#-#"),
                     ("Kyoto", "Kyoto", "600-8###", "Karasuma-dōri ###")]),
}  # fmt: skip


def _digits(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randint(1, 9)) if ch == "#" else ch for ch in pattern)


def _place(rng: random.Random, country: str, company_name: str) -> dict[str, str]:
    """An address in COUNTRY: in the city the company's name names (Lyon Data, 深圳云图), else any."""
    name, cities = PLACES[country]
    named = [c for c in cities if c[0] in company_name]
    city, region, postcode, street = named[0] if named else rng.choice(cities)
    return {"street": _digits(rng, street), "city": city, "state": region, "postcode": _digits(rng, postcode),
            "country": name}  # fmt: skip


def _ascii(text: str) -> str:
    if text in ROMAN:
        return ROMAN[text]
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return "".join(c for c in folded if c.isascii() and c.isalnum()).lower()


def _person(rng: random.Random, country: str, domain: str) -> tuple[str, str]:
    """A name as people of COUNTRY write it, and an email at DOMAIN."""
    firsts, lasts = COUNTRIES[country][2], COUNTRIES[country][3]
    first, last = rng.choice(firsts), rng.choice(lasts)
    if country == "CN":
        name = f"{last}{first}"  # 张伟明: surname first, no space
    elif country == "JP":
        name = f"{last} {first}"
    else:
        name = f"{first} {last}"
    return name, f"{_ascii(first)}.{_ascii(last)}@{domain}"


def _phone(rng: random.Random, pattern: str) -> str:
    """A random number of PATTERN that phonenumbers accepts as valid."""
    import phonenumbers

    for _ in range(50):
        number = "".join(str(rng.randint(0, 9)) if ch == "#" else ch for ch in pattern)
        if phonenumbers.is_valid_number(phonenumbers.parse(number, None)):
            return number
    raise AssertionError(f"no valid number for {pattern}")


def load(session: Session, *, seed: int = 7, people: int = 300) -> dict[str, int]:
    """Fill an empty database; refuses one that already holds records."""
    held = sum(session.exec(select(func.count()).select_from(model)).one() for model in (Contact, Company, Activity))
    if held:
        raise Conflict(
            f"the database already holds {held} records; the demo only goes into an empty one "
            "(try: crm --db demo.db init --demo)"
        )
    rng = random.Random(seed)
    # addresses, birthdays and websites draw from their own generator: the rest of the demo (and
    # what the README shows of it) stays what it was before contacts had them
    places = random.Random(seed * 31 + 17)
    now = clock.now()
    fields.add_field(session, entity="contacts", name="industry", type="choice", choices=INDUSTRIES)
    fields.add_field(session, entity="contacts", name="newsletter", type="bool")
    fields.add_field(session, entity="companies", name="employees", type="number")
    made: list[tuple[Company, str, str]] = []
    for name, domain, country, industry in COMPANIES:
        company = companies.add_company(
            session,
            name=name,
            domain=domain,
            website=f"https://{domain}",
            phone=_phone(rng, COUNTRIES[country][0]),
            tags=[rng.choice(["customer", "customer", "prospect", "partner"])],
            owner=rng.choice(OWNERS),
            source=rng.choice(SOURCES),
            custom={"employees": str(rng.choice([8, 25, 60, 140, 400, 1200]))},
            region=country,
            industry=industry,
            **_place(places, country, name),
        )
        company.created_at = now - timedelta(days=rng.randint(200, 720))
        made.append((company, country, industry))
    counts = {"companies": len(made), "contacts": 0, "activities": 0}
    used_emails: set[str] = set()
    for i in range(people):
        company, country, industry = made[i % len(made)] if i < len(made) * 6 else rng.choice(made)
        name, email = _person(rng, country, company.domain or "example.com")
        if email in used_emails:
            local, domain = email.split("@")
            email = f"{local}{i}@{domain}"
        used_emails.add(email)
        tags = rng.sample(
            ["vip", "newsletter", "decision-maker", "champion", "event-2026", "trial"], k=rng.randint(0, 2)
        )
        extra: dict[str, str | None] = {}
        if places.random() < 0.3:  # a desk at the company's address
            extra.update(street=company.street, city=company.city, state=company.region, postcode=company.postcode,
                         country=company.country)  # fmt: skip
        if places.random() < 0.4:  # told their birthday, some without the year
            born = now.date() - timedelta(days=places.randint(24 * 365, 62 * 365))
            extra["birthday"] = born.isoformat() if places.random() < 0.6 else born.strftime("--%m-%d")
        if places.random() < 0.15:
            extra["website"] = f"linkedin.com/in/{email.split('@')[0].replace('.', '-')}"
        contact = contacts.add_contact(
            session,
            name=name,
            emails=[email],
            phones=[_phone(rng, COUNTRIES[country][1])] if rng.random() < 0.8 else [],
            title=rng.choice(TITLES),
            company=str(company.id),
            tags=tags,
            owner=company.owner,
            source=rng.choice(SOURCES),
            custom={"industry": industry, "newsletter": rng.choice(["yes", "no"])},
            allow_duplicate=True,
            region=country,
            **extra,  # type: ignore[arg-type]
        )
        created = now - timedelta(days=rng.randint(5, 540), hours=rng.randint(0, 23))
        contact.created_at = contact.updated_at = created
        counts["contacts"] += 1
        for _ in range(rng.choice([0, 1, 2, 3, 3, 4, 5, 8])):
            kind = rng.choice(["call", "call", "email", "email", "meeting", "note"])
            when = created + (now - created) * rng.random()
            activities.log_activity(
                session, type=kind, text=rng.choice(NOTES[kind]), contact=contact, at=when, by=contact.owner
            )
            counts["activities"] += 1
        session.add(contact)
    for company, _country, _industry in made[:10]:
        activities.log_activity(
            session,
            type="note",
            text=rng.choice(NOTES["note"]),
            company=company,
            at=now - timedelta(days=rng.randint(1, 90)),
            by=company.owner,
        )
        counts["activities"] += 1
    counts["deals"] = _deals(session, random.Random(seed * 7919 + 3), now, made)
    counts["follow-ups"] = _followups(session, random.Random(seed * 104729 + 11), now)
    counts["deals"] += _last_year(session, random.Random(seed * 15485863 + 5), now, made)
    counts["targets"] = _targets(session)
    session.flush()
    return counts


PRODUCTS = ["Team plan", "Enterprise licence", "Annual subscription", "Pilot", "Add-on: SSO", "Onboarding package",
            "Support upgrade", "Data migration", "Renewal", "Expansion: 25 seats"]  # fmt: skip
LOST_REASONS = ["price", "price", "timing", "competitor", "competitor", "no budget", "no decision", "went silent"]
AMOUNTS = [2400, 4800, 7500, 9600, 12000, 18000, 24000, 36000, 48000, 60000, 85000, 120000]


def _deals(session: Session, rng: random.Random, now: datetime, made: list[tuple[Company, str, str]]) -> int:
    """Deals with a believable past: created over the last ten months, moved stage by stage
    every few days or weeks, some won, some lost with a reason, the rest open (a few stalled)."""
    from crmcli.domain import deals, pipeline

    sales = pipeline.get_pipeline(session)
    open_stages = [s.name for s in pipeline.stages(session, sales) if s.kind == "open"]
    people: dict[int, list[Contact]] = {}
    for contact in session.exec(select(Contact).order_by(Contact.id)):
        people.setdefault(contact.company_id or 0, []).append(contact)
    count = 0
    for _ in range(140):
        company, country, _industry = rng.choice(made)
        contact = rng.choice(people.get(company.id or 0) or [None])
        outcome = rng.random()  # < 0.3 won, < 0.55 lost, else still open
        # closed deals come from the last ten months; the open ones are mostly recent
        created = now - timedelta(
            days=rng.randint(20, 300) if outcome < 0.55 else rng.randint(2, 75), hours=rng.randint(0, 23)
        )
        amount = rng.choice(AMOUNTS) + rng.choice([0, 0, 0, 250, 499.5])
        deal = deals.add_deal(
            session, title=f"{company.name.split(' ')[0]} – {rng.choice(PRODUCTS)}",
            contact=str(contact.id) if contact else None, company=str(company.id), amount=str(amount),
            currency="USD" if country == "US" else "EUR", owner=company.owner, by=company.owner,
            close_date=(created + timedelta(days=rng.randint(30, 120)) if outcome < 0.55
                        else now + timedelta(days=rng.randint(-7, 75))).date(),
            created_at=created,
        )  # fmt: skip
        count += 1
        last = len(open_stages) - 1 if outcome < 0.55 else rng.randint(0, len(open_stages) - 1)
        when = created
        for stage in open_stages[1 : last + 1]:
            when += timedelta(days=rng.randint(2, 18), hours=rng.randint(0, 8))
            if when >= now:
                break
            deals.move_deal(session, deal, stage, by=deal.owner, at=when)
            if stage == "Proposal":
                activities.log_activity(
                    session, type="email", text="Sent the proposal", deal=deal, at=when, by=deal.owner
                )
        else:
            when += timedelta(days=rng.randint(3, 30))
            if outcome < 0.55 and when < now:
                if outcome < 0.3:
                    deals.win(session, deal, by=deal.owner, at=when)
                else:
                    deals.lose(session, deal, reason=rng.choice(LOST_REASONS), by=deal.owner, at=when)
    # the sales process as rules, shown by `crm pipeline stages`
    pipeline.edit_stage(session, pipeline.resolve_stage(session, sales, "Qualified"), rot_days=21)
    pipeline.edit_stage(
        session, pipeline.resolve_stage(session, sales, "Proposal"), rot_days=14,
        require=["amount", "close_date", "contact"], on_enter="3d: chase the proposal",
    )  # fmt: skip
    pipeline.edit_stage(
        session, pipeline.resolve_stage(session, sales, "Won"), on_enter="30d: check in, ask for a referral"
    )
    return count


FOLLOWUP_NOTES = [
    "Send the pricing",
    "Call back about the renewal",
    "Check in after the demo",
    "Send the contract",
    "Ask for a referral",
    "Book the quarterly review",
    "Chase the signed order",
    "Follow up on the trial",
    "Share the onboarding checklist",
    "Confirm the budget with the CFO",
]
DEAL_FOLLOWUP_NOTES = [
    "Chase the proposal",
    "Send the revised quote",
    "Get the contract signed",
    "Agree on a start date",
]


def _followups(session: Session, rng: random.Random, now: datetime) -> int:
    """Follow-ups that make the lists worth looking at: overdue, today, upcoming, recurring, done
    ones, some on companies and open deals, and keep-in-touch cadences on a few contacts."""
    import uuid
    from datetime import time

    from crmcli.domain import followups
    from crmcli.models import Deal
    from crmcli.values.when import at_local

    today = clock.to_local(now).date()
    people = list(session.exec(select(Contact).order_by(Contact.id)))
    firms = list(session.exec(select(Company).order_by(Company.id)))
    open_deals = list(session.exec(select(Deal).where(Deal.status == "open").order_by(Deal.id)))
    picked = rng.sample(people, k=min(len(people), 46))
    count = 0

    def add(days: int, hour: int, **kwargs: object) -> None:
        nonlocal count
        due = at_local(today + timedelta(days=days), time(hour, rng.choice([0, 0, 15, 30])))
        made = followups.add_followup(session, due_at=due, **kwargs)  # type: ignore[arg-type]
        made.uid = f"{uuid.UUID(int=rng.getrandbits(128), version=4)}@crmcli"  # same seed, same calendar
        count += 1

    plan: list[tuple[int, str | None]] = [(-rng.randint(1, 20), None) for _ in range(8)]  # overdue
    plan += [(0, None) for _ in range(6)]  # today
    plan += [(rng.randint(1, 30), None) for _ in range(16)]  # upcoming
    plan += [(rng.randint(-3, 10), every) for every in ("weekly", "2w", "monthly", "quarterly", "weekly", "monthly")]
    for contact, (days, every) in zip(picked, plan, strict=False):
        add(
            days,
            rng.choice([9, 10, 11, 14, 16]),
            note=rng.choice(FOLLOWUP_NOTES),
            owner=contact.owner,
            contact=contact,
            every=every,
            from_done=every == "monthly" and rng.random() < 0.5,
        )
    for contact in picked[len(plan) : len(plan) + 10]:  # done ones: history
        due = now - timedelta(days=rng.randint(3, 60))
        done = followups.add_followup(
            session, due_at=due, note=rng.choice(FOLLOWUP_NOTES), owner=contact.owner, contact=contact
        )
        done.done_at = due + timedelta(hours=rng.randint(1, 48))
        done.uid = f"{uuid.UUID(int=rng.getrandbits(128), version=4)}@crmcli"
        session.add(done)
        count += 1
    for company in rng.sample(firms, k=min(len(firms), 4)):
        note = "Check the account before the budget cycle"
        add(rng.randint(-5, 20), 10, note=note, owner=company.owner, company=company)
    for deal in open_deals[:10]:
        note = rng.choice(DEAL_FOLLOWUP_NOTES)
        add(rng.randint(-6, 14), rng.choice([9, 11, 15]), note=note, owner=deal.owner, deal=deal)
    for contact in picked[-8:]:  # keep in touch: some are already due, by their last activity
        followups.set_cadence(session, contact, rng.choice([14, 30, 30, 60, 90]))
    return count


def _last_year(session: Session, rng: random.Random, now: datetime, made: list[tuple[Company, str, str]]) -> int:
    """Deals closed a year or more ago, so that `crm kpi --period year` has a year to compare
    with and `crm report customers` has customers who have not bought for a long time (at risk,
    lost). Added last, with the stages' on-enter rules held back: old wins make no follow-ups."""
    from crmcli.domain import deals, pipeline

    sales = pipeline.get_pipeline(session)
    all_stages = pipeline.stages(session, sales)
    rules = {s.id: s.on_enter for s in all_stages}
    for s in all_stages:
        s.on_enter = None
    open_stages = [s.name for s in all_stages if s.kind == "open"]
    former = rng.sample(made, k=12)  # customers back then; some never came back
    count = 0
    for _ in range(36):
        company, country, _industry = rng.choice(former)
        created = now - timedelta(days=rng.randint(330, 700), hours=rng.randint(0, 23))
        amount = rng.choice(AMOUNTS) + rng.choice([0, 0, 250])
        deal = deals.add_deal(
            session, title=f"{company.name.split(' ')[0]} – {rng.choice(PRODUCTS)}", company=str(company.id),
            amount=str(amount), currency="USD" if country == "US" else "EUR", owner=company.owner, by=company.owner,
            close_date=(created + timedelta(days=rng.randint(30, 90))).date(), created_at=created,
        )  # fmt: skip
        count += 1
        when = created
        for stage in open_stages[1 : rng.randint(1, len(open_stages))]:
            when += timedelta(days=rng.randint(3, 20), hours=rng.randint(0, 8))
            deals.move_deal(session, deal, stage, by=deal.owner, at=when, check_rules=False)
        when += timedelta(days=rng.randint(3, 25))
        if rng.random() < 0.6:
            deals.win(session, deal, by=deal.owner, at=when)
        else:
            deals.lose(session, deal, reason=rng.choice(LOST_REASONS), by=deal.owner, at=when)
    for s in all_stages:
        s.on_enter = rules[s.id]
        session.add(s)
    session.flush()
    return count


def _targets(session: Session) -> int:
    """Goals, so that `crm kpi` shows attainment and pace."""
    from crmcli.analytics import targets

    goals = [("won_value", "80000", "month", None), ("won_count", "3", "month", None),
             ("win_rate", "50", "quarter", None), ("activities", "150", "month", None),
             ("new_contacts", "12", "month", None), ("speed_to_lead_hours", "96", "month", None),
             ("cycle_days", "45", "quarter", None), ("won_count", "2", "month", "ana")]  # fmt: skip
    for metric, value, period, owner in goals:
        targets.set_target(session, metric=metric, value=value, period=period, owner=owner)
    return len(goals)
