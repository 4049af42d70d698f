"""Automation routes (API.md §6.1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from backend.deps import CurrentUser, SessionDep
from backend.jsonutil import JSONResponse
from backend.routing import JsonRoute
from backend.schemas.matching import GenerateMatchesIn, GenerateMatchesOut
from backend.services.entities import Actor
from backend.services.matching import generate_matches
from backend.services.matching.access import check_may_generate

router = APIRouter(prefix="/api/automation", tags=["automation"], route_class=JsonRoute)


@router.post("/generate-matches", response_model=GenerateMatchesOut, operation_id="automation_generate_matches")
def generate_matches_route(
    session: SessionDep, user: CurrentUser, body: Annotated[GenerateMatchesIn | None, Body()] = None
) -> Response:
    """Match buyers and renters to properties (DESIGN.md §Matching) and store the pairs as Match records.

    Without a body every open client is matched against every open property; `client_ids` and/or
    `property_ids` narrow the run (both given: those clients against those properties). Re-running
    updates scores and reasons, keeps a status an agent set, and removes pairs that no longer qualify
    only while they are still `new` and untouched; each client keeps at most MATCH_MAX_NEW_PER_SEEKER
    untouched new matches, the best. `dry_run` reports the same counts and writes nothing. `pairing`
    runs another pairing instead (`brokerage`: PropertyBrokerage × BuyersBrokerage → MatchesBrokerage,
    `renters`: × BuyersRenters → Matches); the ids are then that pairing's seekers and offers.
    """
    params = body or GenerateMatchesIn()
    check_may_generate(Actor.of(user), params.pairing)
    return JSONResponse(generate_matches(session, **params.model_dump()))
