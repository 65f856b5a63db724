"""The pure rules of messages: signatures, where a webhook may point, retry tiers, files, the stream's id."""
from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest

from services.messages import attachments, stream, targets
from services.messages.notifying import KIND_NAMES, KINDS, ids_and_amounts
from services.messages.settings import MessagesSettings, parse_delays
from shared.config import ConfigError
from shared.errors import DomainError, Unprocessable


class TestSignature:
    def test_it_is_stripes_scheme(self):
        # HMAC-SHA256 of "<t>.<body>" keyed with the whole secret, as hex.
        import hashlib
        import hmac

        expected = hmac.new(b"whsec_abc", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert targets.signature("whsec_abc", b"{}", 1700000000) == f"t=1700000000,v1={expected}"

    def test_a_receiver_accepts_it_and_refuses_a_changed_body_an_old_time_or_another_secret(self):
        header = targets.signature("s3cret", b'{"a":1}', 1000)

        assert targets.verify("s3cret", b'{"a":1}', header, now=1100)
        assert not targets.verify("s3cret", b'{"a":2}', header, now=1100)
        assert not targets.verify("s3cret", b'{"a":1}', header, now=2000)
        assert not targets.verify("other", b'{"a":1}', header, now=1100)
        assert not targets.verify("s3cret", b'{"a":1}', "t=abc,v1=00", now=1100)


class TestAddresses:
    @pytest.mark.parametrize("address", ["169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "0.0.0.0",
                                         "0.1.2.3", "::", "224.0.0.251", "ff02::1", "::ffff:169.254.169.254"])
    def test_link_local_metadata_unspecified_and_multicast_are_always_refused(self, address):
        assert targets.refusal(ipaddress.ip_address(address), allow_private=True)

    @pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1", "172.16.0.1", "172.31.255.255",
                                         "192.168.0.1", "100.64.0.1", "fc00::1", "fd12::1", "::ffff:10.0.0.1"])
    def test_loopback_and_private_only_when_allowed(self, address):
        assert targets.refusal(ipaddress.ip_address(address), allow_private=False)
        assert targets.refusal(ipaddress.ip_address(address), allow_private=True) is None

    @pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "172.32.0.1"])
    def test_public_addresses_may_be_used(self, address):
        assert targets.refusal(ipaddress.ip_address(address), allow_private=False) is None

    @pytest.mark.parametrize("url", ["ftp://h/", "http:///x", "javascript:alert(1)", "http://u:p@h/",
                                     "http://h/ x", "http://h:99999/", "https://h/" + "x" * 2048])
    def test_urls_that_are_not_plain_http_are_refused(self, url):
        with pytest.raises(targets.Refused):
            targets.parse(url)

    def test_a_literal_address_is_judged_without_resolving(self):
        with pytest.raises(targets.Refused, match="link-local"):
            targets.check("http://[::ffff:a9fe:a9fe]/", allow_private=True)
        assert str(targets.check("http://127.0.0.1:8080/x", allow_private=True)) == "127.0.0.1"


class TestRetryTiers:
    def test_attempts_are_tiers_plus_one(self):
        delays = parse_delays("10s,1m,10m")

        assert [targets.retry_delay(delays, n) for n in (1, 2, 3, 4)] == [
            timedelta(seconds=10), timedelta(minutes=1), timedelta(minutes=10), None]

    def test_the_default_tiers(self):
        assert MessagesSettings.from_env({}).webhook_retry_delays == (
            timedelta(seconds=10), timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1),
            timedelta(hours=6), timedelta(hours=24))

    @pytest.mark.parametrize("env, variable", [
        ({"WEBHOOK_RETRY_DELAYS": "10s,,1m"}, "WEBHOOK_RETRY_DELAYS"), ({"WEBHOOK_RETRY_DELAYS": "soon"}, "WEBHOOK_RETRY_DELAYS"),
        ({"WEBHOOK_TIMEOUT": "0s"}, "WEBHOOK_TIMEOUT"), ({"WEBHOOK_ALLOW_PRIVATE": "maybe"}, "WEBHOOK_ALLOW_PRIVATE"),
        ({"SSE_HEARTBEAT": "x"}, "SSE_HEARTBEAT"), ({"SSE_MAX_AGE": "-1m"}, "SSE_MAX_AGE"),
        ({"SMTP_URL": "http://mail"}, "SMTP_URL"), ({"SMTP_URL": "smtp://h:port"}, "SMTP_URL"),
        ({"EMAIL_UNREAD_DELAY": "1y"}, "EMAIL_UNREAD_DELAY"),
    ])
    def test_a_bad_value_names_its_variable(self, env, variable):
        with pytest.raises(ConfigError, match=variable):
            MessagesSettings.from_env(env)


class TestFiles:
    @pytest.mark.parametrize("header", ["image/png", "application/pdf", "text/csv; charset=utf-8", "IMAGE/JPEG",
                                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"])
    def test_allowed_types_are_kept_as_uploaded(self, header):
        assert attachments.content_type(header) == header

    @pytest.mark.parametrize("header", [None, "", "text/html", "image/svg+xml", "application/javascript",
                                        "text/plain\r\nX-Evil: 1", "application/vnd.ms-excel"])
    def test_anything_else_is_415(self, header):
        with pytest.raises(DomainError) as refused:
            attachments.content_type(header)
        assert refused.value.status == 415

    @pytest.mark.parametrize("name", ["", "a/b", "a\\b", "tab\there", "\x00", "\u202eexe.txt", "..", "x" * 256])
    def test_bad_filenames(self, name):
        with pytest.raises(Unprocessable):
            attachments.filename(name)

    def test_a_download_name_is_safe_in_both_forms(self):
        class Stored:
            filename, content_type, size = 'naïve "plan";.pdf', "application/pdf", 3

        headers = attachments.download_headers(Stored())  # type: ignore[arg-type]
        assert headers["Content-Disposition"] == (
            "attachment; filename=\"na_ve _plan__.pdf\"; filename*=UTF-8''na%C3%AFve%20%22plan%22%3B.pdf")
        assert headers["X-Content-Type-Options"] == "nosniff"


class TestNotificationKinds:
    def test_kinds_have_unique_events_per_kind_and_every_kind_can_be_subscribed_to(self):
        assert len({(kind.event, kind.kind) for kind in KINDS}) == len(KINDS)
        assert {kind.kind for kind in KINDS} | {"message.received", "invoice.charge_failed"} == set(KIND_NAMES)

    def test_a_notification_keeps_ids_and_amounts_never_free_text(self):
        data = {"contract_id": "c", "review_ids": ["r"], "amount": 5, "released_amount": 7, "client_fee": 1,
                "end_note": "private words", "reason": "because"}

        assert ids_and_amounts(data) == {"contract_id": "c", "review_ids": ["r"], "amount": 5, "released_amount": 7,
                                         "client_fee": 1}


class TestLastEventId:
    @pytest.mark.parametrize("header, seq", [("7", 7), (" 12 ", 12), ("0", 0), (None, None), ("", None),
                                             ("-1", None), ("1.5", None), ("١٢", None), ("9" * 30, None)])
    def test_only_ascii_digits_count(self, header, seq):
        assert stream.last_event_id(header) == seq
