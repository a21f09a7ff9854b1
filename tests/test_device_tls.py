"""The TLS context the device's HTTP clients are given (sync/http.py `tls_for`)."""

import ssl

from fieldtech.sync.http import tls_for


def test_an_https_hq_is_verified_against_the_ca_bundle_and_the_clients_share_one_context():
    ctx = tls_for("https://hq.example.net")
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded
    # The sync and the wait (and any other client) use the same one: the bundle loads once.
    assert tls_for("HTTPS://other.example.net:8443/x") is ctx


def test_a_plain_http_hq_gets_a_context_that_would_refuse_any_certificate():
    ctx = tls_for("http://127.0.0.1:8765")
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0  # no CA loaded: nothing would verify
    assert ctx is not tls_for("https://hq.example.net")
