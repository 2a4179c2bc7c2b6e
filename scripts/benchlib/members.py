"""jsmith signing in to acme through the iMIS emulator's RiSE page, as the bench's browsers do."""
from __future__ import annotations

import html
import re

import requests

MEMBER = {"username": "jsmith", "password": "Member-Passw0rd"}


def sign_in_page(stack, s: requests.Session, path: str) -> str:
    """Follows `path` on acme to the emulator and signs in there: the page with the hand-off form."""
    r = s.get(stack.url("acme.localhost", path), allow_redirects=False, timeout=30, verify=False)
    return s.post(r.headers["location"], data=MEMBER, timeout=30, verify=False).text


def handoff_form(page: str) -> tuple[str, str]:
    """Where the emulator's auto-submitting hand-off form posts, and the refresh token it carries."""
    form = re.search(r'<form[^>]*id="sso-handoff"[^>]*>', page).group(0)
    action = html.unescape(re.search(r'action="([^"]+)"', form).group(1))
    return action, re.search(r'name="refresh_token" value="([0-9a-f]{32})"', page).group(1)


def submit_handoff(stack, s: requests.Session, action: str, token: str) -> requests.Response:
    """Submits the hand-off form as the browser's script does: the IdP's iMIS callback."""
    return s.post(action, data={"refresh_token": token}, headers={"Origin": stack.imis_origin},
                  allow_redirects=False, timeout=30, verify=False)
