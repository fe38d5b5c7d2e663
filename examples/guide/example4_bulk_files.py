# From the batch-processing guide, "Example 4: Bulk File Operations": the code below this comment is exactly as the guide prints it.
# tests/examples.test.ts runs it against a real server (examples/guide/README.md says how).
import requests

operations = []

# Read multiple files
for i in range(10):
    operations.append({
        "type": "read",
        "path": f"src/module_{i}.py"
    })

# Write results
for i in range(10):
    operations.append({
        "type": "write",
        "path": f"output/result_{i}.txt",
        "content": f"Result {i}"
    })

# Submit MCP operations
response = requests.post(
    "http://127.0.0.1:8000/batch/mcp-operations",
    json={
        "operations": operations,
        "parallel": 10
    }
)

print(f"Processing {len(operations)} operations...")
