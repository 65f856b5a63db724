"""What messages reacts to: proposals open rooms, hires link them, suspensions close them; every saga
event of `notifying.KINDS` notifies its parties; timers attempt webhook deliveries and send e-mail."""
from __future__ import annotations

from services.messages import mail, notifying, rooms, webhooks
from services.messages.models import KnownContract, KnownReview
from shared.events import ACCOUNT_REINSTATED, ACCOUNT_SUSPENDED


def open_room(event, uow) -> None:
    """A proposal opens its room, awaiting the client's first word."""
    data = event.data
    if data["client_id"] is None:  # sent before jobs named the client: no room can be made for it
        return
    rooms.open_for_proposal(uow, proposal_id=data["proposal_id"], job_id=data["job_id"], job_title=data["job_title"],
                            client_id=data["client_id"], freelancer_id=data["freelancer_id"])


def learn_contract(event, uow) -> None:
    """Remember the contract's parties, for the events that name only the contract."""
    data = event.data
    if uow.session.get(KnownContract, data["contract_id"]) is None:
        uow.session.add(KnownContract(contract_id=data["contract_id"], job_id=data["job_id"],
                                      proposal_id=data["proposal_id"], client_id=data["client_id"],
                                      freelancer_id=data["freelancer_id"]))
        uow.session.flush()


def link_room(event, uow) -> None:
    """The hire's contract is the room's now; a hire also lets the freelancer write first."""
    learn_contract(event, uow)
    rooms.link_contract(uow, proposal_id=event.data["proposal_id"], contract_id=event.data["contract_id"],
                        opens=event.type == "jobs.hire.requested")


def learn_review(event, uow) -> None:
    data = event.data
    if uow.session.get(KnownReview, data["review_id"]) is None:
        uow.session.add(KnownReview(review_id=data["review_id"], contract_id=data["contract_id"],
                                    reviewee_id=data["reviewee_id"]))


def close_rooms(event, uow) -> None:
    """A suspended party's rooms become read-only."""
    rooms.party_suspended(uow, event.data["user_id"])


def reopen_rooms(event, uow) -> None:
    """A reinstated party's rooms reopen where the other party is in good standing too."""
    rooms.party_reinstated(uow, event.data["user_id"])


def remember_address(event, uow) -> None:
    """Where to e-mail a user: used only to send."""
    mail.remember_address(uow, event.data["user_id"], event.data["email"])


def _then_notify(*steps):
    """The steps of an event, then the notifications it makes, in one transaction."""

    def handle(event, uow) -> None:
        for step in steps:
            step(event, uow)
        notifying.from_event(uow, event)

    handle.__name__ = "_".join(step.__name__ for step in steps) or "notify"
    handle.__doc__ = " ".join(filter(None, (step.__doc__ for step in steps))) or "Notify the event's parties."
    return handle


OWN_STEPS = {
    "jobs.proposal.submitted": (open_room,),
    "jobs.hire.requested": (link_room,),
    "contracts.contract.created": (learn_contract,),
    "contracts.contract.offered": (link_room,),
    "contracts.contract.activated": (link_room,),
    "contracts.contract.cancelled": (learn_contract,),
    "reviews.review.submitted": (learn_review,),
    "users.user.registered": (remember_address,),
    ACCOUNT_SUSPENDED: (close_rooms,),
    ACCOUNT_REINSTATED: (reopen_rooms,),
}

HANDLERS = {event: _then_notify(*OWN_STEPS.get(event, ())) for event in {*OWN_STEPS, *notifying.BY_EVENT}}

TIMERS = {
    webhooks.ATTEMPT: webhooks.lease,
    mail.SEND: mail.lease,
    mail.REMIND_UNREAD: mail.remind,
}
