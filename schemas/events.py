"""Input events, one model per event type, and one discriminated union per topic.

Models are frozen and ignore unknown fields; timestamps are RFC 3339 strings with an
offset, normalised to UTC. The ``topic`` a type belongs to is part of the contract: a
known type published to another topic is ``WRONG_TOPIC``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.types import (
    Country,
    DeclarationId,
    District,
    EventId,
    FirmId,
    HsCode,
    NonNegativeNumber,
    Port,
    PositiveInt,
    PositiveNumber,
    ShortText,
    Text,
    Timestamp,
    UnNumber,
)


class ProductCategory(StrEnum):
    BEARING = "bearing"
    SPROCKET = "sprocket"
    GEAR = "gear"
    CASTING = "casting"
    FORGING = "forging"
    LITHIUM_BATTERY = "lithium_battery"
    AQUATIC = "aquatic"
    TOY = "toy"
    PET_SUPPLY = "pet_supply"
    PHONE_CASE = "phone_case"
    OTHER = "other"


class DocType(StrEnum):
    CERT_OF_ORIGIN = "CERT_OF_ORIGIN"
    HEALTH_CERT = "HEALTH_CERT"
    DG_PACKAGING_CERT = "DG_PACKAGING_CERT"
    COMMERCIAL_INVOICE = "COMMERCIAL_INVOICE"
    PACKING_LIST = "PACKING_LIST"


TransportMode = Literal["SEA", "RAIL", "AIR", "ROAD", "RAIL_SEA"]
InspectionReason = Literal["RANDOM", "RISK", "DANGEROUS_GOODS", "DOCUMENTS"]
ReleaseType = Literal["NORMAL", "GREEN_CHANNEL", "AFTER_INSPECTION"]
ReturnChannel = Literal["ECOMMERCE_RETAIL", "GENERAL"]
Standard = Literal["ISO9001", "ISO14001"]
Program = Literal["GREEN_CHANNEL_MECH_PARTS"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Line(_Model):
    line_no: PositiveInt
    hs_code: HsCode
    product_category: ProductCategory
    description: Text
    quantity: PositiveNumber
    unit: ShortText
    value_usd: NonNegativeNumber
    origin_country: Country
    packaging_code: ShortText | None = None
    un_number: UnNumber | None = None


class Document(_Model):
    doc_type: DocType
    number: ShortText
    country: Country | None = None


Lines = Annotated[tuple[Line, ...], Field(min_length=1, max_length=999)]
Documents = Annotated[tuple[Document, ...], Field(max_length=50)]


class Event(_Model):
    """Fields common to every input event."""

    topic: ClassVar[str]
    event_id: EventId
    occurred_at: Timestamp
    source: ShortText
    schema_version: Literal[1]

    @property
    def key(self) -> str:
        """The id this event is keyed by on its topic."""
        raise NotImplementedError


class LifecycleEvent(Event):
    declaration_id: DeclarationId

    @property
    def key(self) -> str:
        return self.declaration_id


class DeclarationFiled(LifecycleEvent):
    topic: ClassVar[str] = "declarations"
    event_type: Literal["DeclarationFiled"]
    firm_id: FirmId
    buyer_id: ShortText
    buyer_reference: ShortText | None = None
    port: Port
    port_area: ShortText | None = None
    customs_district: District
    transport_mode: TransportMode
    inland_station: ShortText | None = None
    scheduled_departure: Timestamp | None = None
    lines: Lines
    documents: Documents = ()


class DeclarationAmended(LifecycleEvent):
    topic: ClassVar[str] = "declarations"
    event_type: Literal["DeclarationAmended"]
    lines: Lines
    documents: Documents = ()


class DeclarationWithdrawn(LifecycleEvent):
    topic: ClassVar[str] = "declarations"
    event_type: Literal["DeclarationWithdrawn"]
    reason: Text


class InspectionOrdered(LifecycleEvent):
    topic: ClassVar[str] = "inspections"
    event_type: Literal["InspectionOrdered"]
    inspection_id: ShortText
    reason: InspectionReason


class InspectionScheduled(LifecycleEvent):
    topic: ClassVar[str] = "inspections"
    event_type: Literal["InspectionScheduled"]
    inspection_id: ShortText
    appointment_at: Timestamp
    location: Text


class InspectionCompleted(LifecycleEvent):
    topic: ClassVar[str] = "inspections"
    event_type: Literal["InspectionCompleted"]
    inspection_id: ShortText
    result: Literal["PASSED", "FAILED"]
    findings: Text | None = None


class GoodsReleased(LifecycleEvent):
    topic: ClassVar[str] = "releases"
    event_type: Literal["GoodsReleased"]
    release_type: ReleaseType


class GoodsDeparted(LifecycleEvent):
    topic: ClassVar[str] = "releases"
    event_type: Literal["GoodsDeparted"]
    vessel: ShortText | None = None


class BondedZoneEntered(LifecycleEvent):
    topic: ClassVar[str] = "releases"
    event_type: Literal["BondedZoneEntered"]
    zone: Text


class ReturnDeclared(Event):
    topic: ClassVar[str] = "returns"
    event_type: Literal["ReturnDeclared"]
    return_id: ShortText
    original_declaration_id: DeclarationId
    firm_id: FirmId
    original_district: District
    return_district: District
    reason: Text
    channel: ReturnChannel

    @property
    def key(self) -> str:
        return self.original_declaration_id


class FirmEvent(Event):
    topic: ClassVar[str] = "firms"
    firm_id: FirmId

    @property
    def key(self) -> str:
        return self.firm_id


class _ProgramChange(FirmEvent):
    program: Program
    name: Text | None = None


class FirmEnrolled(_ProgramChange):
    event_type: Literal["FirmEnrolled"]


class FirmWithdrawn(_ProgramChange):
    event_type: Literal["FirmWithdrawn"]


class CertificateIssued(FirmEvent):
    event_type: Literal["CertificateIssued"]
    certificate_id: ShortText
    standard: Standard
    valid_from: Timestamp
    valid_until: Timestamp


class CertificateRevoked(FirmEvent):
    event_type: Literal["CertificateRevoked"]
    certificate_id: ShortText


DeclarationsEvent = Annotated[
    DeclarationFiled | DeclarationAmended | DeclarationWithdrawn,
    Field(discriminator="event_type"),
]
InspectionsEvent = Annotated[
    InspectionOrdered | InspectionScheduled | InspectionCompleted,
    Field(discriminator="event_type"),
]
ReleasesEvent = Annotated[
    GoodsReleased | GoodsDeparted | BondedZoneEntered, Field(discriminator="event_type")
]
ReturnsEvent = ReturnDeclared
FirmsEvent = Annotated[
    FirmEnrolled | FirmWithdrawn | CertificateIssued | CertificateRevoked,
    Field(discriminator="event_type"),
]

TOPIC_UNIONS: dict[str, Any] = {
    "declarations": DeclarationsEvent,
    "inspections": InspectionsEvent,
    "releases": ReleasesEvent,
    "returns": ReturnsEvent,
    "firms": FirmsEvent,
}

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        DeclarationFiled, DeclarationAmended, DeclarationWithdrawn,
        InspectionOrdered, InspectionScheduled, InspectionCompleted,
        GoodsReleased, GoodsDeparted, BondedZoneEntered,
        ReturnDeclared,
        FirmEnrolled, FirmWithdrawn, CertificateIssued, CertificateRevoked,
    )
}


def parse_event(document: dict[str, object]) -> Event:
    """An event from its JSON form (as stored or forwarded by the pipeline)."""
    return EVENT_TYPES[str(document["event_type"])].model_validate(document)
