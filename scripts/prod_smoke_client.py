"""The browser part of scripts/prod_smoke.sh: health, login, a case, an email.

    .venv/bin/python scripts/prod_smoke_client.py --base http://127.0.0.1:8000 \
        --fake http://127.0.0.1:PORT --email admin@… --password …

Talks to the running production app over HTTP as a browser would. Production cookies
are ``Secure``; this client runs over plain HTTP on 127.0.0.1, so it keeps the cookies
itself instead of leaving them to a cookie jar that would not send them. Exits 1 with
the step that failed.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from html import unescape

import requests

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.cookies: dict[str, str] = {}
        self.http = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        for cookie in response.cookies:
            self.cookies[cookie.name] = cookie.value
        self.http.cookies.clear()
        return response


def fail(step: str, detail: object = "") -> None:
    print(f"prod smoke FAILED at {step}: {detail}", file=sys.stderr)
    sys.exit(1)


def form_fields(html: str, action: str) -> dict[str, str]:
    start = html.find(f'action="{action}')
    if start < 0:
        return {}
    chunk = html[html.rfind("<form", 0, start) : html.index("</form>", start)]
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', chunk)
    }


def wait_healthy(browser: Browser, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    body: dict = {}
    while time.monotonic() < deadline:
        try:
            response = browser.request("GET", "/healthz", headers={"X-Request-ID": "smoke-healthz"})
            body = response.json()
            if response.status_code == 200 and body.get("status") == "ok":
                return body
        except (requests.RequestException, ValueError) as exc:
            body = {"error": str(exc)}
        time.sleep(0.5)
    fail("/healthz", body)
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--fake", required=True, help="the fake Mailjet's base URL")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    browser = Browser(args.base)

    health = wait_healthy(browser, args.timeout)
    print(f"healthz ok: {health['checks']}")

    page = browser.request("GET", "/login")
    token = CSRF_RE.search(page.text)
    if page.status_code != 200 or not token:
        fail("GET /login", page.status_code)
    login = browser.request(
        "POST",
        "/login",
        data={"email": args.email, "password": args.password, "csrf_token": token.group(1)},
    )
    if login.status_code != 302 or "session" not in browser.cookies:
        fail("POST /login", f"{login.status_code} {login.text[:300]}")
    print("logged in")

    listing = browser.request("GET", "/list/decline")
    if listing.status_code != 200:
        fail("GET /list/decline", listing.status_code)
    case_ids = list(dict.fromkeys(re.findall(r'href="/case/(\d+)', listing.text)))
    if not case_ids:
        fail("GET /list/decline", "no cases listed")
    for case_id in case_ids[:20]:
        case = browser.request("GET", f"/case/{case_id}?list=decline")
        if case.status_code != 200:
            fail(f"GET /case/{case_id}", case.status_code)
        fields = form_fields(case.text, f"/case/{case_id}/email")
        if fields.get("csrf_token") and fields.get("token"):
            break
    else:
        fail("case page", f"no case of {case_ids[:20]} offers an email")
    print(f"opened case {case_id}")

    before = requests.get(f"{args.fake}/_fake/emails", timeout=10).json()
    sent = browser.request(
        "POST",
        f"/case/{case_id}/email?list=decline",
        data={**fields, "template_kind": "standard"},
    )
    if sent.status_code != 302:
        fail(f"POST /case/{case_id}/email", f"{sent.status_code} {sent.text[:300]}")
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        emails = requests.get(f"{args.fake}/_fake/emails", timeout=10).json()
        if len(emails) > len(before):
            break
        time.sleep(0.5)
    else:
        fail("email to the fake Mailjet", "none arrived")
    email = emails[-1]
    print(f"email arrived at the fake Mailjet: message {email['custom_id']}")
    wait_healthy(browser, args.timeout)
    print("prod smoke client: ok")


if __name__ == "__main__":
    main()
