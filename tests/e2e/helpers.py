"""`Market`: the jobs, contracts and payments APIs side by side, used the way a client and a freelancer would."""
from __future__ import annotations

from tests.support import Harness, eventually, new_id

CARD = "4242424242424242"


class Market:
    def __init__(self, jobs: Harness, contracts: Harness, payments: Harness):
        self.services = {"jobs": jobs, "contracts": contracts, "payments": payments}
        self.client_id, self.freelancer_id, self.admin_id = new_id(), new_id(), new_id()

    def _call(self, method: str, path: str, user_id: str, roles, body=None, expect: int | None = None):
        service = self.services[path.strip("/").split("/")[0]]
        response = service.client.open(path, method=method, json=body, headers=service.headers(user_id, roles))
        if expect is not None:
            assert response.status_code == expect, (path, response.status_code, response.get_json())
        return response.get_json()

    def as_client(self, method: str, path: str, body=None, expect: int | None = None):
        return self._call(method, path, self.client_id, ("client",), body, expect)

    def as_freelancer(self, method: str, path: str, body=None, expect: int | None = None):
        return self._call(method, path, self.freelancer_id, ("freelancer",), body, expect)

    def as_admin(self, method: str, path: str, expect: int | None = None):
        return self._call(method, path, self.admin_id, ("admin",), None, expect)

    def deposit(self, amount: int) -> dict:
        return self.as_client("POST", "/payments/deposits", {"amount": amount, "card_number": CARD}, expect=201)

    def balance(self, user_id: str) -> dict:
        return self._call("GET", "/payments/balance", user_id, ("client", "freelancer"), expect=200)

    def proposal_to_hire(self, amount: int = 10_000) -> tuple[dict, dict]:
        """A job posted by the client and the freelancer's proposal on it."""
        job = self.as_client("POST", "/jobs", {
            "title": "Build a landing page", "description": "One page, responsive.", "skills": ["HTML"],
            "budget_type": "fixed", "budget_amount": amount}, expect=201)
        proposal = self.as_freelancer("POST", f"/jobs/{job['id']}/proposals", {
            "cover_letter": "I have built many.", "amount": amount, "estimated_days": 5}, expect=201)
        return job, proposal

    def hire(self, job: dict, proposal: dict, body: dict | None = None) -> dict:
        return self.as_client("POST", f"/jobs/{job['id']}/proposals/{proposal['id']}/hire", body or {}, expect=202)

    def contract(self, contract_id: str) -> dict | None:
        response = self.services["contracts"].client.get(
            f"/contracts/{contract_id}", headers=self.services["contracts"].headers(self.client_id, ("client",)))
        return response.get_json() if response.status_code == 200 else None

    def wait_for(self, contract_id: str, status: str, index: int | None = None, timeout: float = 20) -> dict:
        def reached():
            contract = self.contract(contract_id)
            if contract is None:
                return None
            current = contract["status"] if index is None else contract["milestones"][index]["status"]
            return contract if current == status else None

        return eventually(reached, timeout, message=f"contract {contract_id} never became {status}")

    def proposal(self, job: dict, proposal: dict) -> dict:
        return self.as_client("GET", f"/jobs/{job['id']}/proposals/{proposal['id']}", expect=200)

    def wait_proposal(self, job: dict, proposal: dict, status: str, timeout: float = 20) -> dict:
        return eventually(lambda: (found := self.proposal(job, proposal))["status"] == status and found,
                          timeout, message=f"proposal {proposal['id']} never became {status}")

    def books_balance(self) -> dict:
        report = self.as_admin("GET", "/payments/ledger/check", expect=200)
        assert report["balanced"] and not report["negative_accounts"], report
        return report
