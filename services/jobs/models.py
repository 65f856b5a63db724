"""Jobs, their skills, and the proposals freelancers send (the suspended accounts are the kit's)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.jobs import fulltext
from services.jobs.states import HIRING, LIVE
from shared.db import UTCDateTime, utcnow


def _status_in(states: tuple[str, ...]) -> sa.TextClause:
    return sa.text(f"status IN ({', '.join(repr(state) for state in states)})")


LIVE_SQL = _status_in(LIVE)
HIRING_SQL = _status_in(HIRING)


class Base(DeclarativeBase):
    pass


# The full-text column, index and table are made per database by the migration (fulltext.py).
Base.metadata.info["unmodelled"] = fulltext.UNMODELLED


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(36))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    budget_type: Mapped[str] = mapped_column(sa.String(10))
    budget_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    hourly_rate_max: Mapped[int | None] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    proposals_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    skill_rows: Mapped[list["JobSkill"]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                        order_by="JobSkill.position")

    __table_args__ = (
        sa.Index("ix_jobs_status_created", "status", "created_at", "id"),
        sa.Index("ix_jobs_client_created", "client_id", "created_at"),
    )

    @property
    def skills(self) -> list[str]:
        return [row.skill for row in self.skill_rows]

    def set_skills(self, skills: list[str]) -> None:
        unique: dict[str, str] = {}
        for skill in skills:
            unique.setdefault(skill.strip().lower(), skill.strip())
        self.skill_rows = [JobSkill(skill=skill, skill_key=key, position=i)
                           for i, (key, skill) in enumerate(unique.items())]


class JobSkill(Base):
    __tablename__ = "job_skills"
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    skill_key: Mapped[str] = mapped_column(sa.String(50), primary_key=True, index=True)
    skill: Mapped[str] = mapped_column(sa.String(50))
    position: Mapped[int] = mapped_column(default=0)


class Proposal(Base):
    __tablename__ = "proposals"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    freelancer_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    cover_letter: Mapped[str] = mapped_column(sa.Text)
    amount: Mapped[int | None] = mapped_column(sa.BigInteger)  # fixed-price jobs
    rate: Mapped[int | None] = mapped_column(sa.BigInteger)  # hourly jobs: cents an hour
    estimated_days: Mapped[int | None]
    status: Mapped[str] = mapped_column(sa.String(20), default="submitted")
    contract_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.Index("ix_proposals_job_created", "job_id", "created_at"),
        # The database keeps the rules too: one live proposal per freelancer and job,
        # and at most one proposal of a job on its way to (or at) being hired.
        sa.Index("uq_proposals_live", "job_id", "freelancer_id", unique=True,
                 postgresql_where=LIVE_SQL, sqlite_where=LIVE_SQL),
        sa.Index("uq_proposals_hiring", "job_id", unique=True, postgresql_where=HIRING_SQL, sqlite_where=HIRING_SQL),
    )

