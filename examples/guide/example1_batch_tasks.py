# From the batch-processing guide, "Example 1: Batch Process 1000 Coding Tasks": the code below this comment is exactly as the guide prints it.
# tests/examples.test.ts runs it against a real server (examples/guide/README.md says how).
import requests
import time

# Generate 1000 tasks
tasks = [
    {
        "id": f"task-{i}",
        "description": f"Create function_{i}.py with a function that returns {i}"
    }
    for i in range(1000)
]

# Submit batch job
response = requests.post(
    "http://127.0.0.1:8000/batch/agent-tasks",
    json={
        "tasks": tasks,
        "chunk_size": 50,  # Process 50 at a time
        "parallel": 5,      # 5 parallel executions per chunk
    }
)

job = response.json()
job_id = job["job_id"]

# Poll for completion
while True:
    response = requests.get(f"http://127.0.0.1:8000/batch/jobs/{job_id}")
    job = response.json()

    print(f"Progress: {job['progress']:.1f}%")

    if job["status"] in ["completed", "failed", "cancelled"]:
        break

    time.sleep(5)

# Print results
result = job["result"]
print(f"Completed: {result['summary']['successful']} tasks")
print(f"Failed: {result['summary']['failed']} tasks")
print(f"Time: {result['elapsed_seconds']:.1f}s")
