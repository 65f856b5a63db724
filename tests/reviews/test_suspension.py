"""A suspended party posts no review; reinstated, they may (within the window)."""
from __future__ import annotations

from tests.support import assert_suspended_refusal, reinstated, suspended


class TestSuspendedReviewer:
    def test_a_suspended_freelancers_token_cannot_post_a_review(self, reviews):
        contract = reviews.contract_ended()
        assert reviews.harness.deliver(suspended(contract.freelancer_id)).settled
        assert_suspended_refusal(reviews.submit(contract.freelancer_id, contract.id, comment="Great client"))
        assert reviews.published_events(contract.id) == []
        assert reviews.of_contract(contract.freelancer_id, contract.id).status_code == 200  # reads stay

    def test_the_other_party_still_reviews(self, reviews):
        contract = reviews.contract_ended()
        reviews.harness.deliver(suspended(contract.freelancer_id))
        reviews.reviewed(contract.client_id, contract.id, rating=1, comment="Vanished")

    def test_reinstated_they_may_review_again(self, reviews):
        contract = reviews.contract_ended()
        reviews.harness.deliver(suspended(contract.freelancer_id))
        assert reviews.harness.deliver(reinstated(contract.freelancer_id)).settled
        reviews.reviewed(contract.freelancer_id, contract.id)
