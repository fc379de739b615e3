"""Validation of a declaration's effective content (its latest lines and documents)."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.events import DocType, Document, Line
from stream.core.policy import Policy

CLASSIFICATION_MISMATCH = "CLASSIFICATION_MISMATCH"
ORIGIN_MISMATCH = "ORIGIN_MISMATCH"
PACKAGING_MISSING = "PACKAGING_MISSING"
DG_PACKAGING_CERT_MISSING = "DG_PACKAGING_CERT_MISSING"
HEALTH_CERT_MISSING = "HEALTH_CERT_MISSING"
ORIGIN_CERT_MISSING = "ORIGIN_CERT_MISSING"


def problems_of(
    lines: Sequence[Line], documents: Sequence[Document], policy: Policy
) -> list[str]:
    """The sorted problem codes of this content; empty when it passes."""
    doc_types = {d.doc_type for d in documents}
    origins = {line.origin_country for line in lines}
    problems: set[str] = set()
    for line in lines:
        prefixes = policy.classification.get(line.product_category)
        if prefixes is not None and not line.hs_code.startswith(prefixes):
            problems.add(CLASSIFICATION_MISMATCH)
        if line.packaging_code is None:
            problems.add(PACKAGING_MISSING)
        if line.un_number is not None and DocType.DG_PACKAGING_CERT not in doc_types:
            problems.add(DG_PACKAGING_CERT_MISSING)
        if line.hs_code.startswith(policy.perishable.hs_prefixes):
            if DocType.HEALTH_CERT not in doc_types:
                problems.add(HEALTH_CERT_MISSING)
            if DocType.CERT_OF_ORIGIN not in doc_types:
                problems.add(ORIGIN_CERT_MISSING)
    for doc in documents:
        # A certificate of origin must agree with every line's origin.
        is_origin_cert = doc.doc_type is DocType.CERT_OF_ORIGIN and doc.country is not None
        if is_origin_cert and origins - {doc.country}:
            problems.add(ORIGIN_MISMATCH)
    return sorted(problems)
