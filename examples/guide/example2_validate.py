# From the batch-processing guide, "Example 2: Validate Entire Codebase": the code below this comment is exactly as the guide prints it.
# tests/examples.test.ts runs it against a real server (examples/guide/README.md says how).
import requests
from pathlib import Path

# Find all Python files
python_files = list(Path("src").rglob("*.py"))

targets = [
    {"id": str(f), "path": str(f)}
    for f in python_files
]

# Submit validation
response = requests.post(
    "http://127.0.0.1:8000/batch/validation",
    json={
        "targets": targets,
        "check_command": "ruff check",
        "parallel": 10
    }
)

job_id = response.json()["job_id"]
print(f"Validating {len(targets)} files...")
