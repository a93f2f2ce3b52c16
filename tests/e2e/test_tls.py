"""wss: the listener speaks TLS when a certificate chain and key are configured."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from ocpp.v16 import call

from balanz.wire.client import open_charger_connection

from .conftest import make_config


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_wss_with_configured_certificate(start_site, autojump_clock, certificate):
    cert, key = certificate
    site = await start_site(make_config(tls_cert_chain=str(cert), tls_key=str(key)))
    trust = ssl.create_default_context(cafile=str(cert))
    async with open_charger_connection(f"wss://127.0.0.1:{site.port}", "CP1", ssl_context=trust) as conn:
        beat = await conn.call(call.Heartbeat())
    assert beat.current_time
