#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { addClientCommands } from "./cli/client-commands.js";
import { addEvalCommand } from "./cli/eval-command.js";
import { EXIT } from "./cli/exit-codes.js";
import { helpWithDefaults } from "./cli/help-defaults.js";
import { addMcpCommand } from "./cli/mcp-command.js";
import { addMcpConfigCommand } from "./cli/mcp-config-command.js";
import { addRunCommand } from "./cli/run-command.js";
import { addScheduleCommands } from "./cli/schedule-command.js";
import { addServeCommand } from "./cli/serve-command.js";
import { addWorkerCommand } from "./cli/worker-command.js";
import { addWorkflowCommands } from "./cli/workflow-command.js";
import { errorMessage } from "./errors.js";
import { logFatal } from "./util/logger.js";
import { VERSION } from "./version.js";

const program = new Command();
program
  .name("ollama-coder")
  .description("Batch server and CLI for a local-model coding agent")
  .version(VERSION)
  .showHelpAfterError()
  .configureHelp(helpWithDefaults)
  // Usage errors (unknown option or command, missing argument, bad value) are thrown, not exited with 1:
  // 1 means "the job failed". Every command added below inherits both settings.
  .exitOverride();
addServeCommand(program);
addWorkerCommand(program);
addMcpCommand(program);
addMcpConfigCommand(program);
addRunCommand(program);
addEvalCommand(program);
addClientCommands(program);
addWorkflowCommands(program);
addScheduleCommands(program); // after the client commands: it reads their --server, --api-key, --json

program.parseAsync(process.argv).catch((e: unknown) => {
  // --help and --version end with code 0; any other CommanderError is a usage error, already printed.
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : EXIT.error);
  logFatal(`ollama-coder: ${errorMessage(e)}`); // a JSON line once serve logs JSON: never mixed
  process.exit(EXIT.error);
});
