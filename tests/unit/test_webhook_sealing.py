"""Webhook secrets at rest open only with the sealing key, on the row they were sealed for."""

import pytest
from cryptography.exceptions import InvalidTag

from marketplace.webhooks import sealing


def test_a_sealed_secret_opens_with_its_key_on_its_own_row_only():
    sealed = sealing.seal("k" * 40, "whk_A", "whsec_abc")
    assert "whsec_abc" not in sealed and sealing.unseal("k" * 40, "whk_A", sealed) == "whsec_abc"
    assert sealing.seal("k" * 40, "whk_A", "whsec_abc") != sealed  # a fresh nonce each time
    with pytest.raises(InvalidTag):
        sealing.unseal("x" * 40, "whk_A", sealed)  # another key
    with pytest.raises(InvalidTag):
        sealing.unseal("k" * 40, "whk_B", sealed)  # copied onto another endpoint
