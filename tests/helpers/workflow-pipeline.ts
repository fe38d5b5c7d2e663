/**
 * The README's pipeline as tests submit it: an agent step (`implement`) whose files feed a validation of its
 * .py files (`validate`), then the tests among them (`test`); the checks pass for any non-empty file.
 */
export function threeStepPipeline(name: string, description: string) {
  return {
    name,
    steps: [
      {
        id: "implement",
        type: "agent",
        body: { tasks: [{ id: "calc", description }], check_command: "true", reviewer_model: null },
      },
      {
        id: "validate",
        type: "validation",
        depends_on: ["implement"],
        body: { check_command: "test -s" },
        inputs: { targets_from: { step: "implement", field: "files_changed", filter: "*.py" } },
      },
      {
        id: "test",
        type: "tests",
        depends_on: ["validate"],
        body: { test_command: "test -s" },
        inputs: { modules_from: { step: "implement", field: "files_changed", filter: "test_*.py" } },
      },
    ],
  };
}
