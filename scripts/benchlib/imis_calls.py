"""iMIS subrequests per flow, counted in the emulator's request log: a member who has just signed
in opens a SAML app and an OIDC client that both ask for a Profile and a Role IQA, first (iMIS is
asked) and then again within the tenant's freshness window (the answers remembered with the
session: iMIS is not asked at all)."""
from __future__ import annotations

import requests

from .members import handoff_form, sign_in_page, submit_handoff
from .oidc import OidcBrowser
from .report import Report
from .saml import authn_request_query
from .tokens import RP_BASIC, RP_REDIRECT, TokenTarget


def signed_in_member(stack) -> requests.Session:
    """A browser that signed in to acme directly (no app yet): its session has no IQA answers."""
    s = requests.Session()
    s.verify = False
    r = submit_handoff(stack, s, *handoff_form(sign_in_page(stack, s, "/signin?return=/")))
    assert r.status_code == 303, f"sign-in answered {r.status_code}: {r.text[:300]}"
    return s


def imis_requests(stack, flow) -> list[str]:
    """What iMIS was asked while `flow()` ran: `token` grants and `api` calls (IQA named)."""
    requests.delete(f"{stack.imis_origin}/__emulator/requests", timeout=10)
    flow()
    log = requests.get(f"{stack.imis_origin}/__emulator/requests", timeout=10).json()
    return [e.get("query_name") or e.get("grant_type") or e.get("entity") or e["endpoint"]
            for e in log if e.get("endpoint") in ("token", "api")]


def saml_sso(stack, s: requests.Session) -> None:
    r = s.get(stack.url("acme.localhost", authn_request_query(stack, "demo-sp", stack.sp_origin)),
              allow_redirects=False, timeout=30, verify=False)
    assert r.status_code == 200 and "SAMLResponse" in r.text, f"SSO answered {r.status_code}: {r.text[:300]}"


def code_to_token(stack, s: requests.Session) -> None:
    code = OidcBrowser(stack, s).codes("demo-rp", RP_REDIRECT, 1)[0]
    target = TokenTarget(stack.idp_port, "acme.localhost", "/oidc/token", RP_BASIC, RP_REDIRECT)
    status = target.post(target.conn(), code)
    assert status == 200, f"token endpoint answered {status}"


def imis_calls(stack, report: Report) -> None:
    r = stack.runtime
    for name, flow in (("SAML SSO", saml_sso), ("OIDC code -> token", code_to_token)):
        s = signed_in_member(stack)
        first = imis_requests(stack, lambda: flow(stack, s))
        repeat = imis_requests(stack, lambda: flow(stack, s))
        report.line("imis", f"{r:7} {name:20} iMIS calls: first {len(first)} {first}, "
                    f"repeat within the window {len(repeat)} {repeat}")
        report.figure(r, f"iMIS calls, first {name} of a signed-in member", len(first), "", 2, "<= 2")
        report.figure(r, f"iMIS calls, repeat {name} within the window", len(repeat), "", 0, "0")
