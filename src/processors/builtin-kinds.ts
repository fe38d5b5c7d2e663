import type { JobKind } from "../queue/job-kind.js";
import { AGENT_KIND } from "./agent-kind.js";
import { MCP_KIND } from "./mcp-kind.js";
import { TESTS_KIND } from "./tests-kind.js";
import { VALIDATION_KIND } from "./validation-kind.js";

/** The job kinds that ship with ollama-coder, in the order their routes appear. */
export const BUILTIN_KINDS: readonly JobKind[] = [AGENT_KIND, VALIDATION_KIND, TESTS_KIND, MCP_KIND];
