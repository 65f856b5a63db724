"""Disputed milestones driven over HTTP to the edge of their split, the split fired, and what must hold after.

A dispute story is one contract of several milestones, each funded, handed in, asked back in part,
disputed, answered and put to mediation, then left one move short of its split: the freelancer's accept
of a proposal the client accepted (`agreed`), or an admin's decision after the freelancer rejected it
(`arbitrated`). `fire` makes that last move; the split then runs `split_requested` → payments →
`escrow.split` → contracts, which is where the faults go.
"""
from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import sqlalchemy as sa

from shared.ids import new_id
from tests.faults.bus import BusObserver
from tests.faults.stories import CARD, OnAContract, Party, StoryFailed, fee, part
from tests.faults.suite import Suite
from tests.faults.verdict import Report, close

CLIENT_BPS, FREELANCER_BPS = 500, 1000
# Each step of a disputed milestone's money happens once; a split never also releases or refunds it.
ONCE = ("contracts.milestone.funding_requested", "payments.escrow.funded", "contracts.milestone.split_requested",
        "payments.escrow.split")
NEVER = ("contracts.milestone.approved", "contracts.milestone.refund_requested", "payments.escrow.released",
         "payments.escrow.refunded", "payments.escrow.funding_failed")


@dataclass
class Claim:
    """One disputed milestone and the split it must end in."""

    amount: int
    asked: int  # what the client's refund request asked back
    refund: int  # what the resolution gives back to the client
    resolution: str  # agreed | arbitrated
    milestone_id: str | None = None
    dispute_id: str | None = None

    @property
    def released(self) -> int:  # R
        return self.amount - self.refund

    @property
    def client_fee(self) -> int:  # C, taken at funding
        return fee(self.amount, CLIENT_BPS)

    @property
    def freelancer_fee(self) -> int:  # F
        return fee(self.released, FREELANCER_BPS)

    @property
    def client_fee_refund(self) -> int:  # C − K
        return self.client_fee - min(self.client_fee, fee(self.released, CLIENT_BPS))

    @property
    def to_freelancer(self) -> int:
        return self.released - self.freelancer_fee

    @property
    def to_client(self) -> int:
        return self.refund + self.client_fee_refund

    @property
    def to_platform(self) -> int:
        return self.amount + self.client_fee - self.to_freelancer - self.to_client


@dataclass
class DisputeStory:
    number: int
    deposit: int
    claims: list[Claim]
    client: Party | None = None
    freelancer: Party | None = None
    contract_id: str | None = None
    steps: list[str] = field(default_factory=list)
    fired: float | None = None  # when its splits were asked for
    settled: float | None = None  # when its contract was seen completed

    @property
    def total(self) -> int:
        return sum(claim.amount for claim in self.claims)

    def expected_balances(self) -> dict[str, dict]:
        """Once every hold has ended: the freelancer has its shares, the client the rest of its deposit."""
        zero = {"available": 0, "pending": 0, "in_escrow": 0, "in_payout": 0}
        spent = sum(claim.amount + claim.client_fee - claim.to_client for claim in self.claims)
        return {"client": {**zero, "available": self.deposit - spent},
                "freelancer": {**zero, "available": sum(claim.to_freelancer for claim in self.claims)}}


def plan(count: int, milestones: int, seed: int) -> list[DisputeStory]:
    """`count` contracts of `milestones` disputed milestones; odd amounts, so fees round both ways."""
    rng = random.Random(seed)
    stories = []
    for number in range(count):
        claims = []
        for index in range(milestones):
            amount = rng.randrange(2_000, 60_000) + rng.choice((5, 15, 25, 35))
            asked = rng.randrange(amount // 4, amount - 100)
            refund = rng.randrange(1, asked)  # a share to each, never all to one side
            claims.append(Claim(amount, asked, refund, "agreed" if index % 2 == 0 else "arbitrated"))
        deposit = sum(claim.amount + claim.client_fee for claim in claims) + rng.randrange(0, 3_000)
        stories.append(DisputeStory(number, deposit, claims))
    return stories


class DisputeDriver(OnAContract):
    """Brings each story to the move before its split (all workers up), then fires the splits together."""

    kind = "dispute"

    def set_up(self, story: DisputeStory) -> DisputeStory:
        http, driver = self.http, self.driver
        story.client = driver.sign_up(f"dclient{story.number}", ["client"])
        story.freelancer = driver.sign_up(f"dfreelancer{story.number}", ["freelancer"])
        client, freelancer = story.client.token, story.freelancer.token
        http("POST", "/payments/deposits", client, expect=(201,), key=new_id(),
             json={"amount": story.deposit, "card_number": CARD})
        job = http("POST", "/jobs", client, expect=(201,), json={
            "title": f"Disputed story {story.number}", "description": "Work the parties will not agree on.",
            "skills": ["python"], "budget_type": "fixed", "budget_amount": story.total})
        proposal = http("POST", f"/jobs/{job['id']}/proposals", freelancer, expect=(201,), json={
            "cover_letter": "I will do all of it.", "amount": story.total, "estimated_days": 9})
        hired = http("POST", f"/jobs/{job['id']}/proposals/{proposal['id']}/hire", client, expect=(202,),
                     key=new_id(), json={"milestones": [{"title": f"Part {i + 1}", "amount": claim.amount}
                                                         for i, claim in enumerate(story.claims)]})
        story.contract_id = hired["contract_id"]
        path = f"/contracts/{story.contract_id}"
        offered = self.wait_contract(story, "offered", lambda c: c.get("status") == "offered")
        for claim, milestone in zip(story.claims, offered["milestones"]):
            assert milestone["amount"] == claim.amount, (claim, milestone)
            claim.milestone_id = milestone["id"]
        http("POST", f"{path}/accept", freelancer)
        for claim in story.claims[1:]:
            http("POST", f"{path}/milestones/{claim.milestone_id}/fund", client, expect=(202,), key=new_id())
        self.wait_contract(story, "funded every milestone",
                           lambda c: all(m["status"] == "funded" for m in c["milestones"]))
        story.steps.append("funded")
        for claim in story.claims:
            self._to_the_brink(story, claim)
        story.steps.append("at the brink")
        return story

    def set_up_all(self, stories: list[DisputeStory]) -> list[DisputeStory]:
        with ThreadPoolExecutor(max_workers=len(stories)) as pool:
            return list(pool.map(self.set_up, stories))

    def _to_the_brink(self, story: DisputeStory, claim: Claim) -> None:
        http, client, freelancer = self.http, story.client.token, story.freelancer.token
        milestone = f"/contracts/{story.contract_id}/milestones/{claim.milestone_id}"
        http("POST", f"{milestone}/submit", freelancer, json={"message": "Handed in."})
        request = http("POST", f"{milestone}/refund-requests", client, expect=(201,), key=new_id(),
                       json={"amount": claim.asked, "reason": "Part of it is missing."})
        dispute = http("POST", f"{milestone}/refund-requests/{request['id']}/dispute", freelancer, expect=(201,),
                       json={"reason": "All of it is there."})
        claim.dispute_id = dispute["id"]
        path = f"/contracts/{story.contract_id}/disputes/{claim.dispute_id}"
        http("POST", f"{path}/respond", client, json={"statement": "It is not."})
        http("POST", f"{path}/proposal", self.admin_token, json={
            "freelancer_amount": claim.released if claim.resolution == "agreed" else claim.amount - claim.asked,
            "refund_amount": claim.refund if claim.resolution == "agreed" else claim.asked, "note": "A middle way."})
        if claim.resolution == "agreed":
            http("POST", f"{path}/accept", client, json={})
        else:
            escalated = http("POST", f"{path}/reject", freelancer, json={"note": "Not enough."})
            assert escalated["status"] == "arbitration", escalated

    def fire(self, story: DisputeStory, claim: Claim) -> dict:
        """The move that resolves the dispute with money and asks payments for the split."""
        path = f"/contracts/{story.contract_id}/disputes/{claim.dispute_id}"
        if claim.resolution == "agreed":
            resolved = self.http("POST", f"{path}/accept", story.freelancer.token, json={})
        else:
            resolved = self.http("POST", f"{path}/decision", self.admin_token, json={
                "freelancer_amount": claim.released, "refund_amount": claim.refund, "note": "Decided."})
        assert (resolved["status"], resolved["resolution"], resolved["refund_amount"]) == (
            "resolved", claim.resolution, claim.refund), resolved
        return resolved

    def fire_all(self, stories: list[DisputeStory]) -> None:
        moves = [(story, claim) for story in stories for claim in story.claims]
        for story in stories:
            story.fired = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(moves)) as pool:
            list(pool.map(lambda move: self.fire(*move), moves))
        for story in stories:
            story.steps.append("fired")

    def settled(self, story: DisputeStory) -> bool:
        return self.contract(story)["status"] == "completed"


def judge(scenario: str, suite: Suite, disputes: DisputeDriver, bus: BusObserver, stories: list[DisputeStory], *,
          faults: list[str], tmp_path) -> Report:
    """Every guarantee of a split, checked once the load has settled; the caller asserts no problems."""
    claims = [claim for story in stories for claim in story.claims]
    report = Report(scenario, faults=faults, started=len(claims))
    for story in stories:
        try:
            disputes.wait_contract(story, "completed", lambda c: c["status"] == "completed")
            story.settled = time.monotonic()
            story.steps.append("completed")
        except StoryFailed as error:
            report.stuck_stories.append(f"#{story.number} after {story.steps}: {error}")
    _check_contracts(disputes, stories, report)
    _check_money(suite, disputes, stories, report)
    suite.wait_published(bus)
    _check_events(bus, stories, report)
    report.completed = sum(claim_done for claim_done in _done_claims(disputes, stories))
    report.stuck = len(claims) - report.completed
    report.slowest_saga_seconds = max((story.settled - story.fired for story in stories
                                       if story.settled is not None and story.fired is not None), default=0.0)
    return close(report, suite, bus, tmp_path)


def _done_claims(disputes: DisputeDriver, stories: list[DisputeStory]) -> list[bool]:
    done = []
    for story in stories:
        by_id = {m["id"]: m for m in disputes.contract(story)["milestones"]}
        done += [by_id[claim.milestone_id]["status"] == "split" for claim in story.claims]
    return done


def _check_contracts(disputes: DisputeDriver, stories: list[DisputeStory], report: Report) -> None:
    """contracts: each milestone split with its gross shares, each dispute resolved as decided, the contract done."""
    for story in stories:
        contract = disputes.contract(story)
        if contract["status"] != "completed" or contract["released_amount"] != sum(c.released for c in story.claims):
            report.problems.append(f"story {story.number}: contract {contract['status']}, released "
                                   f"{contract['released_amount']} (model: completed, "
                                   f"{sum(c.released for c in story.claims)})")
        by_id = {m["id"]: m for m in contract["milestones"]}
        for claim in story.claims:
            milestone = by_id[claim.milestone_id]
            got = (milestone["status"], milestone["freelancer_amount"], milestone["refund_amount"])
            if got != ("split", claim.released, claim.refund):
                report.problems.append(f"story {story.number} milestone {claim.milestone_id}: {got} != model "
                                       f"{('split', claim.released, claim.refund)}")
            dispute = disputes.http("GET", f"/contracts/{story.contract_id}/disputes/{claim.dispute_id}",
                                    story.client.token)
            got = (dispute["status"], dispute["resolution"], dispute["freelancer_amount"], dispute["refund_amount"])
            if got != ("resolved", claim.resolution, claim.released, claim.refund):
                report.problems.append(f"story {story.number} dispute {claim.dispute_id}: {got}")


def _check_money(suite: Suite, disputes: DisputeDriver, stories: list[DisputeStory], report: Report) -> None:
    """payments: one journal entry per split with the model's cents for all three, the balances, the books."""
    engine = sa.create_engine(suite.database_url("payments", direct=True), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            for story in stories:
                for claim in story.claims:
                    _check_split(conn, story, claim, report)
    finally:
        engine.dispose()
    for story in stories:
        escrow = disputes.http("GET", f"/payments/escrow/{story.contract_id}", story.client.token)
        if escrow["held_amount"] != 0:
            report.problems.append(f"story {story.number}: {escrow['held_amount']} still held in escrow")
        by_id = {entry["milestone_id"]: entry for entry in escrow["milestones"]}
        for claim in story.claims:
            entry = by_id[claim.milestone_id]
            got = {key: entry[key] for key in ("status", "client_fee", "freelancer_fee", "freelancer_amount",
                                               "refund_amount", "client_fee_refund")}
            want = {"status": "split", "client_fee": claim.client_fee, "freelancer_fee": claim.freelancer_fee,
                    "freelancer_amount": claim.released, "refund_amount": claim.refund,
                    "client_fee_refund": claim.client_fee_refund}
            if got != want:
                report.problems.append(f"story {story.number} escrow of {claim.milestone_id}: {got} != model {want}")
        expected = story.expected_balances()
        for side, party in (("client", story.client), ("freelancer", story.freelancer)):
            # The freelancer's shares leave `pending` once PAYOUT_HOLD has passed: waited for, then exact.
            try:
                disputes.driver.wait_balance(party, lambda b, want=expected[side]: part(b, want) == want, "")
            except StoryFailed:
                pass
            got = part(disputes.driver.balance(party), expected[side])
            if got != expected[side]:
                report.problems.append(f"story {story.number} {side} balance {got} != model {expected[side]}")
    check = disputes.http("GET", "/payments/ledger/check", disputes.admin_token)
    fees = sum(claim.to_platform for story in stories for claim in story.claims)
    if (not check["balanced"] or check["total"] != 0 or check["negative_accounts"] or check["mismatched_accounts"]
            or check["unbalanced_entries"] or check["escrow_mismatches"] or check["platform_fees"] != fees):
        report.problems.append(f"ledger check (platform fees expected {fees}): {check}")


def _check_split(conn, story: DisputeStory, claim: Claim, report: Report) -> None:
    entries = conn.execute(sa.text("SELECT id, key FROM journal_entries WHERE kind = 'escrow_split' "
                                   "AND reference = :m"), {"m": claim.milestone_id}).all()
    if [key for _, key in entries] != [f"escrow-split:{claim.milestone_id}"]:
        report.problems.append(f"story {story.number} milestone {claim.milestone_id}: split journal entries "
                               f"{[key for _, key in entries]} (exactly one expected)")
        return
    postings = conn.execute(sa.text("SELECT account, kind, amount FROM postings WHERE entry_id = :e AND amount > 0"),
                            {"e": entries[0][0]}).all()
    got = sorted((account, kind, amount) for account, kind, amount in postings)
    want = sorted(credit for credit in [
        (f"user:{story.freelancer.id}:pending", "escrow_release", claim.to_freelancer),
        ("platform:fees", "freelancer_fee", claim.freelancer_fee),
        (f"user:{story.client.id}:available", "escrow_refund", claim.refund),
        (f"user:{story.client.id}:available", "client_fee_refund", claim.client_fee_refund)] if credit[2])  # zeros skipped
    if got != want:
        report.problems.append(f"story {story.number} milestone {claim.milestone_id}: split credits {got} != {want}")


def _check_events(bus: BusObserver, stories: list[DisputeStory], report: Report) -> None:
    bus.check()
    for story in stories:
        for claim in story.claims:
            for type_ in ONCE:
                seen = bus.count(type_, milestone_id=claim.milestone_id)
                if seen != 1:
                    report.problems.append(f"story {story.number}: {seen} distinct {type_} events for milestone "
                                           f"{claim.milestone_id} (one expected)")
            for type_ in NEVER:
                if bus.count(type_, milestone_id=claim.milestone_id):
                    report.problems.append(f"story {story.number}: a {type_} event for milestone "
                                           f"{claim.milestone_id}, which a split must never see")
            split = bus.count("payments.escrow.split", milestone_id=claim.milestone_id,
                              freelancer_amount=claim.released, refund_amount=claim.refund,
                              freelancer_fee=claim.freelancer_fee, client_fee_refund=claim.client_fee_refund)
            if split != 1:
                report.problems.append(f"story {story.number}: no payments.escrow.split for milestone "
                                       f"{claim.milestone_id} with the model's cents")
        completed = bus.count("contracts.contract.completed", contract_id=story.contract_id)
        if completed != 1:
            report.problems.append(f"story {story.number}: {completed} contracts.contract.completed events")
