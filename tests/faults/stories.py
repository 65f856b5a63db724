"""Hire-to-payout stories driven only over HTTP, as a client and a freelancer would, and the model they must match."""
from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from shared.ids import new_id
from tests.faults.suite import ADMIN_EMAIL, ADMIN_PASSWORD, Suite

CARD = "4242424242424242"
BANK = {"type": "bank_account", "account_number": "12345678", "routing_number": "110000000"}
PASSWORD = "faults-password-1"
SERVICE_OF = {"users": "users", "auth": "users", "jobs": "jobs", "contracts": "contracts", "payments": "payments",
              "reviews": "reviews"}
TRANSIENT = (requests.ConnectionError, requests.Timeout)


def fee(amount: int, bps: int) -> int:
    """fee = amount × bps / 10000, rounded half up to the cent (integers only)."""
    return (amount * bps * 2 + 10000) // 20000


class StoryFailed(AssertionError):
    pass


class Http:
    """Calls one of the suite's APIs, riding out restarts and outages: a connection error or a 5xx is tried again."""

    def __init__(self, suite: Suite, patience: float = 90):
        self.suite, self.patience = suite, patience

    def __call__(self, method: str, path: str, token: str | None = None, *, expect=(200,), key: str | None = None,
                 done=None, **kwargs):
        base = self.suite.url(SERVICE_OF[path.strip("/").split("/")[0].split("?")[0]])
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if key:
            headers["Idempotency-Key"] = key
        deadline, tried, last = time.monotonic() + self.patience, False, None
        while time.monotonic() < deadline:
            try:
                response = requests.request(method, base + path, headers=headers, timeout=15, **kwargs)
            except TRANSIENT as error:
                tried, last = True, repr(error)
                time.sleep(0.3)
                continue
            if response.status_code >= 500 or (
                    response.status_code == 409 and key and "still being processed" in response.text):
                tried, last = True, f"{response.status_code} {response.text[:200]}"
                time.sleep(0.3)
                continue
            if response.status_code in expect:
                return response.json() if response.content else {}
            # A retried action that did commit the first time meets its own result: ask whether it is done.
            if tried and response.status_code == 409 and done is not None and _holds(done):
                return None
            raise StoryFailed(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        raise StoryFailed(f"{method} {path} never answered in {self.patience:.0f}s (last: {last})")


def _holds(predicate) -> bool:
    try:
        return bool(predicate())
    except (StoryFailed, TypeError, KeyError):
        return False


@dataclass
class Party:
    token: str
    id: str


@dataclass
class Story:
    """One hire of one freelancer by one client; `kind` says how it must end.

    pay: funded, accepted, delivered, approved, released, paid out.  decline: the freelancer declines,
    the escrow is refunded.  poor: the client cannot cover the milestone and its fee, funding fails.
    """

    number: int
    kind: str
    amount: int
    deposit: int
    client: Party | None = None
    freelancer: Party | None = None
    job_id: str | None = None
    proposal_id: str | None = None
    contract_id: str | None = None
    milestone_id: str | None = None
    payout_id: str | None = None
    started: float | None = None
    ended: float | None = None
    outcome: str = "not started"
    error: str | None = None
    steps: list[str] = field(default_factory=list)
    withdrawn: int = 0  # paid out by a payout of the test's own before the story's


    @property
    def client_fee(self) -> int:
        return fee(self.amount, 500)

    @property
    def freelancer_fee(self) -> int:
        return fee(self.amount, 1000)

    @property
    def terminal(self) -> str:
        return {"pay": "completed", "decline": "compensated", "poor": "compensated"}[self.kind]

    def expected_balances(self) -> dict[str, dict]:
        """What the model says each party holds once the story has ended."""
        zero = {"available": 0, "pending": 0, "in_escrow": 0, "in_payout": 0}
        spent = self.amount + self.client_fee if self.kind == "pay" else 0
        return {"client": {**zero, "available": self.deposit - spent}, "freelancer": dict(zero)}

    @property
    def paid_out(self) -> int:
        """What the story's own payout sends: everything the freelancer earned, less earlier withdrawals."""
        return self.amount - self.freelancer_fee - self.withdrawn if self.kind == "pay" else 0

    @property
    def seconds(self) -> float | None:
        return None if self.ended is None or self.started is None else self.ended - self.started


def plan(count: int, seed: int, kinds=("pay", "pay", "pay", "decline", "poor")) -> list[Story]:
    """`count` stories: mostly paid out, some declined, some under-funded; amounts make fees round both ways."""
    rng = random.Random(seed)
    stories = []
    for number in range(count):
        kind = kinds[number % len(kinds)]
        amount = rng.randrange(1_000, 90_000) + rng.choice((0, 5, 10, 15))
        deposit = amount + fee(amount, 500) + rng.randrange(0, 5_000) if kind != "poor" else amount // 2
        stories.append(Story(number, kind, amount, max(deposit, 500)))
    return stories


class Driver:
    """Sets stories up (accounts, deposits, jobs, proposals) and then plays their sagas, each in its own thread."""

    def __init__(self, suite: Suite, wait: float = 120):
        self.suite = suite
        self.http = Http(suite)
        self.wait = wait
        self.tag = uuid.uuid4().hex[:8]

    def sign_up(self, label: str, roles: list[str]) -> Party:
        email = f"{label}-{self.tag}-{uuid.uuid4().hex[:6]}@example.com"
        # A 409 can only be this very request, committed before a crash took its answer: the email is new.
        self.http("POST", "/users", expect=(201,), json={"email": email, "password": PASSWORD, "name": label,
                                                           "roles": roles}, done=lambda: True)
        return Party(self.token(email, PASSWORD), self.http("GET", "/users/me", self.token(email, PASSWORD))["id"])

    def token(self, email: str, password: str) -> str:
        return self.http("POST", "/auth/token", expect=(200,), json={"email": email, "password": password})["access_token"]

    def admin(self) -> str:
        return self.token(ADMIN_EMAIL, ADMIN_PASSWORD)

    def set_up(self, story: Story) -> Story:
        http = self.http
        story.client = self.sign_up(f"client{story.number}", ["client"])
        story.freelancer = self.sign_up(f"freelancer{story.number}", ["freelancer"])
        http("POST", "/payments/deposits", story.client.token, expect=(201,), key=new_id(),
             json={"amount": story.deposit, "card_number": CARD})
        job = http("POST", "/jobs", story.client.token, expect=(201,), json={
            "title": f"Fault story {story.number}", "description": "A page that survives crashes.",
            "skills": ["python"], "budget_type": "fixed", "budget_amount": story.amount})
        proposal = http("POST", f"/jobs/{job['id']}/proposals", story.freelancer.token, expect=(201,), json={
            "cover_letter": "I have done this under fire.", "amount": story.amount, "estimated_days": 3},
            done=lambda: True)
        if proposal is None:  # it was made before a crash took the answer: the freelancer's only one
            proposal = http("GET", f"/jobs/{job['id']}/proposals", story.freelancer.token)["items"][0]
        story.job_id, story.proposal_id = job["id"], proposal["id"]
        return story

    # The sagas --------------------------------------------------------------------------

    def contract(self, story: Story) -> dict | None:
        try:
            return self.http("GET", f"/contracts/{story.contract_id}", story.client.token, expect=(200, 404)) or None
        except StoryFailed:
            return None

    def wait_contract(self, story: Story, what: str, predicate) -> dict:
        deadline = time.monotonic() + self.wait
        while time.monotonic() < deadline:
            contract = self.contract(story)
            if contract and contract.get("id") and predicate(contract):
                return contract
            time.sleep(0.25)
        raise StoryFailed(f"story {story.number}: contract {story.contract_id} never became {what} "
                          f"(last: {self.contract(story)})")

    def play(self, story: Story, before_payout: threading.Event | None = None) -> Story:
        http, client, freelancer = self.http, story.client, story.freelancer
        story.started = time.monotonic()
        story.outcome = "started"
        try:
            hired = http("POST", f"/jobs/{story.job_id}/proposals/{story.proposal_id}/hire", client.token,
                         expect=(202,), key=new_id(), json={})
            story.contract_id = hired["contract_id"]
            story.steps.append("hired")
            path = f"/contracts/{story.contract_id}"
            first = self.wait_contract(story, "offered or cancelled", lambda c: c["status"] in ("offered", "cancelled"))
            story.milestone_id = first["milestones"][0]["id"]
            if story.kind == "poor":
                assert first["status"] == "cancelled" and first["end_reason"] == "funding_failed", first
                story.outcome = "compensated"
                return story
            assert first["status"] == "offered", first
            story.steps.append("offered")
            if story.kind == "decline":
                http("POST", f"{path}/decline", freelancer.token, expect=(202,), json={},
                     done=lambda: self.contract(story)["status"] in ("cancelling", "cancelled"))
                ended = self.wait_contract(story, "cancelled", lambda c: c["status"] == "cancelled")
                assert ended["end_reason"] == "declined" and ended["milestones"][0]["status"] == "refunded", ended
                story.outcome = "compensated"
                return story
            milestone = f"{path}/milestones/{story.milestone_id}"
            http("POST", f"{path}/accept", freelancer.token, expect=(200,),
                 done=lambda: self.contract(story)["status"] == "active")
            http("POST", f"{milestone}/submit", freelancer.token, expect=(200,), json={"message": "Done."},
                 done=lambda: self.contract(story)["milestones"][0]["status"] != "funded")
            http("POST", f"{milestone}/approve", client.token, expect=(202,), key=new_id())
            story.steps.append("approved")
            done = self.wait_contract(story, "completed", lambda c: c["status"] == "completed")
            assert done["milestones"][0]["status"] == "released" and done["released_amount"] == story.amount, done
            story.steps.append("released")
            net = story.amount - story.freelancer_fee
            self.wait_balance(story.freelancer, lambda b: b["available"] == net,
                              f"story {story.number}: the freelancer's {net} never became available")
            story.steps.append("available")
            if before_payout is not None and not before_payout.wait(self.wait):
                raise StoryFailed(f"story {story.number}: never allowed to ask for its payout")
            payout = http("POST", "/payments/payouts", freelancer.token, expect=(202,), key=new_id(),
                          json={"amount": story.paid_out, "destination": BANK})
            story.payout_id = payout["id"]
            self.wait_payout(story)
            story.outcome = "completed"
            return story
        except BaseException as error:  # noqa: BLE001 - the report says which story stuck and why
            story.outcome, story.error = "stuck", f"{type(error).__name__}: {error}"
            return story
        finally:
            story.ended = time.monotonic()

    def wait_payout(self, story: Story) -> dict:
        deadline = time.monotonic() + self.wait
        while time.monotonic() < deadline:
            payout = self.http("GET", f"/payments/payouts/{story.payout_id}", story.freelancer.token)
            if payout["status"] != "pending":
                assert payout["status"] == "paid", payout
                return payout
            time.sleep(0.25)
        raise StoryFailed(f"story {story.number}: payout {story.payout_id} never settled")

    def balance(self, party: Party) -> dict:
        return self.http("GET", "/payments/balance", party.token)

    def wait_balance(self, party: Party, predicate, message: str) -> dict:
        deadline = time.monotonic() + self.wait
        while time.monotonic() < deadline:
            balance = self.balance(party)
            if predicate(balance):
                return balance
            time.sleep(0.25)
        raise StoryFailed(f"{message} (last: {self.balance(party)})")

    def play_all(self, stories: list[Story], stagger: float = 0.2,
                 before_payout: threading.Event | None = None) -> list[threading.Thread]:
        threads = []
        for story in stories:
            thread = threading.Thread(target=self.play, args=(story, before_payout), name=f"story-{story.number}",
                                      daemon=True)
            thread.start()
            threads.append(thread)
            time.sleep(stagger)
        return threads


class OnAContract:
    """What the hourly and dispute drivers share: each story's contract, as its client sees it."""

    kind = "contract"  # what the stories are, in a failure's message (each driver names its own)

    def __init__(self, driver: Driver):
        self.driver, self.http, self.wait = driver, driver.http, driver.wait
        self.admin_token = driver.admin()

    def contract(self, story) -> dict:
        """The contract as its client sees it; `{}` until contracts has made it from the hire."""
        return self.http("GET", f"/contracts/{story.contract_id}", story.client.token, expect=(200, 404))

    def wait_contract(self, story, what: str, predicate) -> dict:
        deadline = time.monotonic() + self.wait
        while time.monotonic() < deadline:
            contract = self.contract(story)
            if contract.get("id") and predicate(contract):
                return contract
            time.sleep(0.25)
        raise StoryFailed(f"{self.kind} story {story.number}: contract {story.contract_id} never {what} "
                          f"(last: {self.contract(story)})")


def part(balance: dict, like: dict) -> dict:
    """The balance's fields that `like` names."""
    return {key: balance[key] for key in like}
