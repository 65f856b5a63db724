"""The reviews HTTP API: double-blind reviews of ended contracts, lists and rating summaries."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.reviews import reviewing
from services.reviews.models import Review
from services.reviews.schemas import ReviewIn, ReviewListArgs, ReviewOut, ReviewPage, SummaryOut
from shared.http import current_user, paginate, require, unit_of_work
from shared.http.auth import BEARER

reviews = Blueprint("reviews", __name__, url_prefix="/reviews", description="Double-blind reviews of ended contracts")


@reviews.post("")
@require()
@reviews.arguments(ReviewIn)
@reviews.response(201, ReviewOut)
def submit(body):
    """Review the other party of an ended contract; it stays hidden until both have reviewed or the window closes."""
    with unit_of_work() as uow:
        return reviewing.submit(uow, reviewer_id=current_user().id, **body), 201


@reviews.get("")
@reviews.arguments(ReviewListArgs, location="query")
@reviews.response(200, ReviewPage)
@reviews.doc(security=[{}, *BEARER])
def list_reviews(args):
    """Published reviews about a user (anyone), or a contract's reviews as its party may see them; newest first."""
    page = {"limit": args["limit"], "cursor": args["cursor"]}
    if "user_id" in args:
        with unit_of_work(readonly=True) as uow:
            return paginate(uow.session, reviewing.about_user(args["user_id"]), Review, **page)
    caller = current_user()
    with unit_of_work(readonly=True) as uow:
        return paginate(uow.session, reviewing.of_contract(uow.session, args["contract_id"], caller.id), Review, **page)


@reviews.get("/summary/<uuid:user_id>")
@reviews.response(200, SummaryOut)
def summary(user_id):
    """A user's average rating and number of reviews, over published reviews only."""
    with unit_of_work(readonly=True) as uow:
        return reviewing.summary(uow.session, str(user_id))
