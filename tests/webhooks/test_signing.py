"""Signatures verify with an independent implementation of the Standard Webhooks scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from app.webhooks import signing
from tests.webhooks.receiver import verify


def test_generated_secret_is_whsec_with_32_random_bytes() -> None:
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != signing.generate_secret()


def test_signature_verifies_independently_and_binds_id_timestamp_and_body() -> None:
    secret = signing.generate_secret()
    body = b'{"id":"7","type":"sla.warning"}'
    headers = signing.headers(secret, "7", 1736150400, body)
    assert headers["webhook-id"] == "7"
    assert headers["webhook-timestamp"] == "1736150400"
    assert headers["webhook-signature"].startswith("v1,")
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify(secret, {**headers, "webhook-id": "8"}, body)
    assert not verify(secret, {**headers, "webhook-timestamp": "1736150401"}, body)
    assert not verify(signing.generate_secret(), headers, body)


def test_known_vector() -> None:
    # Computed by hand: HMAC-SHA256(key=b"0123456789abcdef", "msg_1.1700000000.{}"), base64.
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef").decode()
    expected = base64.b64encode(hmac.new(b"0123456789abcdef", b"msg_1.1700000000.{}", hashlib.sha256).digest())
    assert signing.sign(secret, "msg_1", 1700000000, b"{}") == "v1," + expected.decode()


@pytest.mark.parametrize("secret", ["abc", "whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()])
def test_unusable_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError, match=r"whsec_|bytes"):
        signing.secret_key(secret)
