"""Beds sort the way a nurse walks the ward, not the way text sorts."""

from wardcare.domain.bed_order import bed_order_key


def test_beds_sort_by_number_not_by_text() -> None:
    codes = ["WARD7/BAY2/BED10", "WARD7/BAY10/BED1", "WARD7/BAY2/BED9", "WARD7/BAY1/BED2"]
    assert sorted(codes, key=bed_order_key) == [
        "WARD7/BAY1/BED2",
        "WARD7/BAY2/BED9",
        "WARD7/BAY2/BED10",
        "WARD7/BAY10/BED1",
    ]


def test_side_rooms_come_after_the_bays() -> None:
    codes = ["WARD7/SR1/BED1", "WARD7/BAY4/BED6", "WARD7/SR2/BED1"]
    assert sorted(codes, key=bed_order_key) == [
        "WARD7/BAY4/BED6",
        "WARD7/SR1/BED1",
        "WARD7/SR2/BED1",
    ]


def test_case_does_not_change_the_order() -> None:
    assert bed_order_key("ward7/bay1/bed1") == bed_order_key("WARD7/BAY1/BED1")
