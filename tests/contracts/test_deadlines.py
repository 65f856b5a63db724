"""No saga stuck for good: a request payments never answered (parked, lost) is sent again past its
deadline, each wait twice the last, until the answer comes; meanwhile `sagas_stuck` and
`marketplace sagas stuck` say what waits and why. The deadlines here are short (contracts' own
settings), and "dead-lettered" is simply no answer to the first request."""
from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

from marketplace.cli import cli
from services.contracts import SERVICE, sagas
from services.contracts.hourly_models import Invoice
from services.contracts.models import Base, Milestone
from services.contracts.stuck import stuck_sagas
from shared.db import migrate, utcnow
from shared.events import Envelope
from shared.tables import TimerRow
from tests.contracts.hourly import SHORT, hourly_active
from tests.platform.test_timer_kinds import upgrade_to
from tests.support import eventually

FAST = {"saga_resend_after": timedelta(milliseconds=400), "saga_resend_max": timedelta(seconds=2)}


def resent(deal, type_: str, times: int = 1, **match) -> list[dict]:
    """Waits until the request `type_` has gone out `times` more than once; every copy."""
    def copies():
        found = deal.emitted(type_, **match)
        return found if len(found) > times else None

    return eventually(copies, 15, message=f"{type_} was not sent again {times} time(s)")


def stuck_gauge(desk, states=("funding", "approved", "refunding", "cancelling")) -> dict[str, float]:
    desk.harness.runtime.refresh_gauges()
    registry = desk.harness.runtime.metrics.registry
    return {state: registry.get_sample_value("sagas_stuck", {"state": state}) for state in states}


INVOICE_STATES = ("pending_payment", "releasing", "resolving")


def sagas_stuck_command(desk, *args: str):
    url = desk.harness.runtime.db.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, ["sagas", "stuck", *args], env={
        "MARKETPLACE_SERVICES": "contracts", "DATABASE_URL_CONTRACTS": url, "AMQP_URL": desk.harness.settings.amqp_url,
        "SAGA_RESEND_AFTER": "400ms", "SAGA_RESEND_MAX": "2s"})


class TestResendPastTheDeadline:
    def test_an_unanswered_funding_request_is_sent_again_and_the_answer_to_it_makes_the_offer(self, make_contracts):
        contracts = make_contracts(**FAST)
        deal = contracts.hire()

        copies = resent(deal, "contracts.milestone.funding_requested")

        assert copies[0] == copies[1]  # the same request: payments' journal makes it move the money once
        deal.funded(0)
        body = deal.wait_for("offered")
        assert body["milestones"][0]["status"] == "funded"

    def test_an_unanswered_release_is_sent_again_until_the_milestone_is_released(self, make_contracts):
        contracts = make_contracts(**FAST)
        deal = contracts.active()
        deal.submitted_and_approved(0)

        copies = resent(deal, "contracts.milestone.approved")

        assert copies[0] == copies[1]
        deal.released(0)
        assert deal.wait_for("completed")["milestones"][0]["status"] == "released"

    def test_an_unanswered_refund_is_sent_again_and_the_cancelling_contract_is_then_cancelled(self, make_contracts):
        contracts = make_contracts(**FAST)
        deal = contracts.active()
        assert deal.post("cancel", deal.client).status_code == 202

        copies = resent(deal, "contracts.milestone.refund_requested")

        assert copies[0] == copies[1]
        deal.refunded(0)
        body = deal.wait_for("cancelled")
        assert body["milestones"][0]["status"] == "refunded"

    def test_each_wait_is_twice_the_one_before_up_to_the_cap(self, make_contracts):
        contracts = make_contracts(**FAST)
        deal = contracts.hire()
        milestone_id = deal.milestone_id(0)

        resent(deal, "contracts.milestone.funding_requested", times=3)

        with contracts.harness.runtime.db.transaction() as session:
            timer = session.scalar(sa.select(TimerRow).where(TimerRow.kind == sagas.RESEND_REQUEST,
                                                             TimerRow.key == milestone_id))
            due_at = timer.due_at
        with contracts.harness.runtime.db.transaction() as session:
            milestone = session.get(Milestone, milestone_id)
            requested_at, resends = milestone.requested_at, milestone.resends
        assert resends >= 3
        settings = contracts.harness.runtime.service_settings
        assert due_at == sagas.deadline(settings, requested_at, resends)
        waits = [sagas.resend_delay(settings, n) for n in range(resends + 1)]
        assert waits[:3] == [timedelta(milliseconds=400), timedelta(milliseconds=800), timedelta(milliseconds=1600)]
        assert waits[-1] <= timedelta(seconds=2)


class TestTheAlarm:
    def test_the_gauge_counts_stuck_steps_by_state_and_clears_when_they_are_answered(self, make_contracts):
        contracts = make_contracts(**FAST)
        funding = contracts.hire()
        releasing = contracts.active()
        releasing.submitted_and_approved(0)
        cancelling = contracts.active()
        assert cancelling.post("cancel", cancelling.client).status_code == 202

        eventually(lambda: stuck_gauge(contracts) == {"funding": 1, "approved": 1, "refunding": 1, "cancelling": 1},
                   10, message=f"gauge is {stuck_gauge(contracts)}")

        funding.funded(0)
        funding.wait_for("offered")
        releasing.released(0)
        releasing.wait_for("completed")
        cancelling.refunded(0)
        cancelling.wait_for("cancelled")
        assert stuck_gauge(contracts) == {"funding": 0, "approved": 0, "refunding": 0, "cancelling": 0}
        assert b'sagas_stuck{state="funding"} 0.0' in contracts.harness.runtime.metrics.render()

    def test_marketplace_sagas_stuck_lists_each_step_past_its_deadline_and_why(self, make_contracts):
        contracts = make_contracts(**FAST)
        deal = contracts.hire()
        assert "0 saga step(s) past their deadline" in sagas_stuck_command(contracts).output

        resent(deal, "contracts.milestone.funding_requested")
        shown = sagas_stuck_command(contracts)

        assert shown.exit_code == 0, shown.output
        header, row, *_, total = shown.output.splitlines()
        assert header.split()[:6] == ["service", "kind", "id", "state", "since", "attempts"]
        assert row.split()[:4] == ["contracts", "milestone", deal.milestone_id(0), "funding"]
        assert "contracts.milestone.funding_requested" in row
        assert total == "1 saga step(s) past their deadline"

        listed = [json.loads(line) for line in sagas_stuck_command(contracts, "--json").output.splitlines()]
        assert [(item["id"], item["state"]) for item in listed] == [(deal.milestone_id(0), "funding")]
        assert listed[0]["attempts"] >= 1 and listed[0]["since"]


    def test_the_listing_names_the_dead_letter_that_kept_the_answer_from_the_saga(self, make_contracts):
        contracts = make_contracts(**FAST)
        deal = contracts.hire()
        # An answer contracts cannot take (it fails its schema), so it is dead-lettered at once.
        bad = Envelope("payments.escrow.funded", {"contract_id": deal.id, "milestone_id": deal.milestone_id(0),
                                                  "amount": "ten thousand"}, "payments", deal.id)
        contracts.harness.runtime.bus.publish([bad], settled=lambda _: None)

        eventually(lambda: contracts.consumed("payments.escrow.funded", "dead"), 10,
                   message="the bad answer was never dead-lettered")
        resent(deal, "contracts.milestone.funding_requested")
        shown = sagas_stuck_command(contracts, "--json")

        assert shown.exit_code == 0, shown.output
        [listed] = [json.loads(line) for line in shown.output.splitlines()]
        assert listed["id"] == deal.milestone_id(0)
        assert listed["last_error"].startswith("contracts dead letter payments.escrow.funded:")

class TestStuckInvoices:
    def test_the_gauge_counts_an_unanswered_charge_then_an_unanswered_release_and_clears(self, make_contracts):
        contracts = make_contracts(**SHORT, **FAST)
        deal = hourly_active(contracts)
        deal.log(30)
        invoice = deal.wait_invoice("pending_payment")

        eventually(lambda: stuck_gauge(contracts, INVOICE_STATES) == {"pending_payment": 1, "releasing": 0,
                                                                      "resolving": 0},
                   10, message=f"gauge is {stuck_gauge(contracts, INVOICE_STATES)}")
        deal.charged(invoice)
        deal.wait_invoice("in_review")
        # The review window passes, the release is asked for and never answered.
        eventually(lambda: stuck_gauge(contracts, INVOICE_STATES) == {"pending_payment": 0, "releasing": 1,
                                                                      "resolving": 0},
                   10, message=f"gauge is {stuck_gauge(contracts, INVOICE_STATES)}")
        deal.released(invoice)
        deal.wait_invoice("released")
        assert stuck_gauge(contracts, INVOICE_STATES) == {"pending_payment": 0, "releasing": 0, "resolving": 0}
        assert b'sagas_stuck{state="releasing"} 0.0' in contracts.harness.runtime.metrics.render()

    def test_marketplace_sagas_stuck_lists_an_unanswered_charge_and_why(self, make_contracts):
        contracts = make_contracts(**SHORT, **FAST)
        deal = hourly_active(contracts)
        deal.log(30)
        invoice = deal.wait_invoice("pending_payment")

        resent(deal, "contracts.invoice.charge_requested")
        shown = sagas_stuck_command(contracts)

        assert shown.exit_code == 0, shown.output
        header, row, *_, total = shown.output.splitlines()
        assert row.split()[:4] == ["contracts", "invoice", invoice["id"], "pending_payment"]
        assert "contracts.invoice.charge_requested" in row and deal.id in row
        assert total == "1 saga step(s) past their deadline"
        [listed] = [json.loads(line) for line in sagas_stuck_command(contracts, "--json").output.splitlines()]
        assert (listed["kind"], listed["id"], listed["state"]) == ("invoice", invoice["id"], "pending_payment")
        assert listed["attempts"] >= 1 and listed["next_attempt_at"] > listed["since"]

    def test_the_listing_names_the_dead_letter_that_kept_the_charge_from_the_invoice(self, make_contracts):
        contracts = make_contracts(**SHORT, **FAST)
        deal = hourly_active(contracts)
        deal.log(30)
        invoice = deal.wait_invoice("pending_payment")
        # An answer contracts cannot take (it fails its schema), so it is dead-lettered at once.
        bad = Envelope("payments.invoice.charged", {"contract_id": deal.id, "invoice_id": invoice["id"],
                                                    "amount": "ten thousand"}, "payments", deal.id)
        contracts.harness.runtime.bus.publish([bad], settled=lambda _: None)

        eventually(lambda: contracts.consumed("payments.invoice.charged", "dead"), 10,
                   message="the bad answer was never dead-lettered")
        resent(deal, "contracts.invoice.charge_requested")
        shown = sagas_stuck_command(contracts, "--json")

        assert shown.exit_code == 0, shown.output
        [listed] = [json.loads(line) for line in shown.output.splitlines()]
        assert listed["id"] == invoice["id"]
        assert listed["last_error"].startswith("contracts dead letter payments.invoice.charged:")


class TestOnRabbitMQAndPostgreSQL:
    def test_a_lost_funding_request_is_sent_again_listed_counted_and_then_answered(self, make_contracts_live):
        contracts = make_contracts_live(**FAST)
        deal = contracts.hire()

        copies = resent(deal, "contracts.milestone.funding_requested")
        assert copies[0] == copies[1]
        shown = sagas_stuck_command(contracts)
        assert shown.exit_code == 0, shown.output
        assert deal.milestone_id(0) in shown.output
        assert stuck_gauge(contracts)["funding"] == 1

        deal.funded(0)
        deal.wait_for("offered")
        assert stuck_gauge(contracts)["funding"] == 0
        assert "0 saga step(s) past their deadline" in sagas_stuck_command(contracts).output


class TestStepsInFlightBeforeTheUpgrade:
    def test_the_migration_arms_a_re_send_for_every_step_already_in_flight(self, make_database):
        database = make_database("contracts")
        upgrade_to(database, SERVICE, "kit@head", "contracts_0002")
        now = utcnow()
        contract = {"job_id": "j", "proposal_id": "p", "client_id": "c", "freelancer_id": "f", "title": "t",
                    "currency": "USD", "client_fee_bps": 500, "freelancer_fee_bps": 1000, "released_amount": 0,
                    "created_at": now}
        milestone = {"title": "m", "amount": 100, "created_at": now}
        with database.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO contracts (id, job_id, proposal_id, client_id, freelancer_id, title, currency, status, "
                "client_fee_bps, freelancer_fee_bps, released_amount, created_at) VALUES (:id, :job_id, "
                ":proposal_id, :client_id, :freelancer_id, :title, :currency, :status, :client_fee_bps, "
                ":freelancer_fee_bps, :released_amount, :created_at)").bindparams(
                sa.bindparam("created_at", type_=sa.DateTime(timezone=True))),
                [{**contract, "id": "k1", "status": "cancelling"}, {**contract, "id": "k2", "status": "active"}])
            connection.execute(sa.text(
                "INSERT INTO milestones (id, contract_id, position, title, amount, status, created_at) VALUES "
                "(:id, :contract_id, :position, :title, :amount, :status, :created_at)").bindparams(
                sa.bindparam("created_at", type_=sa.DateTime(timezone=True))),
                [{**milestone, "id": "m1", "contract_id": "k1", "position": 0, "status": "refunding"},
                 {**milestone, "id": "m2", "contract_id": "k2", "position": 0, "status": "approved"},
                 {**milestone, "id": "m3", "contract_id": "k2", "position": 1, "status": "funded"}])

        migrate(database, SERVICE.migrations)

        with database.transaction() as session:
            armed = {(row.kind, row.key): row.payload for row in session.scalars(sa.select(TimerRow))}
            requested = dict(session.execute(sa.select(Milestone.id, Milestone.requested_at)).all())
        assert armed == {(sagas.RESEND_REQUEST, "m1"): {"contract_id": "k1", "correlation_id": "k1"},
                         (sagas.RESEND_REQUEST, "m2"): {"contract_id": "k2", "correlation_id": "k2"},
                         (sagas.RESEND_CANCELLATION, "k1"): {"contract_id": "k1", "correlation_id": "k1"}}
        assert requested["m1"] is not None and requested["m2"] is not None and requested["m3"] is None


    def test_invoices_already_waiting_for_payments_count_from_the_upgrade(self, make_database):
        database = make_database("contracts")
        upgrade_to(database, SERVICE, "kit@head", "contracts_0006")
        long_ago = utcnow() - timedelta(days=30)
        stamp = {"type_": sa.DateTime(timezone=True)}
        with database.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO contracts (id, job_id, proposal_id, client_id, freelancer_id, title, currency, status, "
                "client_fee_bps, freelancer_fee_bps, released_amount, created_at, type) VALUES ('k', 'j', 'p', 'c', "
                "'f', 't', 'USD', 'active', 500, 1000, 0, :at, 'hourly')").bindparams(sa.bindparam("at", **stamp)),
                {"at": long_ago})
            connection.execute(sa.text(
                "INSERT INTO invoices (id, contract_id, period_start, period_end, total_minutes, billable_minutes, "
                "hourly_rate, amount, client_fee, currency, status, created_at) VALUES (:id, 'k', :start, :start, 60, "
                "60, 6000, 6000, 300, 'USD', :status, :at)").bindparams(
                sa.bindparam("start", **stamp), sa.bindparam("at", **stamp)),
                [{"id": status, "status": status, "start": long_ago + timedelta(days=n), "at": long_ago}
                 for n, status in enumerate(("pending_payment", "releasing", "in_review", "payment_failed"))])

        migrate(database, SERVICE.migrations)

        with database.transaction() as session:
            noted = {row.id: (row.requested_at is not None, row.resends) for row in session.scalars(sa.select(Invoice))}
        assert noted == {"pending_payment": (True, 0), "releasing": (True, 0), "in_review": (False, 0),
                         "payment_failed": (False, 0)}
        # Counted from the upgrade, not from the invoicing a month ago: not stuck yet.
        with database.transaction() as session:
            assert stuck_sagas(session, SERVICE.settings()) == []


class TestTheSchema:
    def test_the_migrations_make_exactly_the_tables_of_the_models(self, make_any_contracts):
        contracts = make_any_contracts()
        ours = set(Base.metadata.tables)

        def contracts_only(obj, name, type_, reflected, compare_to):
            return (name if type_ == "table" else obj.table.name) in ours  # the kit's tables are the kit's

        with contracts.harness.runtime.db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_object": contracts_only})
            assert compare_metadata(context, Base.metadata) == []
