"""Pipelines and their stages: the sales process as data (probabilities, rot days, rules).

A stage's kind says what reaching it means: open, won or lost. Won and Lost are kinds, so a
team may call its stages "Signed" or "Churned" and the KPIs still know what happened.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crmcli.domain.fields import field_defs
from crmcli.domain.lookup import as_id, pick_one
from crmcli.errors import Conflict, Hint, Invalid, NotFound
from crmcli.models import Deal, Pipeline, Stage
from crmcli.values import clock
from crmcli.values.normalize import clean_text, field_key, name_key, normalize_name

KINDS = ("open", "won", "lost")
DEFAULT_STAGES = [("Lead", 10, "open"), ("Qualified", 25, "open"), ("Proposal", 50, "open"),
                  ("Negotiation", 75, "open"), ("Won", 100, "won"), ("Lost", 0, "lost")]  # fmt: skip
# Fields a stage may require of a deal before it enters; custom fields of deals count too.
REQUIRABLE = ("amount", "close_date", "contact", "company", "owner", "source", "notes")
_RULE = re.compile(r"^\s*(\d+)\s*([hdw])\s*:\s*(.+?)\s*$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


# ---------------------------------------------------------------- pipelines


def get_pipeline(session: Session, ref: str | None = None) -> Pipeline:
    """The pipeline REF names (id or name); the first pipeline when REF is None."""
    if ref is None or not ref.strip():
        pipeline = session.exec(select(Pipeline).order_by(col(Pipeline.position), col(Pipeline.id))).first()
        if pipeline is None:
            raise NotFound("there is no pipeline: create one with 'crm pipeline add NAME'")
        return pipeline
    ref_id = as_id(ref)
    if ref_id is not None:
        found = session.get(Pipeline, ref_id)
        if found is None:
            raise NotFound(f"no pipeline with id {ref_id}")
        return found
    matches = [p for p in session.exec(select(Pipeline)) if name_key(p.name) == name_key(ref)]
    picked: Pipeline = pick_one("pipeline", ref, matches, lambda p: f"#{p.id} {p.name}")
    return picked


def list_pipelines(session: Session) -> list[dict[str, Any]]:
    counts = dict(
        session.exec(
            select(Deal.pipeline_id, func.count()).where(Deal.status == "open").group_by(col(Deal.pipeline_id))
        ).all()
    )
    rows = []
    for p in session.exec(select(Pipeline).order_by(col(Pipeline.position), col(Pipeline.id))):
        assert p.id is not None
        names = [s.name for s in stages(session, p)]
        rows.append({"id": p.id, "name": p.name, "stages": names, "open_deals": counts.get(p.id, 0)})
    return rows


def add_pipeline(session: Session, *, name: str, copy_from: str | None = None) -> Pipeline:
    """A new pipeline with the stages (and rules) of COPY_FROM, or the default stages."""
    clean = normalize_name(name, "pipeline name")
    if any(name_key(p.name) == name_key(clean) for p in session.exec(select(Pipeline))):
        raise Conflict(f"a pipeline called '{clean}' exists already")
    position = (session.exec(select(func.max(Pipeline.position))).one() or 0) + 1
    pipeline = Pipeline(name=clean, position=position, created_at=clock.now())
    session.add(pipeline)
    session.flush()
    assert pipeline.id is not None
    if copy_from:
        for s in stages(session, get_pipeline(session, copy_from)):
            session.add(
                Stage(pipeline_id=pipeline.id, name=s.name, position=s.position, probability=s.probability,
                      kind=s.kind, rot_days=s.rot_days, required=list(s.required), on_enter=s.on_enter)
            )  # fmt: skip
    else:
        for i, (stage_name, probability, kind) in enumerate(DEFAULT_STAGES):
            session.add(
                Stage(pipeline_id=pipeline.id, name=stage_name, position=i, probability=probability, kind=kind,
                      rot_days=30 if kind == "open" else None, required=[])
            )  # fmt: skip
    session.flush()
    return pipeline


# ---------------------------------------------------------------- stages


def stages(session: Session, pipeline: Pipeline) -> list[Stage]:
    return list(session.exec(select(Stage).where(Stage.pipeline_id == pipeline.id).order_by(col(Stage.position))))


def resolve_stage(session: Session, pipeline: Pipeline, ref: str) -> Stage:
    ref_id = as_id(ref)
    for s in stages(session, pipeline):
        if (ref_id is not None and s.id == ref_id) or name_key(s.name) == name_key(ref):
            return s
    names = ", ".join(s.name for s in stages(session, pipeline))
    raise NotFound(f"pipeline {pipeline.name} has no stage '{ref}' (stages: {names})")


def stage_of_kind(session: Session, pipeline: Pipeline, kind: str) -> Stage:
    for s in stages(session, pipeline):
        if s.kind == kind:
            return s
    raise NotFound(f"pipeline {pipeline.name} has no {kind} stage")


def stage_record(stage: Stage, deals: int = 0) -> dict[str, Any]:
    return {
        "id": stage.id,
        "name": stage.name,
        "position": stage.position + 1,
        "probability": stage.probability,
        "kind": stage.kind,
        "rot_days": stage.rot_days,
        "required": list(stage.required),
        "on_enter": stage.on_enter,
        "deals": deals,
    }


def stage_table(session: Session, pipeline: Pipeline) -> list[dict[str, Any]]:
    counts = dict(
        session.exec(
            select(Deal.stage_id, func.count()).where(Deal.pipeline_id == pipeline.id).group_by(col(Deal.stage_id))
        ).all()
    )
    rows = []
    for s in stages(session, pipeline):
        assert s.id is not None
        rows.append(stage_record(s, counts.get(s.id, 0)))
    return rows


def _probability(value: int) -> int:
    if not 0 <= value <= 100:
        raise Invalid(f"probability must be between 0 and 100, not {value}")
    return value


def _rot_days(value: int | None) -> int | None:
    """None or 0: deals never rot here."""
    if value is not None and value < 0:
        raise Invalid("rot days must not be negative (0 switches rotting off)")
    return value or None


def parse_rule(text: str) -> tuple[timedelta, str]:
    """'3d: chase the proposal' → (3 days, 'chase the proposal')."""
    m = _RULE.match(text or "")
    if not m:
        raise Invalid(f"invalid on-enter rule '{text}': write it as DELAY: NOTE, e.g. '3d: chase the proposal'")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))}), clean_text(m.group(3))


def _renumber(session: Session, ordered: list[Stage]) -> None:
    for i, s in enumerate(ordered):
        if s.position != i:
            s.position = i
            session.add(s)
    session.flush()


def add_stage(
    session: Session,
    pipeline: Pipeline,
    *,
    name: str,
    probability: int,
    rot_days: int | None = None,
    after: str | None = None,
    kind: str = "open",
) -> Stage:
    """A new stage, placed after AFTER (default: after the last open stage)."""
    clean = normalize_name(name, "stage name")
    if kind not in KINDS:
        raise Invalid(f"unknown stage kind '{kind}': use open, won or lost")
    current = stages(session, pipeline)
    if any(name_key(s.name) == name_key(clean) for s in current):
        raise Conflict(f"pipeline {pipeline.name} has a stage '{clean}' already")
    if after:
        index = current.index(resolve_stage(session, pipeline, after)) + 1
    else:
        open_positions = [i for i, s in enumerate(current) if s.kind == "open"]
        index = (open_positions[-1] + 1) if open_positions else 0
    assert pipeline.id is not None
    stage = Stage(
        pipeline_id=pipeline.id,
        name=clean,
        position=len(current),
        probability=_probability(probability),
        kind=kind,
        rot_days=_rot_days(rot_days),
        required=[],
    )
    session.add(stage)
    session.flush()
    _renumber(session, [*current[:index], stage, *current[index:]])
    return stage


def edit_stage(
    session: Session,
    stage: Stage,
    *,
    probability: int | None = None,
    rot_days: int | None = None,
    require: list[str] | None = None,
    on_enter: str | None = None,
) -> Stage:
    """Change what is given. rot_days 0 switches rotting off; require [] and on_enter '' clear the rules."""
    if probability is not None:
        stage.probability = _probability(probability)
    if rot_days is not None:
        stage.rot_days = _rot_days(rot_days)
    if require is not None:
        custom = set(field_defs(session, "deals"))
        wanted = list(dict.fromkeys(field_key(r) for r in require))
        unknown = [r for r in wanted if r not in REQUIRABLE and r not in custom]
        if unknown:
            raise Invalid(f"cannot require {', '.join(unknown)}: use {', '.join(REQUIRABLE)} or a declared deals field")
        stage.required = wanted
    if on_enter is not None:
        if clean_text(on_enter):
            delay, note = parse_rule(on_enter)
            stage.on_enter = f"{_format_delay(delay)}: {note}"
        else:
            stage.on_enter = None
    session.add(stage)
    session.flush()
    return stage


def _format_delay(delay: timedelta) -> str:
    hours = int(delay.total_seconds() // 3600)
    if hours % (24 * 7) == 0:
        return f"{hours // (24 * 7)}w"
    if hours % 24 == 0:
        return f"{hours // 24}d"
    return f"{hours}h"


def rename_stage(session: Session, stage: Stage, new_name: str) -> Stage:
    clean = normalize_name(new_name, "stage name")
    pipeline = session.get(Pipeline, stage.pipeline_id)
    assert pipeline is not None
    if any(name_key(s.name) == name_key(clean) and s.id != stage.id for s in stages(session, pipeline)):
        raise Conflict(f"pipeline {pipeline.name} has a stage '{clean}' already")
    stage.name = clean
    session.add(stage)
    session.flush()
    return stage


def move_stage(session: Session, stage: Stage, *, after: str) -> Stage:
    """Put STAGE right after AFTER ('start' puts it first)."""
    pipeline = session.get(Pipeline, stage.pipeline_id)
    assert pipeline is not None
    rest = [s for s in stages(session, pipeline) if s.id != stage.id]
    if name_key(after) == "start":
        index = 0
    else:
        anchor = resolve_stage(session, pipeline, after)
        if anchor.id == stage.id:
            raise Invalid("a stage cannot move after itself")
        index = rest.index(anchor) + 1
    _renumber(session, [*rest[:index], stage, *rest[index:]])
    return stage


def check_removable(session: Session, stage: Stage) -> None:
    """Conflict when STAGE is the only won (lost) stage of its pipeline: a deal could not close."""
    pipeline = session.get(Pipeline, stage.pipeline_id)
    assert pipeline is not None
    if stage.kind in ("won", "lost") and sum(1 for s in stages(session, pipeline) if s.kind == stage.kind) == 1:
        raise Conflict(f"{stage.name} is the only {stage.kind} stage of {pipeline.name}; add another first")


def remove_stage(session: Session, stage: Stage) -> None:
    """Remove STAGE, where no deal may sit: Conflict otherwise (crmcli.domain.deals.remove_stage
    moves them first). The stage history keeps the removed stage's name."""
    check_removable(session, stage)
    pipeline = session.get(Pipeline, stage.pipeline_id)
    assert pipeline is not None
    sitting = session.exec(select(func.count()).select_from(Deal).where(Deal.stage_id == stage.id)).one()
    if sitting:
        raise Conflict(
            f"{sitting} deal{'s' if sitting != 1 else ''} sit in {stage.name}",
            hint=Hint("say where they go with {move_deals_to} STAGE", form="{message}: {hint}"),
        )
    current = stages(session, pipeline)
    session.delete(stage)
    session.flush()
    _renumber(session, [s for s in current if s.id != stage.id])
