"""Small builders of valid events for tests: a filing, a release, a certificate ...

Each returns the JSON document (as a producer would publish it); ``model`` parses one
into its event class.
"""

from __future__ import annotations

import itertools
from typing import Any

from schemas.events import Event, parse_event

FIRM = "91330206MA2A777777"
OTHER_FIRM = "91330206MA2B777777"
DECL = "310020260000000101"
_ids = itertools.count(1)


def _common(event_type: str, at: str, event_id: str | None) -> dict[str, Any]:
    return {
        "event_id": event_id or f"t-{next(_ids):05d}",
        "event_type": event_type,
        "occurred_at": at,
        "source": "erp:test",
        "schema_version": 1,
    }


def line(**changes: Any) -> dict[str, Any]:
    base = {
        "line_no": 1, "hs_code": "8482100000", "product_category": "bearing",
        "description": "deep groove ball bearing", "quantity": 100, "unit": "PCS",
        "value_usd": 1000.0, "origin_country": "CN", "packaging_code": "CT",
    }
    return {**base, **changes}


def doc(doc_type: str = "COMMERCIAL_INVOICE", **changes: Any) -> dict[str, Any]:
    return {"doc_type": doc_type, "number": f"{doc_type[:3]}-1", **changes}


def filed(
    at: str = "2026-05-09T09:00:00+08:00", declaration_id: str = DECL, firm_id: str = FIRM,
    lines: list[dict[str, Any]] | None = None, documents: list[dict[str, Any]] | None = None,
    event_id: str | None = None, **changes: Any,
) -> dict[str, Any]:
    return {
        **_common("DeclarationFiled", at, event_id),
        "declaration_id": declaration_id, "firm_id": firm_id, "buyer_id": "buyer-001",
        "buyer_reference": "PO-1", "port": "CNNGB", "port_area": "BEILUN",
        "customs_district": "3100", "transport_mode": "SEA",
        "lines": lines if lines is not None else [line()],
        "documents": documents if documents is not None else [doc()],
        **changes,
    }


def amended(at: str, lines: list[dict[str, Any]], documents: list[dict[str, Any]] | None = None,
            declaration_id: str = DECL, event_id: str | None = None) -> dict[str, Any]:
    return {
        **_common("DeclarationAmended", at, event_id), "declaration_id": declaration_id,
        "lines": lines, "documents": documents or [doc()],
    }


def lifecycle(event_type: str, at: str, declaration_id: str = DECL,
              event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    defaults: dict[str, dict[str, Any]] = {
        "DeclarationWithdrawn": {"reason": "cancelled"},
        "InspectionOrdered": {"inspection_id": "I-1", "reason": "RISK"},
        "InspectionScheduled": {"inspection_id": "I-1", "appointment_at": at, "location": "yard"},
        "InspectionCompleted": {"inspection_id": "I-1", "result": "PASSED"},
        "GoodsReleased": {"release_type": "NORMAL"},
        "GoodsDeparted": {},
        "BondedZoneEntered": {"zone": "Ordos"},
    }
    return {
        **_common(event_type, at, event_id), "declaration_id": declaration_id,
        **defaults[event_type], **fields,
    }


def enrolled(at: str = "2026-03-05T09:00:00+08:00", firm_id: str = FIRM,
             withdrawn: bool = False, event_id: str | None = None) -> dict[str, Any]:
    kind = "FirmWithdrawn" if withdrawn else "FirmEnrolled"
    return {**_common(kind, at, event_id), "firm_id": firm_id,
            "program": "GREEN_CHANNEL_MECH_PARTS"}


def certificate(standard: str, valid_from: str = "2025-03-30T09:00:00+08:00",
                valid_until: str = "2027-06-08T09:00:00+08:00", firm_id: str = FIRM,
                certificate_id: str | None = None, at: str = "2026-03-05T09:00:00+08:00",
                ) -> dict[str, Any]:
    return {
        **_common("CertificateIssued", at, None), "firm_id": firm_id,
        "certificate_id": certificate_id or f"{standard}-7777", "standard": standard,
        "valid_from": valid_from, "valid_until": valid_until,
    }


def revoked(certificate_id: str, at: str, firm_id: str = FIRM) -> dict[str, Any]:
    return {**_common("CertificateRevoked", at, None), "firm_id": firm_id,
            "certificate_id": certificate_id}


def returned(at: str, return_id: str = "RET-1", declaration_id: str = DECL,
             firm_id: str = FIRM, original_district: str = "3100",
             return_district: str = "3100", event_id: str | None = None) -> dict[str, Any]:
    return {
        **_common("ReturnDeclared", at, event_id), "return_id": return_id,
        "original_declaration_id": declaration_id, "firm_id": firm_id,
        "original_district": original_district, "return_district": return_district,
        "reason": "damaged", "channel": "ECOMMERCE_RETAIL",
    }


def qualified_firm(firm_id: str = FIRM) -> list[dict[str, Any]]:
    """The facts of a firm that qualifies for the green channel in 2026."""
    return [enrolled(firm_id=firm_id), certificate("ISO9001", firm_id=firm_id),
            certificate("ISO14001", firm_id=firm_id)]


def model(document: dict[str, Any]) -> Event:
    return parse_event(document)
