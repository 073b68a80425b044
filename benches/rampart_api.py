"""A minimal client of Rampart's API for the benchmark scripts (standard
library only): JSON calls that keep the session cookie and CSRF token, and
the administrator's first login, which replaces the one-time password."""

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

    def call(self, method, path, body=None, expect=(200, 201, 202)):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"content-type": "application/json", **self.headers}
        data = None if body is None else json.dumps(body)
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        connection.close()
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

    def token(self, key="bench"):
        """A personal access token of the logged-in user."""
        self.call("POST", "/api/me/api-keys", {"identifier": key, "name": key})
        return self.call("POST", f"/api/me/api-keys/{key}/tokens", {"name": key})["token"]
