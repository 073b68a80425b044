#!/usr/bin/env python3
"""Prepares a fresh `rampart server` for benches/server-load.sh.

The administrator replaces the one-time password; an organization `eng`
with a project `web` is created, and a user bound there as Project Viewer
gets a personal access token, printed on stdout.
"""

import sys

from rampart_api import Api


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
    print(viewer.token())


if __name__ == "__main__":
    main()
