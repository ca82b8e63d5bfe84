"""Turns a password-reset link printed by `sluice admin user create --operator` into the
credentials the contract run calls with, printed as shell assignments:

- CONTRACT_TOKEN: a personal access token (`pat-...`) of that platform operator;
- CONTRACT_TENANT: a tenant it owns, with one API key, one invitation and one service account,
  so that operations on a tenant reach real rows and not only 404s;
- CONTRACT_PARTNER: a partner it administers, with a domain;
- CONTRACT_SPARE_TOKEN: the id of a second access token, the only one the run may revoke (it
  must not revoke the one it calls with).

Usage: credentials.py BASE_URL EMAIL RESET_TOKEN
"""

import sys

import requests

PASSWORD = "contract-test-password-1"


def main() -> None:
    base, email, token = sys.argv[1:4]
    api = f"{base}/api/v1"
    session = requests.Session()

    def call(method: str, path: str, expected: int, **kwargs):
        res = session.request(method, f"{api}{path}", timeout=30, **kwargs)
        if res.status_code != expected:
            sys.exit(f"credentials: {method} {path} answered {res.status_code}: {res.text}")
        return res.json() if res.content else None

    call("POST", "/auth/password-reset/confirm", 204, json={"token": token, "password": PASSWORD})
    login = call("POST", "/auth/login", 200, json={"email": email, "password": PASSWORD})
    created = call(
        "POST",
        "/me/tokens",
        201,
        json={"name": "contract test"},
        headers={"x-csrf-token": login["csrf_token"]},
    )
    # From here on the token, not the session: schemathesis sends only the token.
    session.cookies.clear()
    session.headers["authorization"] = f"Bearer {created['secret']}"
    tenant = call("POST", "/tenants", 201, json={"name": "contract"})
    tenant_id = tenant["id"]
    call("POST", f"/tenants/{tenant_id}/keys", 201, json={"name": "contract key"})
    call(
        "POST",
        f"/tenants/{tenant_id}/invitations",
        201,
        json={"email": "invitee@example.com", "role": "developer"},
    )
    call("POST", f"/tenants/{tenant_id}/service-accounts", 201, json={"name": "contract robot"})
    partner = call(
        "POST",
        "/partners",
        201,
        json={
            "name": "contract partner",
            "key_prefix": "contract",
            "branding": {"display_name": "Contract", "primary_color": "#112233"},
            "domains": ["contract.example"],
            "admin_email": email,
        },
    )
    spare = call("POST", "/me/tokens", 201, json={"name": "spare"})
    print(f"CONTRACT_TOKEN={created['secret']}")
    print(f"CONTRACT_SPARE_TOKEN={spare['token']['id']}")
    print(f"CONTRACT_PARTNER={partner['id']}")
    print(f"CONTRACT_TENANT={tenant_id}")


if __name__ == "__main__":
    main()
