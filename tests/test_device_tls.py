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


def test_the_agents_link_carries_the_context_for_its_hq():
    # A client given a transport ignores its own `verify`: the link's transport is the one
    # that speaks TLS, so it must hold tls_for's context, not httpx's default (which loads
    # the CA bundle once more, even for a plain-HTTP HQ). httpx has no public accessor for a
    # transport's context; its connection pool's is read here.
    from fieldtech.sync.link import SwitchableLink

    secure, plain = SwitchableLink("https://hq.example.net"), SwitchableLink("http://10.0.0.9")
    try:
        assert secure.inner._pool._ssl_context is tls_for("https://hq.example.net")
        assert plain.inner._pool._ssl_context.cert_store_stats()["x509_ca"] == 0
    finally:
        secure.close()
        plain.close()
