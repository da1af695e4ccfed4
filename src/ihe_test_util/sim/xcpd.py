"""XCPD Responding Gateway (ITI-55), synchronous mode: the PDQ matcher with XCPD's rules.

Name and birth time are required (ITI TF-2 3.55.4.1.2); identifiers in domains this community
does not know simply match nothing; each match names this community as custodian
(``assignedEntity/id/@root`` = homeCommunityId) with code NotHealthDataLocator.
The deferred response option (``respondTo``) is not supported.
"""

from __future__ import annotations

from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.pdq import QueryRules, answer
from ihe_test_util.transport.soap_server import SoapReply, SoapRequest

XCPD_RULES = QueryRules(
    strict_domains=False,
    required=("livingSubjectName", "livingSubjectBirthTime"),
    custodian_code=("NotHealthDataLocator", "1.3.6.1.4.1.19376.1.2.27.2"),
)


def discover(request: SoapRequest, ctx: ActorContext) -> SoapReply:
    body = answer(request.body, ctx, XCPD_RULES, custodian_root=ctx.identity.home_community_oid)
    return SoapReply(spec_for("ITI-55").response_action(), body)
