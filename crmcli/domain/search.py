"""Full-text search over contacts, companies, deals and activities.

Each record keeps one row in ``search_doc`` (title + body), written in the same
transaction as the record. SQLite indexes it with FTS5's trigram tokenizer (substrings
in any script, so CJK names match); PostgreSQL with a generated tsvector and a GIN index,
plus substring matching for scripts without spaces. Bodies also carry an accent-folded
copy of names, so "muller" finds "Müller".

A query is at most QUERY_MAX characters and QUERY_WORDS words, else refused in one line. FTS5
matches a word as the phrase of its trigrams and holds, for each trigram, every place a document
has it: a 10,000-character word against a 120 KB note of repeating text was 10,000 position lists
of 120,000 entries (minutes, gigabytes); 200 characters bound that at a few megabytes.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, insert, text
from sqlmodel import Session, col, select

from crmcli.errors import Invalid
from crmcli.models import SearchDoc
from crmcli.values.documents import compose
from crmcli.values.normalize import clean_text, fold_accents

KINDS = ("contact", "company", "deal", "activity")
QUERY_MAX = 200  # characters: any name, email, phone or phrase people look for fits
QUERY_WORDS = 20  # every word must match: more than 20 narrows nothing further
# Exact names first, then people and companies before activities, then by relevance.
ORDER = (
    " ORDER BY (lower(d.title) = :exact) DESC, (d.kind <> 'activity') DESC, score DESC, d.kind, d.ref_id LIMIT :limit"
)


def upsert(session: Session, kind: str, ref_id: int, title: str, *body: str | None) -> None:
    doc = session.exec(select(SearchDoc).where(SearchDoc.kind == kind, SearchDoc.ref_id == ref_id)).first()
    title = clean_text(title)
    content = compose(*body)
    if doc is None:
        session.add(SearchDoc(kind=kind, ref_id=ref_id, title=title, body=content))
    elif doc.title != title or doc.body != content:
        doc.title, doc.body = title, content
        session.add(doc)


def insert_many(session: Session, docs: list[dict[str, Any]]) -> None:
    """Documents {kind, ref_id, title, body} written in bulk (the importer's batches).

    On SQLite each statement that writes the FTS5 index flushes what it holds in memory as a
    new segment, so an executemany (one statement per row, each firing the trigger) wrote one
    segment per document and spent its time merging them: 4x slower than the same rows in one
    multi-row INSERT, which indexes them in one go (bench/RESULTS.md, section imports)."""
    if not docs:
        return
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        session.execute(insert(SearchDoc.__table__), docs)  # type: ignore[attr-defined]  # SQLModel does not declare __table__
        return
    import sqlite3

    per = 8000 if sqlite3.sqlite_version_info >= (3, 32) else 240  # 4 variables a row; the limit is 32,766 (999)
    for start in range(0, len(docs), per):
        chunk = docs[start : start + per]
        sql = "INSERT INTO search_doc (kind, ref_id, title, body) VALUES " + ", ".join(["(?, ?, ?, ?)"] * len(chunk))
        conn.exec_driver_sql(sql, tuple(v for d in chunk for v in (d["kind"], d["ref_id"], d["title"], d["body"])))


def remove(session: Session, kind: str, ref_ids: list[int]) -> None:
    if ref_ids:
        session.execute(delete(SearchDoc).where(col(SearchDoc.kind) == kind, col(SearchDoc.ref_id).in_(ref_ids)))


def _terms(query: str) -> list[str]:
    """QUERY's words, cleaned; a query longer than the limits is refused (the work is bounded)."""
    cleaned = clean_text(query)
    if len(cleaned) > QUERY_MAX:
        raise Invalid(f"search query too long: {len(cleaned):,} characters, at most {QUERY_MAX}")
    terms = [t for t in cleaned.split(" ") if t]
    if len(terms) > QUERY_WORDS:
        raise Invalid(f"search query too long: {len(terms):,} words, at most {QUERY_WORDS}")
    return terms


def _like(term: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", term.lower()) + "%"


def search(session: Session, query: str, *, kinds: list[str] | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Records matching every word of QUERY, best first: {kind, id, title, match, score}."""
    terms = _terms(query)
    if not terms:
        return []
    dialect = session.get_bind().dialect.name
    rows = (
        _search_sqlite(session, terms, kinds, limit)
        if dialect == "sqlite"
        else _search_generic(session, terms, kinds, limit, dialect)
    )
    return [
        {"kind": kind, "id": ref_id, "title": title, "match": _snippet(title, body, terms), "score": round(score, 4)}
        for kind, ref_id, title, body, score in rows
    ]


def _search_sqlite(session: Session, terms: list[str], kinds: list[str] | None, limit: int) -> list[Any]:
    long_terms = [t for t in terms if len(t) >= 3]
    short_terms = [t for t in terms if len(t) < 3]  # trigrams cannot match these: LIKE filters them
    params: dict[str, Any] = {"limit": limit, "exact": clean_text(" ".join(terms)).lower()}
    where: list[str] = []
    for i, term in enumerate(short_terms):
        params[f"s{i}"] = _like(term)
        # SQLite's LIKE ignores ASCII case by itself (and its lower() folds nothing more): no lower() here
        where.append(f"(d.title LIKE :s{i} ESCAPE '\\' OR d.body LIKE :s{i} ESCAPE '\\')")
    if kinds:
        where.append("d.kind IN (" + ", ".join(f":k{i}" for i in range(len(kinds))) + ")")
        params.update({f"k{i}": k for i, k in enumerate(kinds)})
    if long_terms:
        params["match"] = " ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
        sql = (
            "SELECT d.kind, d.ref_id, d.title, d.body, -bm25(search_fts, 10.0, 1.0) AS score "
            "FROM search_fts JOIN search_doc d ON d.id = search_fts.rowid WHERE search_fts MATCH :match "
        )
    else:
        params["s_title"] = _like(short_terms[0])
        sql = (
            "SELECT d.kind, d.ref_id, d.title, d.body, "
            "CASE WHEN d.title LIKE :s_title ESCAPE '\\' THEN 1.0 ELSE 0.5 END AS score "
            "FROM search_doc d WHERE 1=1 "
        )
    sql += "".join(f" AND {w}" for w in where)
    sql += ORDER
    return list(session.execute(text(sql), params))


def _search_generic(session: Session, terms: list[str], kinds: list[str] | None, limit: int, dialect: str) -> list[Any]:
    params: dict[str, Any] = {"limit": limit, "exact": clean_text(" ".join(terms)).lower()}
    likes = []
    for i, term in enumerate(terms):
        params[f"t{i}"] = _like(term)
        likes.append(f"(lower(d.title) LIKE :t{i} ESCAPE '\\' OR lower(d.body) LIKE :t{i} ESCAPE '\\')")
    all_like = " AND ".join(likes)
    kind_filter = ""
    if kinds:
        kind_filter = " AND d.kind IN (" + ", ".join(f":k{i}" for i in range(len(kinds))) + ")"
        params.update({f"k{i}": k for i, k in enumerate(kinds)})
    words = [w for t in terms for w in re.findall(r"\w+", t)] if dialect == "postgresql" else []
    if words:
        # each word a quoted prefix lexeme: whatever the query holds, a valid tsquery
        params["tsq"] = " & ".join("'" + w.replace("'", "''") + "':*" for w in words)
        sql = (
            "SELECT d.kind, d.ref_id, d.title, d.body, ts_rank(d.tsv, to_tsquery('simple', :tsq)) "
            "+ CASE WHEN lower(d.title) LIKE :t0 ESCAPE '\\' THEN 1 ELSE 0 END AS score FROM search_doc d "
            f"WHERE (d.tsv @@ to_tsquery('simple', :tsq) OR ({all_like})){kind_filter} "
        )
    elif dialect == "postgresql":  # no word at all ('!!', '--'): the substring match alone
        sql = (
            "SELECT d.kind, d.ref_id, d.title, d.body, "
            "CASE WHEN lower(d.title) LIKE :t0 ESCAPE '\\' THEN 1.0 ELSE 0.5 END AS score FROM search_doc d "
            f"WHERE ({all_like}){kind_filter} "
        )
    else:
        sql = (
            f"SELECT d.kind, d.ref_id, d.title, d.body, 0.0 AS score FROM search_doc d WHERE ({all_like}){kind_filter} "
        )
    sql += ORDER
    return list(session.execute(text(sql), params))


def _snippet(title: str, body: str, terms: list[str], width: int = 60) -> str:
    """The part of BODY around the first matching word (the title if that matched)."""
    lowered_title = f"{title} {fold_accents(title)}".lower()
    if all(t.lower() in lowered_title for t in terms):
        return ""
    lowered = body.lower()
    positions = [lowered.find(t.lower()) for t in terms]
    positions = [p for p in positions if p >= 0]
    if not positions:
        return body[:width]
    start = max(0, min(positions) - width // 3)
    piece = body[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(body) else "")
