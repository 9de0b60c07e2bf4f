#!/usr/bin/env python3
"""A real Jira client that is not ours, against jira-sim.

Drives the `jira` package (pycontribs, pinned in requirements.txt) through
a scenario on one flavor of a running simulator: who am I, create, get,
search with paging and expand=changelog, transitions (with the resolution,
and the errors Jira gives without it), comments with paging, order and
visibility (single comment GET, PUT, DELETE), bulk create, and the common
errors. Exits non-zero on the first check that fails.

    python tests/python/pycontribs_scenario.py --url http://127.0.0.1:PORT --flavor cloud|datacenter

Accounts are the simulator's (see crates/jira-sim/README.md).
"""

import argparse
import sys

from jira import JIRA, JIRAError

BOT_EMAIL = "penaxtra-bot@sim.example"
BOT_TOKEN = "sim-api-token"
BOT_PAT = "sim-pat"
ALEX_EMAIL = "alex@sim.example"
ALEX_TOKEN = "human-api-token"
ALEX_PAT = "human-pat"


class Failed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failed(what)
    print(f"  ok  {what}")


def expect_error(status, call, what, text=None):
    """`call` must raise JIRAError with `status` (and `text` in it)."""
    try:
        call()
    except JIRAError as e:
        body = e.text or ""
        if e.status_code != status or (text is not None and text not in body):
            raise Failed(f"{what}: got {e.status_code} {body!r}")
        print(f"  ok  {what} ({status})")
        return e
    raise Failed(f"{what}: no error")


def connect(url, flavor, who="bot"):
    options = {"server": url}
    if flavor == "cloud":
        email, token = (BOT_EMAIL, BOT_TOKEN) if who == "bot" else (ALEX_EMAIL, ALEX_TOKEN)
        return JIRA(options=options, basic_auth=(email, token), max_retries=0)
    pat = BOT_PAT if who == "bot" else ALEX_PAT
    return JIRA(options=options, token_auth=pat, max_retries=0)


def fields(summary, finding):
    return {
        "project": {"key": "SEC"},
        "issuetype": {"name": "Bug"},
        "summary": summary,
        "description": "*Severity:* high",
        "labels": ["penaxtra", "ai-security"],
        "customfield_10031": finding,
    }


def scenario(url, flavor):
    jira = connect(url, flavor)
    cloud = flavor == "cloud"
    check(jira._is_cloud == cloud, f"serverInfo says {'Cloud' if cloud else 'Server'}")
    me = jira.myself()
    check(me["displayName"] == "Penaxtra Bot", "who am I")
    check(me.get("timeZone") == "America/Phoenix", "the account's time zone is not UTC")

    # Create and get.
    issue = jira.create_issue(fields=fields("[Penaxtra] Prompt injection", "fnd_py_1"))
    check(issue.key.startswith("SEC-"), f"created {issue.key}")
    got = jira.issue(issue.key)
    check(got.fields.summary == "[Penaxtra] Prompt injection", "get: summary")
    check(getattr(got.fields, "customfield_10031") == "fnd_py_1", "get: custom field")
    check(got.fields.status.name == "Open", "get: status")

    # Edit, then the changelog by expansion.
    got.update(fields={"summary": "[Penaxtra] Prompt injection (edited)"})
    with_log = jira.issue(issue.key, expand="changelog")
    histories = with_log.changelog.histories
    check(len(histories) == 1, "expand=changelog: one history")
    check(histories[0].items[0].field == "summary", "the history names the field")

    # Transitions: without the required resolution, Jira's own words.
    ids = {t["name"]: t["id"] for t in jira.transitions(issue)}
    check({"Start Progress", "Done", "Won't Do", "Cancel"} <= set(ids), "transitions listed")
    expect_error(
        400,
        lambda: jira.transition_issue(issue, ids["Done"]),
        "a missing resolution is refused",
        "Field Resolution is required.",
    )
    jira.transition_issue(issue, ids["Start Progress"])
    check(jira.issue(issue.key).fields.status.name == "In Progress", "moved to In Progress")
    jira.transition_issue(issue, "Won't Do", fields={"resolution": {"name": "Won't Do"}})
    done = jira.issue(issue.key)
    check(done.fields.status.name == "Won't Do", "moved to Won't Do by name")
    check(done.fields.resolution.name == "Won't Do", "with its resolution")

    # Comments: add, single GET/PUT/DELETE, paging, order, visibility.
    added = [jira.add_comment(issue, f"note {n}") for n in range(5)]
    one = jira.comment(issue.key, added[0].id)
    check(one.body == "note 0", "a single comment by its id")
    one.update(body="note 0 (edited)")
    check(jira.comment(issue.key, added[0].id).body == "note 0 (edited)", "a comment edited")
    added[1].delete()
    expect_error(404, lambda: jira.comment(issue.key, added[1].id), "a deleted comment is gone")
    page = jira.comments(issue.key, start_at=1, max_results=2, order_by="-created")
    check([c.id for c in page] == [added[3].id, added[2].id], "comments paged, newest first")
    secret = jira.add_comment(
        issue, "internal", visibility={"type": "role", "value": "Administrators"}
    )
    check(secret.visibility.value == "Administrators", "a restricted comment is echoed restricted")
    alex = connect(url, flavor, who="alex")
    check(
        all(c.id != secret.id for c in alex.comments(issue.key)),
        "a person outside the role does not see it",
    )
    expect_error(
        400,
        lambda: jira.add_comment(issue, "x", visibility={"type": "role", "value": "Wizards"}),
        "an unknown role is refused",
        "Role with id: Wizards does not exist.",
    )

    # Bulk create: one good, one bad, the good one created.
    results = jira.create_issues(
        [fields(f"[Penaxtra] bulk {n}", f"fnd_py_b{n}") for n in range(3)]
        + [dict(fields("[Penaxtra] bad", "fnd_py_bad"), issuetype={"name": "Epic"})]
    )
    made = [r for r in results if r.get("issue") is not None]
    failed = [r for r in results if r.get("error")]
    check(len(made) == 3 and len(failed) == 1, "bulk create: three made, one refused")

    # Search with paging and the changelog expanded.
    jql = "project = SEC AND labels = penaxtra ORDER BY key ASC"
    if cloud:
        first = jira.enhanced_search_issues(jql, maxResults=2, fields=["summary"])
        check(len(first) == 2 and first.nextPageToken, "search/jql: a page and its token")
        second = jira.enhanced_search_issues(
            jql, nextPageToken=first.nextPageToken, maxResults=2, fields=["summary"]
        )
        check(len(second) == 2, "search/jql: the next page")
        everything = jira.enhanced_search_issues(jql, maxResults=0, fields=["summary"])
    else:
        first = jira.search_issues(jql, startAt=0, maxResults=2, fields="summary")
        check(len(first) == 2 and first.total == 4, "search: a page of two of four")
        second = jira.search_issues(jql, startAt=2, maxResults=2, fields="summary")
        check(len(second) == 2, "search: the next page")
        everything = jira.search_issues(jql, maxResults=False, fields="summary")
    keys = [i.key for i in everything]
    check(len(keys) == 4 and keys == sorted(keys, key=lambda k: int(k.split("-")[1])), "every page read, in order")
    expanded = jira.search_issues(
        f"key = {issue.key}", fields="summary", expand="changelog"
    )
    check(len(expanded[0].changelog.histories) >= 3, "search with expand=changelog")
    if cloud:
        count = jira._session.post(
            jira._get_url("search/approximate-count"), json={"jql": "project = SEC"}
        ).json()
        check(count["count"] == 4, "approximate count")

    # Common errors.
    expect_error(
        400,
        lambda: jira.create_issue(fields=dict(fields("x", "f"), labels=["Severity: high"])),
        "a label with a space",
        "contains spaces",
    )
    expect_error(404, lambda: jira.issue("SEC-9999"), "an issue that does not exist")
    expect_error(
        400,
        lambda: jira.search_issues("project = SEC AND nonsense ~ x", maxResults=1),
        "bad JQL",
    )
    if cloud:
        wrong = JIRA(options={"server": url}, basic_auth=(BOT_EMAIL, "expired"), max_retries=0)
        # An expired token is served as anonymous: the search is empty, the
        # answer carries the header that says why.
        r = wrong._session.post(
            wrong._get_url("search/jql"), json={"jql": "project = SEC", "fields": ["key"]}
        )
        check(
            r.status_code == 200
            and r.json()["issues"] == []
            and r.headers.get("X-Seraph-LoginReason") == "AUTHENTICATED_FAILED",
            "an expired token searches as anonymous, with X-Seraph-LoginReason",
        )
        expect_error(401, wrong.myself, "an expired token: who am I")
    else:
        wrong = JIRA(options={"server": url}, token_auth="expired", max_retries=0, get_server_info=False)
        expect_error(401, wrong.myself, "a wrong token")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--flavor", required=True, choices=["cloud", "datacenter"])
    args = parser.parse_args()
    print(f"== pycontribs jira against jira-sim ({args.flavor})")
    try:
        scenario(args.url, args.flavor)
    except (Failed, JIRAError) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    print(f"== {args.flavor}: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
