# From the batch-processing guide, "Example 3: Run All Tests in Parallel": the code below this comment is exactly as the guide prints it.
# tests/examples.test.ts runs it against a real server (examples/guide/README.md says how).
import requests
from pathlib import Path

# Find all test files
test_files = list(Path("tests").glob("test_*.py"))

modules = [
    {"id": f.stem, "path": str(f)}
    for f in test_files
]

# Submit tests
response = requests.post(
    "http://127.0.0.1:8000/batch/tests",
    json={
        "modules": modules,
        "test_command": "pytest -v",
        "parallel": 5
    }
)

print(f"Running {len(modules)} test modules...")
