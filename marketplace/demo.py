"""`marketplace demo`: one complete story, told step by step against a running marketplace."""
from __future__ import annotations

import time
from typing import Callable

import click
import requests

from shared.ids import new_id


class DemoFailed(click.ClickException):
    pass


class Client:
    def __init__(self, base: str, label: str):
        self.base, self.label, self.headers = base, label, {}

    def call(self, method: str, path: str, expect: tuple[int, ...], headers: dict | None = None, **kwargs) -> dict:
        try:
            response = requests.request(method, self.base + path, headers={**self.headers, **(headers or {})},
                                        timeout=30, **kwargs)
        except requests.RequestException as error:
            raise DemoFailed(f"{method} {path}: {self.base} does not answer ({error.__class__.__name__}); "
                             "is the marketplace running (make run)?") from None
        if response.status_code not in expect:
            raise DemoFailed(f"{self.label}: {method} {path} answered {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else {}

    def sign_up(self, roles: list[str]) -> dict:
        email = f"{self.label.lower()}-{new_id()[:8]}@example.com"
        user = self.call("POST", "/users", (201,), json={"email": email, "password": "demo-password-1",
                                                         "name": self.label, "roles": roles})
        token = self.call("POST", "/auth/token", (200,), json={"email": email, "password": "demo-password-1"})
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}
        return user


def wait_for(what: str, probe: Callable[[], object], timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.25)
    raise DemoFailed(f"timed out after {timeout:.0f}s waiting for {what}")


def _wait_for_hold(freelancer: Client, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        balance = freelancer.call("GET", "/payments/balance", (200,))
        if balance["available"] > 0 or time.monotonic() > deadline:
            return balance
        time.sleep(0.5)


def dollars(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def timeline(client: Client, contract) -> list[str]:
    """The contract's timeline, one line a change: when, what, from and to, who or what acted, the money."""
    milestones = {m["id"]: f"milestone {i + 1}" for i, m in enumerate(contract["milestones"])}
    entries, cursor = [], ""
    while True:
        page = client.call("GET", f"/contracts/{contract['id']}/timeline?limit=100{cursor}", (200,))
        entries += page["items"]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    lines = []
    for entry in entries:
        what = milestones.get(entry["milestone_id"], "milestone") if entry["milestone_id"] else "contract"
        actor = entry["actor"]
        money = ", ".join(f"{name} {dollars(value) if isinstance(value, int) else value}"
                          for name, value in entry["money"].items())
        lines.append(f"  {entry['at'][11:23]}  {what:<11} {entry['from_status'] or '(new)':>17} -> "
                     f"{entry['to_status']:<16} by {actor['kind']} {actor['id'] or ''}{'  ' + money if money else ''}")
    return lines


def stepper() -> Callable[[str], None]:
    """`step(text)`: one line of the story, stamped with the seconds since it began."""
    started = time.monotonic()

    def step(text: str) -> None:
        click.echo(f"[{time.monotonic() - started:6.2f}s] {text}")

    return step


def open_accounts(base: str, step: Callable[[str], None], deposit: int) -> tuple[Client, Client]:
    """Every story begins so: a client and a freelancer sign up, and the client deposits `deposit` cents."""
    client, freelancer = Client(base, "Client"), Client(base, "Freelancer")
    step(f"register: client {client.sign_up(['client'])['id']}")
    step(f"register: freelancer {freelancer.sign_up(['freelancer'])['id']}")
    made = client.call("POST", "/payments/deposits", (201,), json={"amount": deposit, "card_number": "4242424242424242"},
                       headers={"Idempotency-Key": new_id()})
    step(f"deposit: {dollars(made['amount'])} by card, {made['status']}")
    return client, freelancer


def run(base: str, hold_wait: float) -> None:
    step = stepper()
    client, freelancer = open_accounts(base, step, 200000)
    job = client.call("POST", "/jobs", (201,), json={
        "title": "Build a landing page", "description": "A fast, accessible landing page for our product.",
        "skills": ["html", "css"], "budget_type": "fixed", "budget_amount": 100000})
    step(f"post: job {job['id']} '{job['title']}' for {dollars(job['budget_amount'])}")
    proposal = freelancer.call("POST", f"/jobs/{job['id']}/proposals", (201,), json={
        "cover_letter": "I have built many of these.", "amount": 100000, "estimated_days": 5})
    step(f"propose: {dollars(proposal['amount'])}")
    room = wait_for("the proposal's room", lambda: client.call("GET", f"/rooms?proposal_id={proposal['id']}",
                                                               (200,))["items"])[0]
    client.call("POST", f"/rooms/{room['id']}/messages", (201,), json={"body": "Can you start on Monday?"},
                headers={"Idempotency-Key": new_id()})
    reply = freelancer.call("POST", f"/rooms/{room['id']}/messages", (201,), json={"body": "Yes, Monday works."},
                            headers={"Idempotency-Key": new_id()})
    step(f"message: room {room['id']}, the client asks and the freelancer answers (message {reply['seq']})")
    hired = client.call("POST", f"/jobs/{job['id']}/proposals/{proposal['id']}/hire", (202,),
                        headers={"Idempotency-Key": new_id()}, json={})
    contract_path = f"/contracts/{hired['contract_id']}"
    step(f"hire: proposal {hired['status']}, contract {hired['contract_id']}")

    def contract_in(*states: str):
        def probe():
            contract = client.call("GET", contract_path, (200, 404))
            return contract if contract.get("status") in states else None
        return probe

    contract = wait_for("the contract to be funded and offered", contract_in("offered", "cancelled"))
    if contract["status"] != "offered":
        raise DemoFailed(f"the contract ended {contract['status']} ({contract.get('end_reason')})")
    milestone = contract["milestones"][0]
    step(f"fund: milestone {dollars(milestone['amount'])} in escrow; contract offered")
    step(f"accept: contract {freelancer.call('POST', contract_path + '/accept', (200,))['status']}")
    submitted = freelancer.call("POST", f"{contract_path}/milestones/{milestone['id']}/submit", (200,),
                                json={"message": "Done: see the staging link."})
    step(f"submit: milestone {submitted['status']}")
    approved = client.call("POST", f"{contract_path}/milestones/{milestone['id']}/approve", (202,),
                           headers={"Idempotency-Key": new_id()})
    step(f"approve: milestone {approved['status']}")
    contract = wait_for("the release", contract_in("completed"))
    step(f"release: {dollars(contract['released_amount'])} released; contract {contract['status']}")
    balance = freelancer.call("GET", "/payments/balance", (200,))
    step(f"balance: freelancer available {dollars(balance['available'])}, pending {dollars(balance['pending'])}")
    if balance["available"] == 0:
        balance = _wait_for_hold(freelancer, hold_wait)
    if balance["available"] == 0:
        step(f"payout: skipped, {dollars(balance['pending'])} is still in its security hold "
             "(start the marketplace with PAYOUT_HOLD=10s to see it paid out)")
    else:
        payout = freelancer.call("POST", "/payments/payouts", (202,), json={
            "amount": balance["available"], "destination": {"type": "bank_account", "account_number": "12345678",
                                                            "routing_number": "110000000"}},
            headers={"Idempotency-Key": new_id()})
        payout = wait_for("the payout to settle", lambda: (lambda p: p if p["status"] != "pending" else None)(
            freelancer.call("GET", f"/payments/payouts/{payout['id']}", (200,))))
        step(f"payout: {dollars(payout['amount'])} to {payout['destination']['account_number']}, {payout['status']}")
    client.call("POST", "/reviews", (201,), json={"contract_id": contract["id"], "rating": 5, "comment": "Great work."})
    freelancer.call("POST", "/reviews", (201,), json={"contract_id": contract["id"], "rating": 5, "comment": "Clear brief."})
    reviews = wait_for("both reviews to be published", lambda: (lambda page: page if page["items"] and all(
        r["status"] == "published" for r in page["items"]) and len(page["items"]) == 2 else None)(
        client.call("GET", f"/reviews?contract_id={contract['id']}", (200,))))
    step(f"review: {len(reviews['items'])} reviews published, both 5 stars")
    room = client.call("GET", f"/rooms/{room['id']}", (200,))
    step(f"room: {room['status']}, contract {room['contract_id']}, {room['unread_count']} unread for the client")
    told = wait_for("the freelancer's notifications", lambda: (lambda page: page if len(page["items"]) >= 5 else None)(
        freelancer.call("GET", "/notifications?limit=50", (200,))))
    kinds = [notification["kind"] for notification in told["items"]]  # type: ignore[index]
    step(f"notify: the freelancer was told {len(kinds)} times ({', '.join(sorted(set(kinds)))})")
    step("done: talked, hired, funded, delivered, released, paid out, reviewed and told of every step")
    lines = timeline(client, contract)
    step(f"timeline: contract {contract['id']}, {len(lines)} changes of status")
    for line in lines:
        click.echo(line)
