from __future__ import annotations

import logging

from pseudolink.masking import MaskingFilter, mask_insz


def test_mask_hides_all_eleven_digits_in_every_printed_form():
    # Two digits kept gave the birth year, three the sex and the check digits.
    for form in ("85073003328", "85.07.30-033.28", "83 09 30 002 31", "830930-002-31"):
        assert mask_insz(f"insz {form} rejected") == "insz *********** rejected"
    assert mask_insz("85.07.30-033.28 or 83093000231.") == "*********** or ***********."


def test_mask_leaves_other_numbers_alone():
    text = "line 12, 2016-01-01, 123456789012 digits, 1234567890"
    assert mask_insz(text) == text
    assert mask_insz(None) is None


def test_logging_filter_masks_arguments():
    record = logging.LogRecord(
        "pseudolink",
        logging.ERROR,
        __file__,
        1,
        "bad row for %s in %s",
        ("85073003328", "f.csv"),
        None,
    )
    MaskingFilter().filter(record)
    assert record.getMessage() == "bad row for *********** in f.csv"
