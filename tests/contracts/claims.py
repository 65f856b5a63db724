"""The words claim stories are told in: refund requests, disputes and an admin, on top of the Desk's deals."""
from __future__ import annotations

from tests.contracts.helpers import Deal
from tests.support import new_id

ADMIN = new_id()


def submitted(desk, amounts=(10_000,)) -> Deal:
    deal = desk.active(amounts)
    assert deal.act(0, "submit", deal.freelancer, {"message": "Done"}).status_code == 200
    return deal


def ask_refund(deal: Deal, amount: int, index: int = 0, user_id: str | None = None, **headers):
    return deal.act(index, "refund-requests", user_id or deal.client, {"amount": amount, "reason": "Half done"},
                    **headers)


def on_request(deal: Deal, request_id: str, action: str, user_id: str, body: dict | None = None, index: int = 0):
    return deal.act(index, f"refund-requests/{request_id}/{action}", user_id, body)


def opened(deal: Deal, amount: int = 3_000, index: int = 0) -> dict:
    response = ask_refund(deal, amount, index)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def disputed(deal: Deal, amount: int = 3_000) -> dict:
    request = opened(deal, amount)
    response = on_request(deal, request["id"], "dispute", deal.freelancer, {"reason": "It is all done"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def on_dispute(deal: Deal, dispute_id: str, action: str, user_id: str, body: dict | None = None, roles=None):
    headers = deal.desk.headers(user_id, roles or ("client", "freelancer"))
    return deal.desk.http.post(f"/contracts/{deal.id}/disputes/{dispute_id}/{action}", json=body, headers=headers)


def as_admin(deal: Deal, dispute_id: str, action: str, body: dict | None = None):
    return on_dispute(deal, dispute_id, action, ADMIN, body, roles=("admin",))


def dispute(deal: Deal, dispute_id: str) -> dict:
    response = deal.desk.http.get(f"/contracts/{deal.id}/disputes/{dispute_id}", headers=deal.desk.headers(deal.client))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def split(deal: Deal, index: int, freelancer_amount: int, refund_amount: int):
    """payments' answer to a split request: the escrow went to both."""
    amount = deal.amount(index)
    return deal.event("payments.escrow.split", index, freelancer_amount=freelancer_amount,
                      refund_amount=refund_amount, freelancer_fee=freelancer_amount // 10,
                      client_fee_refund=amount * 5 // 100 - refund_amount * 5 // 100, available_at=None)
