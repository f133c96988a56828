"""Residents and their consent: stored only with consent to store details, contact
details normalised, every grant or change a line of the consent ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns.columns import RESIDENT_COLUMNS
from server.campaigns.enums import ConsentKind, ConsentMethod
from server.campaigns.models import Consent, Resident
from server.core.errors import Problem, UserError, UserErrorCode, not_found
from server.core.pagination import Page, PageRequest, paginate
from server.core.validation import check_email
from server.security.access import STAFF, Actor

MAX_NAME = 200
MAX_POSTCODE = 10


@dataclass(frozen=True)
class ConsentData:
    store_details: bool
    contact_again: bool
    hear_back: bool
    recorded_at: datetime


@dataclass(frozen=True)
class ResidentData:
    id: str
    consent: ConsentData
    name: str | None = None
    postcode: str | None = None
    email: str | None = None
    phone: str | None = None


def normalise_phone(value: str, field: str) -> str:
    """E.164, reading a number without a country code as a UK one."""
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise UserError.of(UserErrorCode.INVALID, "Enter a valid phone number.", field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_postcode(value: str) -> str:
    return " ".join(value.upper().split())[:MAX_POSTCODE]


def _clean(value: str | None, limit: int) -> str | None:
    text = " ".join((value or "").split())
    return text[:limit] or None


def details(data: ResidentData, at: str, problems: list[Problem]) -> dict[str, str | None]:
    """The resident's details as stored; a bad email or phone is a problem and dropped."""
    email = phone = None
    if data.email and data.email.strip():
        try:
            email = check_email(data.email, f"{at}.email")
        except UserError as error:
            problems.extend(error.problems)
    if data.phone and data.phone.strip():
        try:
            phone = normalise_phone(data.phone, f"{at}.phone")
        except UserError as error:
            problems.extend(error.problems)
    return {
        "name": _clean(data.name, MAX_NAME),
        "postcode": normalise_postcode(data.postcode) if data.postcode else None,
        "email": email,
        "phone": phone,
    }


def _wanted(consent: ConsentData) -> dict[ConsentKind, bool]:
    return {
        ConsentKind.STORE_DETAILS: consent.store_details,
        ConsentKind.CONTACT_AGAIN: consent.contact_again,
        ConsentKind.HEAR_BACK: consent.hear_back,
    }


def _mirror(consent: ConsentData) -> dict[str, Any]:
    """The resident's columns that mirror the latest consent of each kind."""
    return {
        "store_details": consent.store_details,
        "contact_again": consent.contact_again,
        "hear_back": consent.hear_back,
        "consent_recorded_at": consent.recorded_at,
    }


@dataclass(frozen=True)
class Meeting:
    """What meeting a resident changes: the resident's columns to write (every one for a
    new resident, the changed ones for a known one) and the kinds the ledger gets a line
    of; ``linked``: the conversation records the resident (details may be stored)."""

    resident_id: uuid.UUID
    new: bool
    values: dict[str, Any]
    lines: dict[ConsentKind, bool]
    linked: bool


def resident_id(data: ResidentData, at: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(data.id))
    except ValueError:
        raise not_found("resident", f"{at}.id") from None


def meeting(
    organisation_id: uuid.UUID,
    data: ResidentData,
    stored: Any | None,
    at: str,
    problems: list[Problem],
) -> Meeting | None:
    """The resident a conversation records (``stored``: the row with this id, of any
    organisation, or None), found or created by the client's id.

    Without consent to store details nothing identifying is kept: a new resident is not
    created (None: the details are dropped), and a known one only gets its consent change;
    an older statement than the one on record changes no consent. An id of another
    organisation is NOT_FOUND. A bad email or phone is a problem, and not stored.
    """
    found_id = resident_id(data, at)
    if stored is not None and stored.organisation_id != organisation_id:
        raise not_found("resident", f"{at}.id")
    if stored is None:
        if not data.consent.store_details:
            return None
        values = {
            "organisation_id": organisation_id,
            **details(data, at, problems),
            **_mirror(data.consent),
        }
        return Meeting(found_id, True, values, _wanted(data.consent), True)
    on_record = stored.consent_recorded_at
    lines: dict[ConsentKind, bool] = {}
    if on_record is None or data.consent.recorded_at >= on_record:
        current = {
            ConsentKind.STORE_DETAILS: stored.store_details,
            ConsentKind.CONTACT_AGAIN: stored.contact_again,
            ConsentKind.HEAR_BACK: stored.hear_back,
        }
        lines = {k: v for k, v in _wanted(data.consent).items() if current[k] != v}
    wanted: dict[str, Any] = _mirror(data.consent) if lines else {}
    linked = bool(wanted.get("store_details", stored.store_details))
    if linked and stored.erased_at is None:
        wanted |= {k: v for k, v in details(data, at, problems).items() if v is not None}
    values = {k: v for k, v in wanted.items() if getattr(stored, k) != v}
    return Meeting(found_id, False, values, lines, linked)


def ledger_rows(
    organisation_id: uuid.UUID,
    found: Meeting,
    recorded_at: datetime,
    method: ConsentMethod,
    recorded_by: uuid.UUID | None,
) -> list[dict[str, Any]]:
    """The consent ledger's new lines for a meeting, as column values."""
    return [
        {
            "organisation_id": organisation_id,
            "resident_id": found.resident_id,
            "kind": kind,
            "granted": granted,
            "method": method,
            "recorded_at": recorded_at,
            "recorded_by_id": recorded_by,
        }
        for kind, granted in found.lines.items()
    ]


async def met(
    session: AsyncSession,
    actor: Actor,
    data: ResidentData,
    at: str,
    problems: list[Problem],
    method: ConsentMethod = ConsentMethod.DOORSTEP,
) -> Resident | None:
    """``meeting`` applied with the ORM: the resident, created or changed, with its
    ledger lines; None when nothing about the person is kept."""
    stored = await session.get(Resident, resident_id(data, at))
    found = meeting(actor.organisation_id, data, stored, at, problems)
    if found is None:
        return None
    return await apply_meeting(
        session,
        actor.organisation_id,
        found,
        stored,
        data.consent.recorded_at,
        method,
        actor.user_id,
    )


async def apply_meeting(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    found: Meeting,
    stored: Resident | None,
    recorded_at: datetime,
    method: ConsentMethod,
    recorded_by: uuid.UUID | None,
) -> Resident:
    """Write a meeting with the ORM: the resident created or changed, its ledger lines
    added (``recorded_by`` None when the resident stated it themselves)."""
    if stored is None:
        stored = Resident(id=found.resident_id, **found.values)
        session.add(stored)
        await session.flush()  # the ledger's lines refer to it
    else:
        for key, value in found.values.items():
            setattr(stored, key, value)
    rows = ledger_rows(organisation_id, found, recorded_at, method, recorded_by)
    session.add_all(Consent(**row) for row in rows)
    return stored


def _search_terms(search: str) -> list[Any]:
    text = " ".join(search.split()).lower()
    like = f"%{text}%"
    terms: list[Any] = [
        sa.func.lower(col(Resident.name)).like(like),
        sa.func.lower(col(Resident.email)).like(like),
        sa.func.lower(col(Resident.postcode)).like(f"%{normalise_postcode(search).lower()}%"),
    ]
    digits = "".join(c for c in search if c.isdigit())
    if len(digits) >= 4:
        try:
            terms.append(col(Resident.phone) == normalise_phone(search, "search"))
        except UserError:
            terms.append(col(Resident.phone).like(f"%{digits.lstrip('0')}%"))
    return terms


async def list_residents(
    session: AsyncSession, actor: Actor, page: PageRequest, search: str | None = None
) -> Page[sa.Row[Any]]:
    """Residents of the organisation (rows of RESIDENT_COLUMNS), for admins and senior
    organisers only, oldest first; ``search`` matches name, postcode, email or phone, any case."""
    actor.require(*STAFF)
    stmt = sa.select(*RESIDENT_COLUMNS, col(Resident.created_at)).where(
        col(Resident.organisation_id) == actor.organisation_id,
        col(Resident.erased_at).is_(None),
    )
    if search and search.strip():
        stmt = stmt.where(sa.or_(*_search_terms(search)))
    return await paginate(session, stmt, [col(Resident.created_at), col(Resident.id)], page)
