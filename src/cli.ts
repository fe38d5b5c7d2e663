#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { addClientCommands } from "./cli/client-commands.js";
import { addMcpCommand } from "./cli/mcp-command.js";
import { addRunCommand } from "./cli/run-command.js";
import { addServeCommand } from "./cli/serve-command.js";
import { addWorkerCommand } from "./cli/worker-command.js";
import { errorMessage } from "./errors.js";
import { VERSION } from "./version.js";

const program = new Command();
program
  .name("ollama-coder")
  .description("Batch server and CLI for a local-model coding agent")
  .version(VERSION)
  .showHelpAfterError();
addServeCommand(program);
addWorkerCommand(program);
addMcpCommand(program);
addRunCommand(program);
addClientCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  console.error(`ollama-coder: ${errorMessage(e)}`);
  process.exit(3);
});
