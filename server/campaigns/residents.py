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


def record_consent(
    session: AsyncSession,
    resident: Resident,
    consent: ConsentData,
    method: ConsentMethod,
    recorded_by: uuid.UUID | None,
    *,
    new: bool,
) -> int:
    """Add a ledger line for each kind that is new or changed, and mirror the latest on the
    resident; returns how many lines were added."""
    current = {
        ConsentKind.STORE_DETAILS: resident.store_details,
        ConsentKind.CONTACT_AGAIN: resident.contact_again,
        ConsentKind.HEAR_BACK: resident.hear_back,
    }
    if (
        not new
        and resident.consent_recorded_at
        and consent.recorded_at < resident.consent_recorded_at
    ):
        return 0  # an older statement than the one on record changes nothing
    lines = [
        Consent(
            organisation_id=resident.organisation_id,
            resident_id=resident.id,
            kind=kind,
            granted=granted,
            method=method,
            recorded_at=consent.recorded_at,
            recorded_by_id=recorded_by,
        )
        for kind, granted in _wanted(consent).items()
        if new or current[kind] != granted
    ]
    session.add_all(lines)
    if lines:
        resident.store_details = consent.store_details
        resident.contact_again = consent.contact_again
        resident.hear_back = consent.hear_back
        resident.consent_recorded_at = consent.recorded_at
    return len(lines)


async def met(
    session: AsyncSession,
    actor: Actor,
    data: ResidentData,
    at: str,
    problems: list[Problem],
    method: ConsentMethod = ConsentMethod.DOORSTEP,
) -> Resident | None:
    """The resident a conversation records, created or found by the client's id.

    Without consent to store details nothing identifying is kept: a new resident is not
    created (the details are dropped), and a known one only gets its consent change.
    An id of another organisation is NOT_FOUND.
    """
    try:
        resident_id = uuid.UUID(str(data.id))
    except ValueError:
        raise not_found("resident", f"{at}.id") from None
    resident = await session.get(Resident, resident_id)
    if resident is not None and resident.organisation_id != actor.organisation_id:
        raise not_found("resident", f"{at}.id")
    if resident is None:
        if not data.consent.store_details:
            return None
        resident = Resident(id=resident_id, organisation_id=actor.organisation_id)
        for key, value in details(data, at, problems).items():
            setattr(resident, key, value)
        session.add(resident)
        await session.flush()  # the ledger's lines refer to it
        record_consent(session, resident, data.consent, method, actor.user_id, new=True)
        return resident
    record_consent(session, resident, data.consent, method, actor.user_id, new=False)
    if not resident.store_details or resident.erased_at is not None:
        return resident
    for key, value in details(data, at, problems).items():
        if value is not None:
            setattr(resident, key, value)
    return resident


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
