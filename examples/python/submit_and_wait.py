#!/usr/bin/env python3
"""Submit a job to an ollama-coder server, follow its progress, print a summary and the failed items.

Standard library only. The items are a JSON file holding a list of items (or a body with "items"):

    python3 submit_and_wait.py --type word_count items.json
    python3 submit_and_wait.py --type word_count items.json --retry   # then resubmit the failed items once

--server (env OLLAMA_CODER_URL, default http://127.0.0.1:8000) and --api-key (env OLLAMA_CODER_API_KEY) as the
CLI takes them. Exit status: 0 when the (last) job completed, 1 when it failed, 2 when it was cancelled, 3 on
errors (bad input, an HTTP error, the server unreachable).
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

ENDED = ("completed", "failed", "cancelled")
EXIT_CODES = {"completed": 0, "failed": 1, "cancelled": 2}


class Client:
    def __init__(self, server, api_key):
        self.server = server.rstrip("/")
        self.api_key = api_key

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.api_key:
            req.add_header("Authorization", "Bearer " + self.api_key)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as e:
            # The server's errors are JSON with a "detail" (a string, or a list of field errors for a 422).
            text = e.read().decode(errors="replace")
            try:
                detail = json.loads(text).get("detail", text)
            except ValueError:
                detail = text
            raise SystemExit(f"error: {method} {path}: HTTP {e.code}: {json.dumps(detail)}") from None

    def submit(self, job_type, items, options):
        return self.request("POST", "/batch/jobs", {"type": job_type, "items": items, "options": options})

    def job(self, job_id, include_results):
        flag = "true" if include_results else "false"
        return self.request("GET", f"/batch/jobs/{job_id}?include_results={flag}")


def wait(client, job_id, interval):
    """Polls the cheap answer (no results) until the job ends, printing progress as it changes."""
    last = None
    while True:
        job = client.job(job_id, include_results=False)
        p = job["metadata"].get("progress") or {}
        line = (
            f"{job_id}: {job['status']} {p.get('processed', 0)}/{p.get('total', '?')}"
            f" ({p.get('successful', 0)} ok, {p.get('failed', 0)} failed)"
        )
        if line != last:
            print(line, flush=True)
            last = line
        if job["status"] in ENDED:
            return client.job(job_id, include_results=True)
        time.sleep(interval)


def report(job):
    """Prints the summary and each failed item; returns the failed entries of the results."""
    result = job.get("result") or {}
    s = result.get("summary", {})
    print(
        f"{job['job_id']} {job['status']}: {s.get('total', 0)} items, {s.get('successful', 0)} successful,"
        f" {s.get('failed', 0)} failed, {s.get('skipped', 0)} skipped, {s.get('cancelled', 0)} cancelled"
        f" in {result.get('elapsed_seconds', 0):.2f} s"
    )
    if job.get("error"):
        print(f"  error: {job['error']}")
    failed = [r for r in result.get("results", []) if r["status"] == "failed"]
    for r in failed:
        print(f"  failed {r.get('id')}: {r.get('error')}")
    return failed


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        raise SystemExit(f"error: {message}")  # exit 3 (bad input), not argparse's 2 (which means cancelled here)


def main():
    ap = Parser(description=__doc__.splitlines()[0])
    ap.add_argument("items", help="JSON file: a list of items, or an object with 'items' (- reads stdin)")
    ap.add_argument("--type", required=True, help="the job type, e.g. word_count")
    ap.add_argument("--options", default="{}", help="the job's options as JSON (default {})")
    ap.add_argument("--server", default=os.environ.get("OLLAMA_CODER_URL", "http://127.0.0.1:8000"))
    ap.add_argument("--api-key", default=os.environ.get("OLLAMA_CODER_API_KEY"))
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between polls (default 0.5)")
    ap.add_argument("--retry", action="store_true", help="resubmit the failed items once the job has ended")
    args = ap.parse_args()

    try:
        if args.items == "-":
            raw = json.load(sys.stdin)
        else:
            with open(args.items, encoding="utf-8") as f:
                raw = json.load(f)
        options = json.loads(args.options)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    items = raw["items"] if isinstance(raw, dict) else raw
    client = Client(args.server, args.api_key)

    try:
        job = client.submit(args.type, items, options)
        print(f"submitted {job['job_id']} ({len(items)} items)", flush=True)
        job = wait(client, job["job_id"], args.interval)
        failed = report(job)
        if args.retry and failed:
            # The recovery recipe: the failed entries of the results, resubmitted as they are.
            retry = client.submit(args.type, failed, options)
            print(f"retrying {len(failed)} failed item(s) as {retry['job_id']}", flush=True)
            job = wait(client, retry["job_id"], args.interval)
            report(job)
    except urllib.error.URLError as e:
        raise SystemExit(f"error: {args.server} unreachable: {e.reason}") from None
    return EXIT_CODES.get(job["status"], 3)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit as e:
        # Messages (str codes) exit 3, as the CLI does on errors; numeric codes pass through.
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            sys.exit(3)
        raise
