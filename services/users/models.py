"""Accounts: users, their roles and skills, and failed logins for throttling."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    email_key: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(100))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    suspended_reason: Mapped[str | None] = mapped_column(sa.Text)
    title: Mapped[str | None] = mapped_column(sa.String(200))
    bio: Mapped[str | None] = mapped_column(sa.Text)
    hourly_rate: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    role_rows: Mapped[list["UserRole"]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    skill_rows: Mapped[list["UserSkill"]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                         order_by="UserSkill.position")

    @property
    def roles(self) -> list[str]:
        return sorted(row.role for row in self.role_rows)

    @property
    def skills(self) -> list[str]:
        return [row.skill for row in self.skill_rows]

    @property
    def profile(self) -> dict:
        return {"title": self.title, "bio": self.bio, "hourly_rate": self.hourly_rate, "skills": self.skills}

    def grant(self, role: str) -> None:
        if role not in self.roles:
            self.role_rows.append(UserRole(role=role))

    def set_skills(self, skills: list[str]) -> None:
        unique: dict[str, str] = {}
        for skill in skills:
            unique.setdefault(skill.strip().lower(), skill.strip())
        self.skill_rows = [UserSkill(skill=skill, skill_key=key, position=i) for i, (key, skill) in enumerate(unique.items())]


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(20), primary_key=True, index=True)


class UserSkill(Base):
    __tablename__ = "user_skills"
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    skill_key: Mapped[str] = mapped_column(sa.String(50), primary_key=True, index=True)
    skill: Mapped[str] = mapped_column(sa.String(50))
    position: Mapped[int] = mapped_column(default=0)


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)
    email_key: Mapped[str] = mapped_column(sa.String(320), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
