"""Secrets stay out of the logs (issue 9, item 3): the access log never shows a reset token."""

from __future__ import annotations

import logging


import pytest


@pytest.mark.parametrize("path", ["/dashboard/reset/{}", "/dashboard//reset/{}", "//dashboard/reset//{}"])
def test_the_access_log_does_not_show_a_reset_token(client, caplog, path):
    token = "stf_01SECRETTOKENVALUE.abcdefghijklmnopqrstuvwxyz0123456789"
    with caplog.at_level(logging.DEBUG):
        client.get(path.format(token))
    access = [r.getMessage() for r in caplog.records if r.name == "marketplace.access"]
    assert access and "[redacted]" in access[0]
    assert token not in caplog.text and "abcdefghijklmnopqrstuvwxyz0123456789" not in caplog.text
