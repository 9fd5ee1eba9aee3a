"""Deterministic benchmark data: a crmcli SQLite database with N contacts.

    python bench/generate.py --contacts 100000 --seed 1 --out bench/data/crm-100000-s1.db

The schema comes from crmcli's own migrations (storage.open_engine creates it at the
current head); the rows are then bulk-inserted with the sqlite3 module in one transaction,
in the forms crmcli itself writes: naive-UTC timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff',
JSON text for custom fields, case-folded name_key, lower-case emails, E.164 phones, and a
search document (title, body) for every contact, company and activity, composed the way
crmcli composes it, so the FTS5 index is the one a real database of this size would have.

The same seed and N give the same database, whatever the day: all times are relative to a
fixed moment (BASE), not to now.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import time
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path

BASE = datetime(2026, 11, 23, 12, 0, 0)  # naive UTC: "now" for the generated history
# fmt: off
OWNERS = ("ana", "ben", "mei", "tom", "lea")
SOURCES = ("website", "referral", "trade fair", "cold email", "LinkedIn", "webinar", "partner")
INDUSTRIES = ["SaaS", "Retail", "Manufacturing", "Logistics", "Healthcare", "Finance", "Media", "Energy"]
TITLES = ("CEO", "CTO", "COO", "CFO", "Head of Sales", "Head of Marketing", "Procurement Manager",
          "Office Manager", "Founder", "IT Director", "Operations Lead", "Buyer", "Product Manager",
          "Engineer", "Account Manager", "Consultant")
CONTACT_TAGS = ("vip", "newsletter", "decision-maker", "champion", "event-2026", "trial", "churn-risk",
                "partner", "reference", "beta", "webinar-2026", "upsell")
COMPANY_TAGS = ("customer", "customer", "prospect", "partner", "supplier", "key-account")
CONTACT_NOTES = ("Prefers WhatsApp over email", "Decision maker is the CFO", "Met at the trade fair in Berlin",
                 "Birthday in March", "Budget cycle starts in October", "Very happy with support",
                 "Speaks German and English", "Wants a call every quarter", "偏好微信联系", "Ne pas appeler le lundi")
ACTIVITY_TEXTS = {
    "call": ("Intro call, interested in the team plan", "Discussed pricing, wants a quote by Friday",
             "Follow-up call: budget approved for Q1", "Checked in after onboarding, all good",
             "Call about the renewal, asked for a discount", "Left a voicemail", "电话沟通了续约事宜"),
    "email": ("Sent the proposal PDF", "Sent case studies from the same industry", "Answered questions about SSO",
              "Shared the onboarding checklist", "Sent the contract for signature", "Envoyé le devis révisé"),
    "meeting": ("Demo with the whole team", "On-site visit, met the operations lead", "Workshop on the data import",
                "Quarterly business review", "Lunch at the trade fair", "Besprechung über die Rahmenverträge"),
    "note": ("Prefers WhatsApp over email", "Decision maker is the CFO", "Competitor is also pitching",
             "Budget cycle starts in October", "Very happy with support", "Asked about the Müller integration"),
}
ACTIVITY_TYPES = ("call", "call", "email", "email", "email", "meeting", "note")

# Per country: share of contacts, first names, surnames, (mobile, landline) E.164 patterns,
# company (prefixes, nouns, suffixes, tld), private mail domains. Names are (display, ascii).
COUNTRIES: dict[str, dict] = {
    "US": {
        "share": 28,
        "first": ["James", "Olivia", "Ethan", "Ava", "Noah", "Mia", "Liam", "Emily", "Lucas", "Chloe", "Mason", "Zoe",
                  "Benjamin", "Harper", "Elijah", "Abigail", "Logan", "Ella", "Jackson", "Grace", "Aiden", "Lily",
                  "Carter", "Nora", "Wyatt", "Riley", "Owen", "Hazel", "Caleb", "Aria"],
        "last": ["Miller", "Johnson", "Brown", "Davis", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Martin",
                 "Lee", "Clark", "Lewis", "Walker", "Hall", "Allen", "Young", "King", "Wright", "Scott", "Green",
                 "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips"],
        "phones": ("+1415###0###", "+1212555####"),
        "company": (["Blue Harbor", "Pinecrest", "Summit", "Brightline", "Redwood", "Copperleaf", "Lakeside",
                     "Northwind", "Ironwood", "Silver Creek", "Granite", "Evergreen", "Keystone", "Bluebird",
                     "Oakridge", "Highland", "Crescent", "Liberty", "Frontier", "Cascade"],
                    ["Analytics", "Outdoor", "Dental", "Media", "Freight", "Finance", "Coffee", "Traders", "Labs",
                     "Software", "Health", "Energy", "Foods", "Logistics", "Capital", "Robotics"],
                    ["Inc.", "LLC", "Corp.", "Co."], "com"),
        "mail": ("gmail.com", "outlook.com", "yahoo.com"),
    },
    "DE": {
        "share": 20,
        "first": ["Anna", "Jürgen", "Katrin", "Lukas", "Sophie", "Felix", "Lena", "Maximilian", "Hannah", "Tobias",
                  "Marie", "Jörg", "Björn", "Günter", "Ulrike", "Sören", "Käthe", "Jan", "Laura", "Moritz", "Paul",
                  "Emma", "Leon", "Mia", "Finn", "Clara", "Jonas", "Greta", "Niklas", "Frieda"],
        "last": ["Müller", "Weiß", "Schäfer", "Becker", "Köhler", "Schröder", "Wagner", "Groß", "Fischer", "Hoffmann",
                 "Krüger", "Vogel", "Schmidt", "Schneider", "Meyer", "Weber", "Schulz", "Koch", "Bauer", "Richter",
                 "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun", "Hofmann", "Hartmann", "Lange", "Jäger"],
        "phones": ("+49151########", "+4930########"),
        "company": (["Acme", "Nordlicht", "Rheinwerk", "Grünwald", "Isar", "Alpen", "Elbe", "Spree", "Bodensee",
                     "Schwarzwald", "Hanse", "Main", "Donau", "Harz", "Weser", "Mosel", "Eifel", "Taunus"],
                    ["Robotics", "Software", "Logistik", "Energie", "Health", "Bäckerei", "Maschinenbau", "Consulting",
                     "Medien", "Handel", "Bau", "Finanz", "Systeme", "Technik"],
                    ["GmbH", "AG", "KG", "GmbH & Co. KG"], "de"),
        "mail": ("web.de", "gmx.de", "t-online.de"),
    },
    "CN": {
        "share": 20,
        "first": [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("洋", "yang"), ("静", "jing"), ("磊", "lei"),
                  ("敏", "min"), ("丽", "li"), ("杰", "jie"), ("婷", "ting"), ("强", "qiang"), ("悦", "yue"),
                  ("伟明", "weiming"), ("晓东", "xiaodong"), ("建国", "jianguo"), ("秀英", "xiuying"),
                  ("志强", "zhiqiang"), ("海燕", "haiyan"), ("子涵", "zihan"), ("浩然", "haoran"), ("欣怡", "xinyi"),
                  ("俊杰", "junjie"), ("雨桐", "yutong"), ("宇轩", "yuxuan")],
        "last": [("张", "zhang"), ("王", "wang"), ("李", "li"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
                 ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
                 ("胡", "hu"), ("朱", "zhu"), ("高", "gao"), ("林", "lin"), ("何", "he"), ("郭", "guo"),
                 ("马", "ma"), ("罗", "luo")],
        "phones": ("+86138########", "+86139########"),
        "company": ([("深圳", "shenzhen"), ("杭州", "hangzhou"), ("上海", "shanghai"), ("北京", "beijing"),
                     ("广州", "guangzhou"), ("成都", "chengdu"), ("南京", "nanjing"), ("武汉", "wuhan"),
                     ("苏州", "suzhou"), ("西安", "xian")],
                    [("云图科技", "yuntu"), ("绿叶电商", "lvye"), ("远航物流", "yuanhang"),
                     ("华康医疗", "huakang"), ("星辰传媒", "xingchen"), ("东方软件", "dongfang"),
                     ("金桥贸易", "jinqiao"), ("天成能源", "tiancheng"), ("宏达制造", "hongda"),
                     ("博雅咨询", "boya"), ("恒信金融", "hengxin"), ("瑞丰食品", "ruifeng")],
                    ["有限公司", "股份有限公司"], "cn"),
        "mail": ("qq.com", "163.com", "126.com"),
    },
    "FR": {
        "share": 12,
        "first": ["Camille", "Léa", "Hugo", "Chloé", "Théo", "Manon", "Nathan", "Inès", "Louis", "Zoé", "Étienne",
                  "Hélène", "François", "Amélie", "Gaël", "Noémie", "Jérôme", "Céline", "Raphaël", "Anaïs"],
        "last": ["Dubois", "Moreau", "Lefèvre", "Girard", "Rousseau", "Fontaine", "Chevalier", "Lambert", "Bonnet",
                 "Mercier", "Martin", "Bernard", "Durand", "Leroy", "Faure", "André", "Gauthier", "Perrin",
                 "Boucher", "Clément"],
        "phones": ("+3361#######", "+331########"),
        "company": (["Atelier", "Boulangerie", "Énergie", "Lyon", "Provence", "Bretagne", "Loire", "Azur", "Alsace",
                     "Normandie", "Lumière", "Horizon"],
                    ["Data", "Verte", "Conseil", "Services", "Logistique", "Santé", "Médias", "Finance", "Bois"],
                    ["SAS", "SARL", "SA"], "fr"),
        "mail": ("orange.fr", "free.fr", "laposte.net"),
    },
    "ES": {
        "share": 10,
        "first": ["José", "María", "Sofía", "Álvaro", "Lucía", "Hugo", "Martina", "Pablo", "Valentina", "Íñigo",
                  "Jesús", "Begoña", "Andrés", "Núria", "Sergio", "Paula", "Raúl", "Carmen", "Rubén", "Elena"],
        "last": ["García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ruiz", "Díaz", "Álvarez",
                 "Muñoz", "Romero", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Ibáñez", "Castaño"],
        "phones": ("+346########", "+3491#######"),
        "company": (["Viñedos", "Madrid", "Clínica", "Sol", "Iberia", "Costa", "Sierra", "Mar", "Castilla",
                     "Andalucía", "Galicia", "Aragón"],
                    ["del Sol", "Fintech", "Alba", "Tecnología", "Logística", "Energía", "Medios", "Salud"],
                    ["S.L.", "S.A."], "es"),
        "mail": ("gmail.com", "hotmail.es", "telefonica.net"),
    },
    "JP": {
        "share": 10,
        "first": [("健", "ken"), ("花子", "hanako"), ("翔", "sho"), ("美咲", "misaki"), ("大輔", "daisuke"),
                  ("さくら", "sakura"), ("蓮", "ren"), ("陽菜", "hina"), ("湊", "minato"), ("結衣", "yui"),
                  ("大翔", "hiroto"), ("葵", "aoi")],
        "last": [("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"), ("渡辺", "watanabe"),
                 ("伊藤", "ito"), ("山本", "yamamoto"), ("中村", "nakamura"), ("小林", "kobayashi"), ("加藤", "kato")],
        "phones": ("+8190########", "+8180########"),
        "company": ([("桜", "sakura"), ("富士", "fuji"), ("大和", "yamato"), ("東京", "tokyo"), ("京都", "kyoto"),
                     ("北斗", "hokuto"), ("青空", "aozora"), ("日の出", "hinode")],
                    [("電機", "denki"), ("物産", "bussan"), ("商事", "shoji"), ("システム", "systems"),
                     ("製薬", "seiyaku"), ("運輸", "unyu"), ("食品", "shokuhin")],
                    ["株式会社"], "jp"),
        "mail": ("docomo.ne.jp", "yahoo.co.jp", "gmail.com"),
    },
}
ASIAN = ("CN", "JP")
# fmt: on


def _pair(value: str | tuple[str, str]) -> tuple[str, str]:
    """(display, ascii) for a name that may be given as a plain Latin string."""
    if isinstance(value, tuple):
        return value
    folded = unicodedata.normalize("NFKD", value.replace("ß", "ss"))
    return value, "".join(c for c in folded if c.isascii() and c.isalnum()).lower()


def _ts(dt: datetime) -> str:
    """The text SQLAlchemy stores for a DateTime on SQLite."""
    return dt.isoformat(" ", "microseconds")


class Phones:
    """Random numbers of a pattern that phonenumbers accepts as valid, never the same twice."""

    def __init__(self, rng: random.Random) -> None:
        import phonenumbers

        self._pn = phonenumbers
        self._rng = rng
        self._used: set[str] = set()

    def make(self, pattern: str) -> str:
        rng, pn = self._rng, self._pn
        for _ in range(100):
            number = "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)
            if number in self._used:
                continue
            if pn.is_valid_number(pn.parse(number, None)):
                self._used.add(number)
                return number
        raise AssertionError(f"no valid, unused number for {pattern}")


def generate(path: Path, contacts: int, seed: int) -> dict[str, int]:
    from crmcli import storage
    from crmcli.domain.search import compose as _compose  # the exact search-document body crmcli writes
    from crmcli.values.normalize import clean_text, name_key

    rng = random.Random(seed)
    phones = Phones(rng)
    tmp = path.with_name(path.name + ".tmp")
    for stale in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)

    # The schema, at the current head, by crmcli's own migrations.
    storage.open_engine(str(tmp))
    storage.dispose_all()

    def when(max_days: int, after: datetime | None = None) -> datetime:
        if after is not None:
            span = max(1, int((BASE - after).total_seconds()))
            return after + timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(1_000_000))
        return BASE - timedelta(seconds=rng.randrange(max_days * 86400), microseconds=rng.randrange(1_000_000))

    countries = list(COUNTRIES)
    weights = [COUNTRIES[c]["share"] for c in countries]

    # ------------------------------------------------------------------ companies
    n_companies = max(1, contacts // 20)
    company_rows, company_tags, company_info = [], [], []
    docs: list[tuple[str, int, str, str]] = []
    names_seen: set[str] = set()
    for cid in range(1, n_companies + 1):
        country = rng.choices(countries, weights)[0]
        spec = COUNTRIES[country]
        prefixes, nouns, suffixes, tld = spec["company"]
        for attempt in range(30):
            prefix, p_ascii = _pair(rng.choice(prefixes))
            noun, n_ascii = _pair(rng.choice(nouns))
            suffix = rng.choice(suffixes)
            if country in ASIAN:
                name = f"{prefix}{noun}{suffix}"
            else:
                name = f"{prefix} {noun} {suffix}"
            if attempt >= 10:  # the combinations run out: a branch number makes it unique
                branch = rng.randrange(2, 100)
                name = f"{prefix}{noun}{branch}号{suffix}" if country in ASIAN else f"{name} {branch}"
            if name_key(name) not in names_seen:
                break
        names_seen.add(name_key(name))
        domain = f"{p_ascii}-{n_ascii}-{cid}.{tld}"
        phone = phones.make(spec["phones"][1])
        website = f"https://{domain}"
        created = when(1500)
        updated = when(0, after=created)
        custom = {"employees": str(rng.choice([8, 25, 60, 140, 400, 1200, 5000]))}
        notes = rng.choice(CONTACT_NOTES) if rng.random() < 0.1 else None
        tags = sorted(set(rng.sample(COMPANY_TAGS, k=rng.randint(1, 2))))
        owner = rng.choice(OWNERS)
        company_rows.append(
            (
                cid,
                name,
                name_key(name),
                domain,
                phone,
                website,
                owner,
                rng.choice(SOURCES),
                notes,
                None,
                json.dumps(custom),
                _ts(created),
                _ts(updated),
            )
        )
        company_tags.extend((cid, t) for t in tags)
        company_info.append((cid, name, country, domain, owner))
        docs.append(
            (
                "company",
                cid,
                clean_text(name),
                _compose(name, domain, website, phone, " ".join(tags), notes, *(str(v) for v in custom.values())),
            )
        )

    # ------------------------------------------------------------------ contacts
    contact_rows, email_rows, phone_rows, tag_rows, activity_rows = [], [], [], [], []
    used_emails: set[str] = set()
    email_id = phone_id = activity_id = 0
    subjects: list[tuple[int | None, int | None, str, datetime]] = []  # for activities
    for pid in range(1, contacts + 1):
        if rng.random() < 0.9:
            company_id, company_name, country, domain, owner = company_info[rng.randrange(n_companies)]
        else:
            company_id, company_name, domain, owner = None, None, None, rng.choice(OWNERS)
            country = rng.choices(countries, weights)[0]
        spec = COUNTRIES[country]
        first, first_ascii = _pair(rng.choice(spec["first"]))
        last, last_ascii = _pair(rng.choice(spec["last"]))
        if country == "CN":
            name = f"{last}{first}"  # 张伟明: surname first, no space
        elif country == "JP":
            name = f"{last} {first}"
        else:
            name = f"{first} {last}"
        emails = []
        for i in range(rng.choices((1, 2, 3), (70, 25, 5))[0]):
            at = domain if (i == 0 and domain) else rng.choice(spec["mail"])
            local = (
                f"{first_ascii}.{last_ascii}"
                if i == 0
                else rng.choice(
                    (f"{first_ascii}{last_ascii}", f"{first_ascii[0]}{last_ascii}", f"{last_ascii}.{first_ascii}")
                )
            )
            email = f"{local}@{at}"
            n = 1
            while email in used_emails:
                n += 1
                email = f"{local}{n}@{at}"
            used_emails.add(email)
            emails.append(email)
        numbers = [
            phones.make(spec["phones"][0 if i == 0 else rng.randrange(2)])
            for i in range(rng.choices((0, 1, 2, 3), (5, 70, 22, 3))[0])
        ]
        tags = sorted(set(rng.sample(CONTACT_TAGS, k=rng.choices((0, 1, 2, 3), (40, 35, 18, 7))[0])))
        title = rng.choice(TITLES) if rng.random() < 0.85 else None
        notes = rng.choice(CONTACT_NOTES) if rng.random() < 0.15 else None
        custom: dict = {}
        if rng.random() < 0.7:
            custom["industry"] = rng.choice(INDUSTRIES)
        if rng.random() < 0.5:
            custom["newsletter"] = rng.random() < 0.5
        custom = dict(sorted(custom.items()))
        created = when(1000)
        updated = when(0, after=created) if rng.random() < 0.3 else created
        contact_rows.append(
            (
                pid,
                name,
                name_key(name),
                title,
                company_id,
                owner,
                rng.choice(SOURCES),
                notes,
                None,
                json.dumps(custom),
                _ts(created),
                _ts(updated),
            )
        )
        for i, email in enumerate(emails):
            email_id += 1
            email_rows.append((email_id, pid, email, i == 0))
        for i, number in enumerate(numbers):
            phone_id += 1
            phone_rows.append((phone_id, pid, number, i == 0))
        tag_rows.extend((pid, t) for t in tags)
        docs.append(
            (
                "contact",
                pid,
                clean_text(name),
                _compose(
                    name,
                    title,
                    company_name,
                    " ".join(emails),
                    " ".join(numbers),
                    " ".join(tags),
                    notes,
                    *(str(v) for v in custom.values()),
                ),
            )
        )
        for _ in range(rng.choices((0, 1, 2, 3), (35, 35, 20, 10))[0]):
            subjects.append((pid, None, name, created))

    for company_id, company_name, _country, _domain, _owner in company_info:
        if rng.random() < 0.3:
            subjects.append((None, company_id, company_name, BASE - timedelta(days=720)))

    # ------------------------------------------------------------------ activities
    composed: dict[str, str] = {}
    for contact_id, company_id, subject, since in subjects:
        activity_id += 1
        kind = rng.choice(ACTIVITY_TYPES)
        text = rng.choice(ACTIVITY_TEXTS[kind])
        at = when(0, after=since)
        by = rng.choice(OWNERS) if rng.random() < 0.9 else None
        activity_rows.append(
            (
                activity_id,
                contact_id,
                company_id,
                kind,
                text,
                _ts(at),
                by,
                _ts(min(BASE, at + timedelta(minutes=rng.randrange(5, 600)))),
            )
        )
        body = composed.get(text)
        if body is None:
            body = composed[text] = _compose(text)
        docs.append(("activity", activity_id, clean_text(f"{kind} · {subject}"), body))

    # ------------------------------------------------------------------ write
    con = sqlite3.connect(tmp, isolation_level=None)
    con.execute("PRAGMA journal_mode = OFF")  # a failed run leaves only the .tmp file behind
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -200000")
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO field_def (entity, name, type, choices) VALUES (?, ?, ?, ?)",
        [
            ("contacts", "industry", "choice", json.dumps(INDUSTRIES)),
            ("contacts", "newsletter", "bool", "[]"),
            ("companies", "employees", "number", "[]"),
        ],
    )
    # Columns named, so that columns later migrations add (nullable or with defaults) keep working.
    con.executemany(
        "INSERT INTO company (id, name, name_key, domain, phone, website, owner, source, notes, external_id, "
        "custom, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        company_rows,
    )
    con.executemany("INSERT INTO company_tag (company_id, tag) VALUES (?, ?)", company_tags)
    con.executemany(
        "INSERT INTO contact (id, name, name_key, title, company_id, owner, source, notes, external_id, custom, "
        "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        contact_rows,
    )
    con.executemany("INSERT INTO contact_email (id, contact_id, email, is_primary) VALUES (?,?,?,?)", email_rows)
    con.executemany("INSERT INTO contact_phone (id, contact_id, phone, is_primary) VALUES (?,?,?,?)", phone_rows)
    con.executemany("INSERT INTO contact_tag (contact_id, tag) VALUES (?, ?)", tag_rows)
    con.executemany(
        "INSERT INTO activity (id, contact_id, company_id, type, text, at, by, created_at) VALUES (?,?,?,?,?,?,?,?)",
        activity_rows,
    )
    # search_doc rows reach search_fts through crmcli's own insert trigger.
    con.executemany("INSERT INTO search_doc (kind, ref_id, title, body) VALUES (?, ?, ?, ?)", docs)
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode = WAL")  # as crmcli leaves its databases
    con.close()
    os.replace(tmp, path)
    return {
        "companies": len(company_rows),
        "contacts": len(contact_rows),
        "emails": len(email_rows),
        "phones": len(phone_rows),
        "contact_tags": len(tag_rows),
        "activities": len(activity_rows),
        "search_docs": len(docs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000, help="number of contacts (default 100000)")
    parser.add_argument("--out", type=Path, default=None, help="database file (default bench/data/crm-N-sSEED.db)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).parent / "data" / f"crm-{args.contacts}-s{args.seed}.db"
    if out.exists() and not args.force:
        print(f"{out} exists (--force replaces it)", file=sys.stderr)
        return 1
    for old in (out, Path(f"{out}-wal"), Path(f"{out}-shm")):
        old.unlink(missing_ok=True)
    start = time.perf_counter()
    counts = generate(out, args.contacts, args.seed)
    elapsed = time.perf_counter() - start
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    print(f"{out}: {summary} in {elapsed:.1f} s ({out.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
