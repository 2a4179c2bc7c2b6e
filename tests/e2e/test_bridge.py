"""The token bridge end to end on each runtime, over HTTP: the demo vendor site
(scripts/demo_vendor.py, started by the stack) signs members in with each delivery (token POSTed to
its callback, appended to its ReturnURL, set in a cookie on the shared parent domain), fetches
their data from the user service with its secret, re-authenticates silently after losing its own
session, pings, and signs out through iMIS back to its ReturnURL. Plus the refusals: the
open-redirect corpus (tests/bridge/open_redirects.txt), token reuse, a wrong secret, JSONP
callback injection, a member refused by the No Access Mapping."""
from __future__ import annotations

import html
import re
import sys
import urllib.parse
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_signin import PASSWORD, Emulator, browser, from_imis, get, imis_hand_off, post  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests/bridge/open_redirects.txt"
APP = "demo-vendor"
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.fixture
def emulator(stack):
    e = Emulator(stack)
    e.reset()
    yield e
    e.reset()


def secret() -> str:
    import stack as stack_mod  # conftest put scripts/ on the path
    return stack_mod.DEMO_VENDOR_SECRET


def bridge(stack, endpoint: str, **query) -> str:
    q = urllib.parse.urlencode(query)
    return stack.url("acme.localhost", f"/bridge/{APP}/{endpoint}" + (f"?{q}" if q else ""))


def redeem(stack, token: str, secret_value: str | None = None, header: str = "bearer") -> requests.Response:
    value = secret() if secret_value is None else secret_value
    headers = {"Authorization": f"Bearer {value}"} if header == "bearer" else {"X-Bridge-Secret": value}
    return requests.get(bridge(stack, "user", token=token), headers=headers, verify=False, timeout=30)


def follow_to_idp_answer(stack, s, url: str, user="jsmith") -> requests.Response:
    """From the IdP's bridge sign-in URL to its final answer, signing in at iMIS when asked."""
    r = get(s, url)
    if r.status_code == 303 and r.headers["location"].startswith(stack.imis_origin):
        action, token = imis_hand_off(s, r.headers["location"], user, PASSWORD)
        assert action == stack.url("acme.localhost", "/imis/callback")
        r = post(s, action, data={"refresh_token": token}, headers=from_imis(stack))
    return r


def vendor_login(stack, s, mode: str, user="jsmith") -> requests.Response:
    """The vendor's sign-in link through the IdP (and iMIS if needed) to the vendor's landing."""
    r = get(s, f"{stack.vendor_origin}/login?mode={mode}")
    assert r.status_code == 303
    assert r.headers["location"].startswith(bridge(stack, "signin"))
    r = follow_to_idp_answer(stack, s, r.headers["location"], user)
    if mode == "post":
        assert r.status_code == 200, r.text
        form = re.search(r'<form id="auto-post" method="post" action="([^"]+)"', r.text)
        assert form and html.unescape(form.group(1)) == f"{stack.vendor_origin}/sso/token"
        fields = {k: html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', r.text)}
        assert fields["ReturnURL"] == f"{stack.vendor_origin}/welcome"
        return post(s, f"{stack.vendor_origin}/sso/token", data=fields)
    assert r.status_code == 303, r.text
    landing = r.headers["location"]
    assert landing.startswith(f"{stack.vendor_origin}/welcome")
    if mode == "query":
        assert re.search(r"[?&]token=[A-Za-z0-9_-]{43}$", landing)
    else:
        assert "token=" not in landing
        cookie = [c for c in s.cookies if c.name == "bridge_token"]
        assert cookie and cookie[0].domain.lstrip(".") == "acme.localhost" and cookie[0].secure
    return get(s, landing)


def bridge_signout_form(stack, page: requests.Response, url: str) -> tuple[str, dict]:
    """The confirmation page of `GET /bridge/{app}/signout` (a session must prove it wants to sign
    out): its POST form's target (on the same path, the ReturnURL kept) and hidden fields."""
    assert page.status_code == 200 and "location" not in page.headers, (page.status_code, page.text[:500])
    forms = [(m.group(1), m.group(2)) for m in re.finditer(r"<form([^>]*)>(.*?)</form>", page.text, re.S | re.I)
             if re.search(r'method="post"', m.group(1), re.I)]
    assert len(forms) == 1, page.text[:2000]
    attrs, inner = forms[0]
    action = re.search(r'action="([^"]*)"', attrs)
    target = urllib.parse.urljoin(url, html.unescape(action.group(1))) if action and action.group(1) else url
    fields = {}
    for tag in re.findall(r"<input[^>]*>", inner):
        name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
        if 'type="hidden"' in tag and name:
            fields[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
    parts = urllib.parse.urlsplit(target)
    assert parts.path == urllib.parse.urlsplit(url).path, target
    kept = fields.get("ReturnURL") or dict(urllib.parse.parse_qsl(parts.query)).get("ReturnURL")
    assert kept == dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)).get("ReturnURL"), (target, fields)
    return target, fields


def vendor_user(stack, s) -> dict | None:
    r = get(s, f"{stack.vendor_origin}/me")
    return r.json() if r.status_code == 200 else None


@pytest.mark.parametrize("mode", ["post", "query", "cookie"])
def test_each_delivery_signs_in_and_fetches_the_member(stack, emulator, mode):
    s = browser()
    r = vendor_login(stack, s, mode)
    assert (r.status_code, r.headers.get("location")) == (303, "/"), r.text
    user = vendor_user(stack, s)
    assert user is not None
    assert (user["imis_id"], user["first_name"], user["last_name"]) == ("101", "Jane", "Smith")
    assert user["email"] == "jane.smith@acme-members.example" and user["member_type"] == "M"
    assert user["iqa"]["Chapter"] == "NORTH" and user["iqa"]["AccessRestrictionCode"] == "A"
    assert user["roles"] == ["Member", "RegisteredUser"]
    assert [c["CommitteeCode"] for c in user["data"]["committees"]] == ["EDU", "FIN", "AWD"]


def redeemed_member(stack, user: str) -> requests.Response:
    """A token for `user` (signed in at iMIS on the way) redeemed at the user service."""
    s = browser()
    r = follow_to_idp_answer(stack, s, bridge(stack, "signin", ReturnURL=f"{stack.vendor_origin}/welcome",
                                              delivery="query"), user=user)
    assert r.status_code == 303, r.text
    token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["location"]).query))["token"]
    return redeem(stack, token)


def test_the_user_service_sends_every_row_of_each_data_iqa(stack, emulator):
    """The app's data IQA (committee participation) arrives whole: each row an object keyed by the
    query's columns, in iMIS's order, for the member asked for; a member with none gets []."""
    r = redeemed_member(stack, "jsmith")
    assert r.status_code == 200, r.text
    committees = r.json()["data"]["committees"]
    assert committees == [
        {"CommitteeCode": "EDU", "CommitteeName": "Education Committee", "Position": "Chair",
         "StartDate": "2023-01-01T00:00:00"},
        {"CommitteeCode": "FIN", "CommitteeName": "Finance Committee", "Position": "Member",
         "StartDate": "2024-07-01T00:00:00"},
        {"CommitteeCode": "AWD", "CommitteeName": "Awards Task Force", "Position": "Member",
         "StartDate": "2025-02-15T00:00:00"},
    ]
    asked = [e for e in emulator.log() if e.get("query_name") == "$/EdgeIdP/Committees"]
    assert asked and all(e["status"] == 200 for e in asked), emulator.log()[-5:]
    r = redeemed_member(stack, "tstark")
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"committees": []} and r.json()["username"] == "tstark"


def test_a_failing_data_iqa_gives_the_vendor_no_member_data(stack, emulator):
    """iMIS failing one of the app's queries fails the whole answer: the vendor never gets a
    partial member, and learns only that iMIS did not answer."""
    s = browser()
    r = follow_to_idp_answer(stack, s, bridge(stack, "signin", ReturnURL=f"{stack.vendor_origin}/welcome",
                                              delivery="query"))
    assert r.status_code == 303, r.text
    token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["location"]).query))["token"]
    emulator.fault(path_contains="EdgeIdP/Committees", status=500)
    r = redeem(stack, token)
    assert r.status_code == 502, r.text
    assert r.json()["error"] == "temporarily_unavailable" and "Jane" not in r.text


def test_silent_reauth_after_the_vendor_loses_its_session(stack, emulator):
    s = browser()
    vendor_login(stack, s, "query")
    for c in list(s.cookies):
        if c.name == "vendor_sid":
            s.cookies.clear(c.domain, c.path, c.name)
    assert vendor_user(stack, s) is None, "the vendor lost its session"
    emulator.clear_log()
    r = get(s, f"{stack.vendor_origin}/login?mode=query")
    r = get(s, r.headers["location"])
    assert r.status_code == 303 and r.headers["location"].startswith(f"{stack.vendor_origin}/welcome?token=")
    assert not [e for e in emulator.log() if "/sso/" in e["path"]], "no trip to the iMIS sign-in page"
    get(s, r.headers["location"])
    assert vendor_user(stack, s)["imis_id"] == "101"


def test_tokens_are_single_use_and_need_the_secret(stack, emulator):
    s = browser()
    r = follow_to_idp_answer(stack, s, bridge(stack, "signin", ReturnURL=f"{stack.vendor_origin}/x", delivery="query"))
    token = r.headers["location"].rsplit("token=", 1)[1]
    for wrong in ["", "wrong", secret() + "x", secret()[:-1]]:
        bad = redeem(stack, token, wrong)
        assert bad.status_code == 401 and bad.headers["content-type"].startswith("application/json")
        assert bad.json()["error"] == "invalid_client"
        assert "Jane" not in bad.text and "101" not in bad.text
    ok = redeem(stack, token, header="x-bridge-secret")
    assert ok.status_code == 200 and ok.json()["imis_id"] == "101"
    again = redeem(stack, token)
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"
    assert "Jane" not in again.text
    forged = redeem(stack, "A" * 43)
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_token"


def test_open_redirect_corpus_is_refused(stack, emulator):
    s = browser()
    vendor_login(stack, s, "query")  # signed in: an accepted ReturnURL would redirect at once
    lines = [l for l in CORPUS.read_text(encoding="utf-8").splitlines() if l.strip() and not l.startswith("#")]
    assert len(lines) >= 40
    port = str(stack.vendor_port)
    for line in lines:
        target = line.replace("{port}", port)
        for endpoint in ["signin", "signout", "signed-out"]:
            r = get(s, bridge(stack, endpoint, ReturnURL=target, delivery="query"))
            assert r.status_code == 400, f"{endpoint} accepted {target!r}: {r.status_code} {r.headers.get('location')}"
            assert "location" not in r.headers
            assert "Return address not allowed" in r.text
    # Still signed in (refused sign-outs end nothing), and a registered URL still works.
    r = get(s, bridge(stack, "signin", ReturnURL=f"{stack.vendor_origin}/welcome?a=1", delivery="query"))
    assert r.status_code == 303 and r.headers["location"].startswith(f"{stack.vendor_origin}/welcome?a=1&token=")


def test_ping_jsonp_and_cors(stack, emulator):
    anon = browser()
    r = get(anon, bridge(stack, "ping", callback="onPing"))
    assert r.status_code == 200 and r.text == '/**/onPing({"signed_in":false});'
    assert r.headers["content-type"].startswith("application/javascript")
    assert r.headers["x-content-type-options"] == "nosniff"
    for evil in ["alert(1)//", "onPing;alert(1)", "a[0]", "<script>", "x.y.z.w.v", "1abc", "a b", "a\u2028b"]:
        r = get(anon, bridge(stack, "ping", callback=evil))
        assert r.status_code == 400, evil
        assert r.headers["content-type"].startswith("application/json")
        assert "alert" not in r.text and "<script>" not in r.text
    s = browser()
    vendor_login(stack, s, "post")
    r = get(s, bridge(stack, "ping"), headers={"Origin": stack.vendor_origin})
    assert r.headers["access-control-allow-origin"] == stack.vendor_origin
    assert r.headers["access-control-allow-credentials"] == "true"
    answer = r.json()
    assert answer["signed_in"] is True and set(answer) == {"signed_in", "token"}
    assert "Jane" not in r.text and "jsmith" not in r.text and "101" not in r.text
    assert redeem(stack, answer["token"]).json()["first_name"] == "Jane"
    r = get(s, bridge(stack, "ping"), headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers and "token" not in r.json()


def test_no_access_mapping_refuses_a_suspended_member(stack, emulator):
    s = browser()
    r = follow_to_idp_answer(stack, s, bridge(stack, "signin", ReturnURL=f"{stack.vendor_origin}/welcome",
                                              delivery="query"), user="bwayne")
    assert r.status_code == 403 and "location" not in r.headers
    assert "Demo Vendor" in r.text


def test_sign_out_through_imis_back_to_the_vendor(stack, emulator):
    s = browser()
    vendor_login(stack, s, "cookie")
    r = get(s, f"{stack.vendor_origin}/logout")
    assert r.headers["location"].startswith(bridge(stack, "signout"))
    url = r.headers["location"]
    # The member confirms (a GET alone signs nobody out): the form posts back with its token.
    action, fields = bridge_signout_form(stack, get(s, url), url)
    r = post(s, action, data=fields, headers={"Origin": stack.url("acme.localhost", "").rstrip("/")})
    assert r.status_code == 303
    logout = r.headers["location"]
    assert logout.startswith(f"{stack.imis_origin}/acme/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx")
    r = get(s, logout)
    assert r.status_code in (302, 303)
    back = r.headers["location"]
    assert back.startswith(bridge(stack, "signed-out"))
    r = get(s, back)
    assert (r.status_code, r.headers["location"]) == (303, f"{stack.vendor_origin}/bye")
    assert vendor_user(stack, s) is None
    assert get(s, bridge(stack, "ping", callback="cb")).text == '/**/cb({"signed_in":false});'
    r = get(s, bridge(stack, "signin", ReturnURL=f"{stack.vendor_origin}/welcome", delivery="query"))
    assert r.headers["location"].startswith(stack.imis_origin), "signed out: back to iMIS to sign in"


def test_sign_out_at_the_idp_tells_the_vendor_in_a_frame(stack, emulator):
    s = browser()
    vendor_login(stack, s, "post")
    assert vendor_user(stack, s) is not None
    page = get(s, stack.url("acme.localhost", "/signout"))
    token = re.search(r'name="t" value="([^"]+)"', page.text).group(1)
    r = post(s, stack.url("acme.localhost", "/signout"), data={"t": token})
    assert r.status_code == 200, r.text
    frame = f"{stack.vendor_origin}/frontchannel-logout"
    assert f'<iframe src="{frame}"' in r.text
    assert f"frame-src {stack.vendor_origin}" in r.headers["content-security-policy"]
    get(s, frame)  # what the browser's hidden frame does
    assert vendor_user(stack, s) is None
