#!/usr/bin/env python3
"""Prepares a fresh `rampart server` for benches/server-load.sh.

The administrator replaces the one-time password; an organization `eng`
with a project `web` is created, and a user bound there as Project Viewer
gets a personal access token, printed on stdout. Standard library only.
"""

import http.client
import json
import re
import sys
import urllib.parse

PASSWORD = "Correct-Horse-Battery-9"


class Api:
    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.headers = {}

    def call(self, method, path, body=None, expect=(200, 201)):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"content-type": "application/json", **self.headers}
        data = None if body is None else json.dumps(body)
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        if response.status not in expect:
            sys.exit(f"{method} {path}: {response.status} {text}")
        cookie = response.getheader("set-cookie") or ""
        session = re.search(r"rampart_session=([^;]+)", cookie)
        if session:
            self.headers["cookie"] = "rampart_session=" + session.group(1)
        return json.loads(text) if text else None

    def log_in(self, email, one_time):
        login = self.call("POST", "/api/auth/login", {"email": email, "password": one_time})
        self.headers["x-csrf-token"] = login["csrf_token"]
        self.call("PUT", "/api/me/password", {"current_password": one_time, "new_password": PASSWORD})


def main():
    base, admin_password = sys.argv[1], sys.argv[2]
    admin = Api(base)
    admin.log_in("admin@localhost", admin_password)
    admin.call("POST", "/api/orgs", {"identifier": "eng", "name": "Engineering"})
    admin.call("POST", "/api/orgs/eng/projects", {"identifier": "web", "name": "Web"})
    created = admin.call("POST", "/api/users", {"email": "viewer@example.com", "name": "Viewer"})
    admin.call(
        "POST",
        "/api/role-bindings?org=eng&project=web",
        {
            "principal": {"type": "user", "id": created["user"]["id"]},
            "role": "_project_viewer",
            "resource_group": "_all_project_level_resources",
        },
    )
    viewer = Api(base)
    viewer.log_in("viewer@example.com", created["one_time_password"])
    viewer.call("POST", "/api/me/api-keys", {"identifier": "bench", "name": "bench"})
    token = viewer.call("POST", "/api/me/api-keys/bench/tokens", {"name": "bench"})["token"]
    print(token)


if __name__ == "__main__":
    main()
