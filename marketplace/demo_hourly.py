"""`marketplace demo --hourly`: one hourly week, told step by step against a running marketplace.

Start the marketplace with a compressed week to watch it in a minute, for example
`BILLING_PERIOD=20s TIMESHEET_EDIT_WINDOW=5s INVOICE_REVIEW_WINDOW=5s PAYOUT_HOLD=5s`.
"""
from __future__ import annotations

import time
from typing import Any


from marketplace.demo import DemoFailed, dollars, open_accounts, stepper, wait_for
from shared.ids import new_id

RATE, LIMIT_HOURS = 6_000, 2
LOGGED = ((60, "Patched the web servers"), (45, "Rotated the certificates"), (30, "Wrote the runbook"))


def run(base: str, week_wait: float) -> None:
    step = stepper()
    client, freelancer = open_accounts(base, step, 50_000)
    job = client.call("POST", "/jobs", (201,), json={
        "title": "Keep our servers patched", "description": "A few hours of upkeep every week.",
        "skills": ["linux"], "budget_type": "hourly", "hourly_rate_max": 10_000})
    step(f"post: hourly job {job['id']} up to {dollars(job['hourly_rate_max'])}/h")
    proposal = freelancer.call("POST", f"/jobs/{job['id']}/proposals", (201,), json={
        "cover_letter": "I look after fleets like yours.", "rate": RATE})
    step(f"propose: {dollars(proposal['rate'])}/h")
    hired = client.call("POST", f"/jobs/{job['id']}/proposals/{proposal['id']}/hire", (202,),
                        headers={"Idempotency-Key": new_id()}, json={"weekly_limit_hours": LIMIT_HOURS})
    path = f"/contracts/{hired['contract_id']}"
    step(f"hire: weekly limit {LIMIT_HOURS}h, contract {hired['contract_id']} (no money up front)")
    wait_for("the offer", lambda: client.call("GET", path, (200, 404)).get("status") == "offered")
    step(f"accept: contract {freelancer.call('POST', path + '/accept', (200,))['status']}")

    first: dict = {}
    for minutes, memo in LOGGED:
        body = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "minutes": minutes, "memo": memo}
        if first:
            body["period_start"] = first["period_start"]
        entry = freelancer.call("POST", f"{path}/time-entries", (201,), json=body, headers={"Idempotency-Key": new_id()})
        first = first or entry
        step(f"log: {minutes} min '{memo}'")
    sheet = client.call("GET", f"{path}/timesheets/{first['period_start']}", (200,))
    step(f"timesheet: {sheet['total_minutes']} min logged, {sheet['billable_minutes']} billable "
         f"(limit {sheet['limit_minutes']}), {dollars(sheet['amount'])}; edits until {sheet['edit_until']}")

    def invoice_in(*states: str):
        def probe():
            found = client.call("GET", f"{path}/invoices", (200,))["items"]
            return found[0] if found and found[0]["status"] in states else None
        return probe

    invoice: Any = wait_for("the timesheet to close and the invoice to be charged (is BILLING_PERIOD short?)",
                       invoice_in("in_review", "payment_failed"), week_wait)
    if invoice["status"] != "in_review":
        raise DemoFailed(f"the invoice could not be charged: {invoice['last_error']}")
    step(f"invoice: {dollars(invoice['amount'])} + client fee {dollars(invoice['client_fee'])} charged, "
         f"in review until {invoice['review_ends_at']}")
    escrow = client.call("GET", f"/payments/escrow/{hired['contract_id']}", (200,))
    step(f"escrow: {dollars(escrow['held_amount'])} held for the invoice")
    invoice = wait_for("the review window to end and the release", invoice_in("released"), week_wait)
    step(f"release: {dollars(invoice['freelancer_amount'])} less fee {dollars(invoice['freelancer_fee'])} "
         f"to the freelancer, available at {invoice['available_at']}")
    balance: Any = wait_for("the payout hold to end", lambda: (lambda b: b if b["available"] > 0 else None)(
        freelancer.call("GET", "/payments/balance", (200,))), week_wait)
    step(f"balance: freelancer available {dollars(balance['available'])}")
    step("done: hired by the hour, logged, invoiced, charged, reviewed and paid")
