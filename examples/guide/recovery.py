# From the batch-processing guide, "Error Recovery": the code below this comment is exactly as the guide prints it.
# tests/examples.test.ts runs it against a real server (examples/guide/README.md says how).
# Python example
import requests

# Get failed job
response = requests.get("http://127.0.0.1:8000/batch/jobs/job-123")
job = response.json()

if job["status"] == "failed":
    # Extract failed items
    failed_items = [
        r for r in job["result"]["results"]
        if r["status"] == "failed"
    ]

    # Resubmit
    requests.post("http://127.0.0.1:8000/batch/agent-tasks", json={
        "tasks": failed_items
    })
