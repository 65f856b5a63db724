"""`marketplace demo --dispute`: one fixed-price milestone disputed, mediated and split, told step by step.

Every step is somebody's move, so no window has to pass: the defaults do. The mediator is an admin,
who logs in with ADMIN_EMAIL/ADMIN_PASSWORD: start the marketplace with them set (users ensures the
account at start) or make the account with `marketplace create-admin`, and give the demo the same.
"""
from __future__ import annotations

from typing import Any

import click

from marketplace.demo import Client, DemoFailed, dollars, open_accounts, stepper, timeline, wait_for
from shared.ids import new_id

AMOUNT, ASKED, FREELANCER_SHARE = 100_000, 40_000, 70_000


def log_in_admin(base: str, email: str | None, password: str | None) -> Client:
    if not email or not password:
        raise DemoFailed("the mediator is an admin: set ADMIN_EMAIL and ADMIN_PASSWORD (or --admin-email and "
                         "--admin-password) to the account the marketplace was started with, or that "
                         "`marketplace create-admin` made")
    admin = Client(base, "Admin")
    token = admin.call("POST", "/auth/token", (200, 401), json={"email": email, "password": password})
    if "access_token" not in token:
        raise DemoFailed(f"the admin {email} cannot log in: was the marketplace started with this "
                         "ADMIN_EMAIL/ADMIN_PASSWORD (or the account made with `marketplace create-admin`)?")
    admin.headers = {"Authorization": f"Bearer {token['access_token']}"}
    return admin


def run(base: str, admin_email: str | None, admin_password: str | None) -> None:
    admin = log_in_admin(base, admin_email, admin_password)
    step = stepper()
    client, freelancer = open_accounts(base, step, 200_000)
    step(f"admin: {admin_email} logged in to mediate")
    job = client.call("POST", "/jobs", (201,), json={
        "title": "Redesign our checkout", "description": "A checkout that converts, on every screen size.",
        "skills": ["ux", "css"], "budget_type": "fixed", "budget_amount": AMOUNT})
    step(f"post: job {job['id']} '{job['title']}' for {dollars(job['budget_amount'])}")
    proposal = freelancer.call("POST", f"/jobs/{job['id']}/proposals", (201,), json={
        "cover_letter": "Checkouts are what I do.", "amount": AMOUNT, "estimated_days": 7})
    step(f"propose: {dollars(proposal['amount'])}")
    hired = client.call("POST", f"/jobs/{job['id']}/proposals/{proposal['id']}/hire", (202,),
                        headers={"Idempotency-Key": new_id()}, json={})
    path = f"/contracts/{hired['contract_id']}"
    step(f"hire: proposal {hired['status']}, contract {hired['contract_id']}")

    def contract_in(*states: str, milestone: bool = False):
        def probe():
            contract = client.call("GET", path, (200, 404))
            now = contract["milestones"][0]["status"] if milestone and contract.get("milestones") else contract.get(
                "status")
            return contract if now in states else None
        return probe

    contract: Any = wait_for("the contract to be funded and offered", contract_in("offered", "cancelled"))
    if contract["status"] != "offered":
        raise DemoFailed(f"the contract ended {contract['status']} ({contract.get('end_reason')})")
    milestone = contract["milestones"][0]
    escrow = client.call("GET", f"/payments/escrow/{contract['id']}", (200,))["milestones"][0]
    step(f"fund: milestone {dollars(milestone['amount'])} in escrow, client fee {dollars(escrow['client_fee'])} "
         "taken; contract offered")
    step(f"accept: contract {freelancer.call('POST', path + '/accept', (200,))['status']}")
    m_path = f"{path}/milestones/{milestone['id']}"
    submitted = freelancer.call("POST", f"{m_path}/submit", (200,), json={"message": "Done: see the staging link."})
    step(f"submit: milestone {submitted['status']}")

    request = client.call("POST", f"{m_path}/refund-requests", (201,), headers={"Idempotency-Key": new_id()},
                          json={"amount": ASKED, "reason": "The mobile layout was never done."})
    step(f"refund request: {dollars(request['amount'])} back asked, {request['status']} until {request['respond_by']}")
    dispute = freelancer.call("POST", f"{m_path}/refund-requests/{request['id']}/dispute", (201,),
                              json={"reason": "The mobile layout is on staging too."})
    d_path = f"{path}/disputes/{dispute['id']}"
    step(f"dispute: {dispute['id']} {dispute['status']}, the client answers by {dispute['respond_by']}")
    responded = client.call("POST", f"{d_path}/respond", (200,), json={"statement": "It breaks below 400 px."})
    step(f"respond: the client's statement is in; dispute in {responded['status']}")

    queue = admin.call("GET", "/contracts/disputes?status=mediation", (200,))["items"]
    if dispute["id"] not in [found["id"] for found in queue]:
        raise DemoFailed(f"dispute {dispute['id']} is not in the admins' queue")
    proposed = admin.call("POST", f"{d_path}/proposal", (200,), json={
        "freelancer_amount": FREELANCER_SHARE, "refund_amount": AMOUNT - FREELANCER_SHARE,
        "note": "Most of it is done; the mobile layout is not."})["proposal"]
    step(f"mediate: the admin proposes {dollars(proposed['freelancer_amount'])} to the freelancer, "
         f"{dollars(proposed['refund_amount'])} back to the client, to accept by {proposed['accept_by']}")
    client.call("POST", f"{d_path}/accept", (200,), json={"note": "Fair."})
    agreed = freelancer.call("POST", f"{d_path}/accept", (200,), json={"note": "Agreed."})
    step(f"agree: both accept; dispute {agreed['status']} ({agreed['resolution']})")

    contract = wait_for("the split (is the payments worker running?)", contract_in("split", milestone=True))
    shares = contract["milestones"][0]
    step(f"split: milestone {shares['status']}, {dollars(shares['freelancer_amount'])} released, "
         f"{dollars(shares['refund_amount'])} refunded; contract {contract['status']}")
    escrow = client.call("GET", f"/payments/escrow/{contract['id']}", (200,))["milestones"][0]
    paid = escrow["freelancer_amount"] - escrow["freelancer_fee"]
    refunded = escrow["refund_amount"] + escrow["client_fee_refund"]
    kept = escrow["freelancer_fee"] + escrow["client_fee"] - escrow["client_fee_refund"]
    step(f"freelancer: {dollars(escrow['freelancer_amount'])} less fee {dollars(escrow['freelancer_fee'])} = "
         f"{dollars(paid)} pending (held for PAYOUT_HOLD)")
    step(f"client: {dollars(escrow['refund_amount'])} and {dollars(escrow['client_fee_refund'])} of its fee back = "
         f"{dollars(refunded)}")
    step(f"platform: keeps {dollars(kept)} in fees ({dollars(escrow['freelancer_fee'])} + "
         f"{dollars(escrow['client_fee'] - escrow['client_fee_refund'])})")
    if paid + refunded + kept != escrow["amount"] + escrow["client_fee"]:
        raise DemoFailed(f"the split does not add up: {escrow}")

    mine = freelancer.call("GET", "/payments/balance", (200,))
    theirs = client.call("GET", "/payments/balance", (200,))
    step(f"balance: freelancer pending {dollars(mine['pending'])}, available {dollars(mine['available'])}; "
         f"client available {dollars(theirs['available'])}, in escrow {dollars(theirs['in_escrow'])}")
    books = admin.call("GET", "/payments/ledger/check", (200,))
    problems = [name for name in ("negative_accounts", "mismatched_accounts", "unbalanced_entries",
                                  "escrow_mismatches") if books[name]]
    if not books["balanced"] or problems:
        raise DemoFailed(f"the ledger check failed: {books}")
    step(f"ledger: balanced over {books['accounts']} accounts, nothing negative or mismatched; "
         f"platform fees {dollars(books['platform_fees'])} in all")
    step("done: funded, delivered, refund asked, disputed, mediated, agreed and split to the cent")
    lines = timeline(client, contract)
    step(f"timeline: contract {contract['id']}, {len(lines)} changes of status")
    for line in lines:
        click.echo(line)
