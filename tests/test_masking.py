from __future__ import annotations

import logging

from pseudolink.masking import MaskingFilter, mask_insz


def test_mask_keeps_two_first_and_three_last_digits():
    assert mask_insz("insz 85073003328 rejected") == "insz 85******328 rejected"
    assert mask_insz("85.07.30-033.28") == "85******328"


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
    assert record.getMessage() == "bad row for 85******328 in f.csv"
