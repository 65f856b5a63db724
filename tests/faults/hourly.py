"""Hourly contracts driven over HTTP through one compressed week, and what must hold once it is paid.

An hourly story is one contract at an odd rate with a few entries logged in one shared period (one of
them over its weekly limit); its period closes at `edit_until`, its invoice is charged, held through the
review window and released. The billing saga runs `charge_requested` → payments → `charged` →
contracts, then `approved` → payments → `released` → contracts, which is where the faults go.
"""
from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa

from shared.ids import new_id
from tests.faults.bus import BusObserver
from tests.faults.stories import CARD, OnAContract, Party, StoryFailed, fee, part
from tests.faults.suite import Suite
from tests.faults.verdict import Report, close

CLIENT_BPS, FREELANCER_BPS = 500, 1000
# A week of a few seconds: time is logged in a 6 s period, final 2 s after it, reviewed 3 s after the charge.
WEEK = {"BILLING_PERIOD": "6s", "TIMESHEET_EDIT_WINDOW": "2s", "INVOICE_REVIEW_WINDOW": "3s"}
# Each step of an invoice's money happens once; a released invoice is never refused, nor split.
ONCE = ("contracts.invoice.charge_requested", "payments.invoice.charged", "contracts.invoice.approved",
        "payments.invoice.released")
NEVER = ("payments.invoice.charge_failed", "contracts.invoice.split_requested", "payments.invoice.split")


def amount_for(minutes: int, rate: int) -> int:
    """minutes × rate (cents an hour) / 60, half up to the cent (integers only)."""
    return (minutes * rate * 2 + 60) // 120


@dataclass
class HourlyStory:
    """One hourly contract, its entries of one period, and the single invoice they must end in."""

    number: int
    rate: int
    limit_hours: int
    minutes: list[int]
    deposit: int
    client: Party | None = None
    freelancer: Party | None = None
    contract_id: str | None = None
    invoice_id: str | None = None
    steps: list[str] = field(default_factory=list)
    logged: float | None = None  # when its time was logged
    released: float | None = None  # when its invoice was first seen released

    @property
    def billable(self) -> int:
        return min(sum(self.minutes), 60 * self.limit_hours)

    @property
    def amount(self) -> int:
        return amount_for(self.billable, self.rate)

    @property
    def client_fee(self) -> int:
        return fee(self.amount, CLIENT_BPS)

    @property
    def freelancer_fee(self) -> int:
        return fee(self.amount, FREELANCER_BPS)

    def expected_balances(self) -> dict[str, dict]:
        """Once the payout hold is over: the freelancer has minutes × rate less the fee, the client the rest."""
        zero = {"available": 0, "pending": 0, "in_escrow": 0, "in_payout": 0}
        return {"client": {**zero, "available": self.deposit - self.amount - self.client_fee},
                "freelancer": {**zero, "available": self.amount - self.freelancer_fee}}


def plan(count: int, seed: int) -> list[HourlyStory]:
    """`count` contracts at odd rates, so amounts and fees round both ways; the first logs past its limit."""
    rng = random.Random(seed)
    stories = []
    for number in range(count):
        rate = rng.randrange(1_500, 9_000) + rng.choice((1, 7, 33, 49))
        minutes = [rng.randrange(15, 200) for _ in range(rng.randrange(2, 4))]
        limit = 1 if number == 0 else 10
        story = HourlyStory(number, rate, limit, minutes, deposit=0)
        story.deposit = story.amount + story.client_fee + rng.randrange(0, 3_000)
        stories.append(story)
    return stories


class HourlyDriver(OnAContract):
    """Hires each story's freelancer (all workers up), logs every story's time in one period, then watches."""

    kind = "hourly"

    def invoices(self, story: HourlyStory) -> list[dict]:
        return self.http("GET", f"/contracts/{story.contract_id}/invoices", story.client.token)["items"]

    def set_up(self, story: HourlyStory) -> HourlyStory:
        http, driver = self.http, self.driver
        story.client = driver.sign_up(f"hclient{story.number}", ["client"])
        story.freelancer = driver.sign_up(f"hfreelancer{story.number}", ["freelancer"])
        client, freelancer = story.client.token, story.freelancer.token
        http("POST", "/payments/deposits", client, expect=(201,), key=new_id(),
             json={"amount": story.deposit, "card_number": CARD})
        job = http("POST", "/jobs", client, expect=(201,), json={
            "title": f"Hourly story {story.number}", "description": "Hours that survive crashes.",
            "skills": ["python"], "budget_type": "hourly", "hourly_rate_max": 10_000})
        proposal = http("POST", f"/jobs/{job['id']}/proposals", freelancer, expect=(201,), json={
            "cover_letter": "I bill by the hour.", "rate": story.rate})
        hired = http("POST", f"/jobs/{job['id']}/proposals/{proposal['id']}/hire", client, expect=(202,),
                     key=new_id(), json={"weekly_limit_hours": story.limit_hours})
        story.contract_id = hired["contract_id"]
        self.wait_contract(story, "offered", lambda c: c.get("status") == "offered")
        http("POST", f"/contracts/{story.contract_id}/accept", freelancer)
        self.wait_contract(story, "active", lambda c: c.get("status") == "active")
        story.steps.append("active")
        return story

    def set_up_all(self, stories: list[HourlyStory]) -> list[HourlyStory]:
        with ThreadPoolExecutor(max_workers=len(stories)) as pool:
            return list(pool.map(self.set_up, stories))

    def open_period(self, story: HourlyStory, margin: float = 2.5) -> str:
        """The start of a period every contract can still log in for `margin` seconds (the next one if the
        current ends sooner); every contract is active before it ends."""
        while True:
            sheet = self.http("GET", f"/contracts/{story.contract_id}/timesheets/current", story.client.token)
            end = datetime.fromisoformat(sheet["period_end"].replace("Z", "+00:00"))
            left = (end - datetime.now(timezone.utc)).total_seconds()
            if left >= margin:
                return sheet["period_start"]
            time.sleep(max(left, 0) + 0.05)

    def log(self, story: HourlyStory, period_start: str) -> None:
        day = datetime.fromisoformat(period_start.replace("Z", "+00:00")).date().isoformat()
        for number, minutes in enumerate(story.minutes):
            entry = self.http("POST", f"/contracts/{story.contract_id}/time-entries", story.freelancer.token,
                              expect=(201,), key=new_id(), json={"date": day, "minutes": minutes,
                                                                 "memo": f"Entry {number + 1}",
                                                                 "period_start": period_start})
            assert entry["period_start"] == period_start, entry
        story.logged = time.monotonic()
        story.steps.append("logged")

    def log_all(self, stories: list[HourlyStory]) -> str:
        """Every story's entries in one period; its start."""
        period_start = self.open_period(stories[0])
        with ThreadPoolExecutor(max_workers=len(stories)) as pool:
            list(pool.map(lambda story: self.log(story, period_start), stories))
        return period_start

    def statuses(self, stories: list[HourlyStory]) -> list[str]:
        """Each story's invoice status as contracts shows it (`none` before its period is invoiced)."""
        found = []
        for story in stories:
            invoices = self.invoices(story)
            if invoices and story.invoice_id is None:
                story.invoice_id = invoices[0]["id"]
            if invoices and invoices[0]["status"] == "released" and story.released is None:
                story.released = time.monotonic()
            found.append(invoices[0]["status"] if invoices else "none")
        return found


class InvoiceWatch:
    """How many of the stories' invoices contracts has moved to given states, read straight from its
    database: quick enough to catch its worker in the middle of a batch."""

    def __init__(self, suite: Suite, stories: list[HourlyStory]):
        self.engine = sa.create_engine(suite.database_url("contracts", direct=True), poolclass=sa.pool.NullPool)
        self.contracts = [story.contract_id for story in stories]

    def count(self, *states: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM invoices WHERE contract_id IN :ids AND status IN :states")
                                .bindparams(sa.bindparam("ids", expanding=True), sa.bindparam("states", expanding=True)),
                                {"ids": self.contracts, "states": list(states)}).scalar()

    def close(self) -> None:
        self.engine.dispose()


def judge(scenario: str, suite: Suite, hourly: HourlyDriver, bus: BusObserver, stories: list[HourlyStory], *,
          faults: list[str], tmp_path) -> Report:
    """Every guarantee of a paid week, checked once the load has settled; the caller asserts no problems."""
    report = Report(scenario, faults=faults, started=len(stories))
    deadline = time.monotonic() + hourly.wait
    while time.monotonic() < deadline and any(status != "released" for status in hourly.statuses(stories)):
        time.sleep(0.25)
    statuses = hourly.statuses(stories)
    report.completed = sum(status == "released" for status in statuses)
    report.stuck = len(stories) - report.completed
    report.stuck_stories = [f"#{story.number} invoice {story.invoice_id} {status} after {story.steps}"
                            for story, status in zip(stories, statuses) if status != "released"]
    report.slowest_saga_seconds = max((story.released - story.logged for story in stories
                                       if story.released is not None and story.logged is not None), default=0.0)
    _check_contracts(hourly, stories, report)
    _check_money(suite, hourly, stories, report)
    suite.wait_published(bus)
    _check_events(bus, stories, report)
    return close(report, suite, bus, tmp_path)


def _check_contracts(hourly: HourlyDriver, stories: list[HourlyStory], report: Report) -> None:
    """contracts: one invoice a contract, billed at the limit and the rate, released in full; the contract paid."""
    for story in stories:
        invoices = hourly.invoices(story)
        if len(invoices) != 1:
            report.problems.append(f"story {story.number}: {len(invoices)} invoices (one period, one expected)")
            continue
        invoice = invoices[0]
        keys = ("status", "total_minutes", "billable_minutes", "hourly_rate", "amount", "client_fee",
                "freelancer_amount", "freelancer_fee", "refund_amount")
        got = {key: invoice[key] for key in keys}
        want = dict(zip(keys, ("released", sum(story.minutes), story.billable, story.rate, story.amount,
                               story.client_fee, story.amount, story.freelancer_fee, 0)))
        if got != want:
            report.problems.append(f"story {story.number} invoice {invoice['id']}: {got} != model {want}")
        contract = hourly.contract(story)
        got = {key: contract[key] for key in ("status", "total_amount", "released_amount", "pause_reasons")}
        want = {"status": "active", "total_amount": story.amount, "released_amount": story.amount,
                "pause_reasons": []}
        if got != want:
            report.problems.append(f"story {story.number} contract: {got} != model {want}")


def _check_money(suite: Suite, hourly: HourlyDriver, stories: list[HourlyStory], report: Report) -> None:
    """payments: one journal entry per step of each invoice, to the cent; the escrows, balances, the books."""
    engine = sa.create_engine(suite.database_url("payments", direct=True), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            for story in stories:
                if story.invoice_id is not None:
                    _check_journal(conn, story, report)
    finally:
        engine.dispose()
    for story in stories:
        escrow = hourly.http("GET", f"/payments/escrow/{story.contract_id}", story.client.token)
        want = [{"invoice_id": story.invoice_id, "amount": story.amount, "status": "released"}]
        if escrow["held_amount"] != 0 or escrow["invoices"] != want:
            report.problems.append(f"story {story.number} escrow: held {escrow['held_amount']}, "
                                   f"{escrow['invoices']} != model {want}")
        expected = story.expected_balances()
        for side, party in (("client", story.client), ("freelancer", story.freelancer)):
            # The freelancer's money leaves `pending` once PAYOUT_HOLD has passed: waited for, then exact.
            try:
                hourly.driver.wait_balance(party, lambda b, want=expected[side]: part(b, want) == want, "")
            except StoryFailed:
                pass
            got = part(hourly.driver.balance(party), expected[side])
            if got != expected[side]:
                report.problems.append(f"story {story.number} {side} balance {got} != model {expected[side]}")
    check = hourly.http("GET", "/payments/ledger/check", hourly.admin_token)
    fees = sum(story.client_fee + story.freelancer_fee for story in stories)
    if (not check["balanced"] or check["total"] != 0 or check["negative_accounts"] or check["mismatched_accounts"]
            or check["unbalanced_entries"] or check["escrow_mismatches"] or check["platform_fees"] != fees):
        report.problems.append(f"ledger check (platform fees expected {fees}): {check}")


def _check_journal(conn, story: HourlyStory, report: Report) -> None:
    invoice = story.invoice_id
    client, freelancer = story.client.id, story.freelancer.id
    net = story.amount - story.freelancer_fee
    want = {  # zero transfers are skipped
        f"invoice-charge:{invoice}": sorted(credit for credit in [
            (f"escrow:invoice:{invoice}", "invoice_charge", story.amount),
            ("platform:fees", "client_fee", story.client_fee)] if credit[2]),
        f"invoice-release:{invoice}": sorted(credit for credit in [
            (f"user:{freelancer}:pending", "invoice_release", net),
            ("platform:fees", "freelancer_fee", story.freelancer_fee)] if credit[2]),
        f"invoice-hold-end:{invoice}": [(f"user:{freelancer}:available", "hold_end", net)],
    }
    entries = conn.execute(sa.text("SELECT id, key FROM journal_entries WHERE reference = :i ORDER BY key"),
                           {"i": invoice}).all()
    if sorted(key for _, key in entries) != sorted(want):
        report.problems.append(f"story {story.number} invoice {invoice}: journal entries "
                               f"{[key for _, key in entries]} (one charge, one release, one hold end expected)")
        return
    for entry_id, key in entries:
        postings = conn.execute(sa.text("SELECT account, kind, amount FROM postings WHERE entry_id = :e "
                                        "AND amount > 0"), {"e": entry_id}).all()
        got = sorted((account, kind, amount) for account, kind, amount in postings)
        if got != want[key]:
            report.problems.append(f"story {story.number} {key}: credits {got} != {want[key]}")
    debits = conn.execute(sa.text("SELECT sum(p.amount) FROM postings p JOIN journal_entries j ON j.id = p.entry_id "
                                  "WHERE j.reference = :i AND p.account = :a"),
                          {"i": invoice, "a": f"user:{client}:available"}).scalar()
    if debits != -(story.amount + story.client_fee):
        report.problems.append(f"story {story.number} invoice {invoice}: the client paid {debits}, "
                               f"not {-(story.amount + story.client_fee)}")


def _check_events(bus: BusObserver, stories: list[HourlyStory], report: Report) -> None:
    bus.check()
    for story in stories:
        if story.invoice_id is None:
            report.problems.append(f"story {story.number}: never invoiced")
            continue
        for type_ in ONCE:
            seen = bus.count(type_, invoice_id=story.invoice_id)
            if seen != 1:
                report.problems.append(f"story {story.number}: {seen} distinct {type_} events for invoice "
                                       f"{story.invoice_id} (one expected)")
        for type_ in NEVER:
            if bus.count(type_, invoice_id=story.invoice_id):
                report.problems.append(f"story {story.number}: a {type_} event for invoice {story.invoice_id}, "
                                       "which a released week must never see")
        exact = {
            "contracts.invoice.charge_requested": {"amount": story.amount, "billable_minutes": story.billable,
                                                   "hourly_rate": story.rate},
            "payments.invoice.charged": {"amount": story.amount, "client_fee": story.client_fee},
            "payments.invoice.released": {"amount": story.amount, "freelancer_fee": story.freelancer_fee},
        }
        for type_, match in exact.items():
            if bus.count(type_, invoice_id=story.invoice_id, **match) != 1:
                report.problems.append(f"story {story.number}: no {type_} for invoice {story.invoice_id} "
                                       f"with the model's cents {match}")
