"""Employer identity: the duplicate review queue and the merge log that makes a merge undoable."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.db import Base
from crm.employers.models import Employer


class CandidateStatus(StrEnum):
    open = "open"
    dismissed = "dismissed"  # "not a duplicate": kept forever so the scan never proposes the pair again
    merged = "merged"


class MergeStatus(StrEnum):
    done = "done"
    undone = "undone"


class DuplicateCandidate(Base):
    """A pair of employers the scan found likely to be one establishment (a < b)."""

    __tablename__ = "duplicate_candidate"
    __table_args__ = (
        UniqueConstraint("employer_a_id", "employer_b_id", name="uq_duplicate_candidate_pair"),
        CheckConstraint("employer_a_id < employer_b_id", name="pair_ordered"),
        CheckConstraint("status IN ('open','dismissed','merged')", name="status_known"),
        Index("ix_duplicate_candidate_status_score", "status", "score"),
    )

    employer_a_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="CASCADE"))
    employer_b_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="CASCADE"), index=True)
    # The region both employers are in; None when they are in different (or no) regions.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="SET NULL"), index=True,
                                                  default=None)
    score: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16))
    explanation: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=CandidateStatus.open.value)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"),
                                                      default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    decision_note: Mapped[str | None] = mapped_column(Text, default=None)

    employer_a: Mapped[Employer] = relationship(foreign_keys=[employer_a_id], lazy="joined")
    employer_b: Mapped[Employer] = relationship(foreign_keys=[employer_b_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(lazy="joined")


class EmployerMerge(Base):
    """One merge of ``loser`` into ``survivor``; its changes are logged row by row for undo."""

    __tablename__ = "employer_merge"
    __table_args__ = (CheckConstraint("status IN ('done','undone')", name="status_known"),)

    loser_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="RESTRICT"), index=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="RESTRICT"), index=True)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("duplicate_candidate.id", ondelete="SET NULL"),
                                                     default=None)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"),
                                                     default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(16), default=MergeStatus.done.value)
    # Per table: rows moved, and rows left on the tombstone because the survivor already had one.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"),
                                                     default=None)
    undo_reason: Mapped[str | None] = mapped_column(Text, default=None)

    loser: Mapped[Employer] = relationship(foreign_keys=[loser_id], lazy="joined")
    survivor: Mapped[Employer] = relationship(foreign_keys=[survivor_id], lazy="joined")
    merged_by: Mapped[User | None] = relationship(foreign_keys=[merged_by_id], lazy="joined")
    undone_by: Mapped[User | None] = relationship(foreign_keys=[undone_by_id], lazy="joined")


class EmployerMergeChange(Base):
    """One change a merge made: ``move`` (a reference column re-pointed on ``row_keys``),
    ``update`` (columns of one row, ``before`` → ``after``), ``insert`` (a new row) or ``delete`` (a row
    removed, whole in ``before``)."""

    __tablename__ = "employer_merge_change"
    __table_args__ = (
        CheckConstraint("action IN ('move','update','insert','delete')", name="action_known"),
        Index("ix_employer_merge_change_merge_seq", "merge_id", "seq"),
    )

    merge_id: Mapped[int] = mapped_column(ForeignKey("employer_merge.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()
    table_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))
    column_name: Mapped[str | None] = mapped_column(String(64), default=None)
    # Primary keys of the rows, each as {column: value}.
    row_keys: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
