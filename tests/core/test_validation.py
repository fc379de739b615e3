from __future__ import annotations

from typing import Any

from schemas.events import Document, Line
from stream.core.policy import Policy
from stream.core.validation import problems_of
from tests.builders import doc, line


def problems(policy: Policy, lines: list[dict[str, Any]], docs: list[dict[str, Any]]) -> list[str]:
    return problems_of(
        [Line.model_validate(x) for x in lines], [Document.model_validate(d) for d in docs], policy
    )


def test_clean_content_has_no_problem(policy: Policy) -> None:
    assert problems(policy, [line()], [doc()]) == []


def test_category_with_hs_code_outside_its_prefixes(policy: Policy) -> None:
    assert problems(policy, [line(hs_code="7318150000")], [doc()]) == ["CLASSIFICATION_MISMATCH"]


def test_category_without_classification_entry_is_not_checked(policy: Policy) -> None:
    assert problems(policy, [line(product_category="other", hs_code="3926909090")], []) == []


def test_origin_certificate_must_match_every_line(policy: Policy) -> None:
    lines = [line(), line(line_no=2, origin_country="VN")]
    assert problems(policy, lines, [doc("CERT_OF_ORIGIN", country="CN")]) == ["ORIGIN_MISMATCH"]
    assert problems(policy, [line()], [doc("CERT_OF_ORIGIN", country="CN")]) == []


def test_origin_certificate_without_country_is_not_compared(policy: Policy) -> None:
    assert problems(policy, [line()], [doc("CERT_OF_ORIGIN")]) == []


def test_line_without_packaging(policy: Policy) -> None:
    bare = line()
    del bare["packaging_code"]
    assert problems(policy, [bare, line(line_no=2)], []) == ["PACKAGING_MISSING"]


def test_dangerous_goods_need_packaging_certificate(policy: Policy) -> None:
    battery = line(hs_code="8507600000", product_category="lithium_battery", un_number="UN3480")
    assert problems(policy, [battery], [doc()]) == ["DG_PACKAGING_CERT_MISSING"]
    assert problems(policy, [battery], [doc("DG_PACKAGING_CERT")]) == []


def test_perishable_goods_need_health_and_origin_certificates(policy: Policy) -> None:
    fish = line(hs_code="0303890000", product_category="aquatic")
    assert problems(policy, [fish], []) == ["HEALTH_CERT_MISSING", "ORIGIN_CERT_MISSING"]
    assert problems(policy, [fish], [doc("HEALTH_CERT")]) == ["ORIGIN_CERT_MISSING"]
    both = [doc("HEALTH_CERT"), doc("CERT_OF_ORIGIN", country="CN")]
    assert problems(policy, [fish], both) == []


def test_problems_are_sorted_and_distinct(policy: Policy) -> None:
    bad = line(hs_code="7318150000")
    del bad["packaging_code"]
    found = problems(policy, [bad, {**bad, "line_no": 2}], [doc("CERT_OF_ORIGIN", country="VN")])
    assert found == ["CLASSIFICATION_MISMATCH", "ORIGIN_MISMATCH", "PACKAGING_MISSING"]
