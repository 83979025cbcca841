/**
 * Tool check (the checkingTools step): are the programs a project needs present in
 * its sandbox? Fails early with a message that says how to provide a missing tool,
 * instead of a task failing later with an obscure exit 127.
 */
import type { Agent } from '../agents/types.ts';
import type { ProjectConfig } from '../../domain/projectConfig.ts';
import type { Sandbox } from './types.ts';

export interface ToolSpec {
  name: string;
  /** Arguments that print the version (default `['--version']`). */
  versionArgs?: string[];
  /**
   * Full probe argv instead of `[name, ...versionArgs]`. Used for programs that must not
   * be invoked blindly (a project's own verify script would run its tests on `--version`).
   */
  probe?: string[];
  /** How to provide the tool, shown when it is missing. */
  hint: string;
}

/** A required program is not available in the sandbox. */
export class ToolMissingError extends Error {
  override name = 'ToolMissingError';
  readonly code = 'tool_missing';
  constructor(
    /** The first missing tool. */
    readonly tool: string,
    /** Every missing tool with its hint (the message lists them all). */
    readonly missing: Array<{ name: string; hint: string }>,
  ) {
    super(
      missing.length === 1
        ? `Required tool '${tool}' is not available in the sandbox. ${missing[0].hint}`
        : `Required tools are not available in the sandbox: ${missing.map((m) => `'${m.name}' (${m.hint})`).join('; ')}`,
    );
  }
}

const PROBE_TIMEOUT_MS = 60_000;

/**
 * Probe each tool inside the sandbox and return `{ name: first line of its version output }`.
 * Exit 127/126 (not found / not executable) means missing; any other outcome means present —
 * a tool whose version probe fails or hangs is reported as `unknown (...)`, not as missing.
 * Throws ToolMissingError naming every missing tool; rethrows the abort reason when aborted.
 */
export async function checkTools(sandbox: Sandbox, tools: ToolSpec[], signal?: AbortSignal): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  const missing: Array<{ name: string; hint: string }> = [];
  for (const tool of tools) {
    signal?.throwIfAborted();
    const argv = tool.probe ?? [tool.name, ...(tool.versionArgs ?? ['--version'])];
    const r = await sandbox.exec(argv, { signal, timeoutMs: PROBE_TIMEOUT_MS, tailBytes: 4096 });
    if (r.aborted) signal?.throwIfAborted();
    if (r.exitCode === 127 || r.exitCode === 126) {
      missing.push({ name: tool.name, hint: tool.hint });
    } else if (r.timedOut) {
      versions[tool.name] = 'unknown (version probe timed out)';
    } else {
      const first = firstLine(r.stdoutTail) ?? firstLine(r.stderrTail);
      versions[tool.name] = r.exitCode === 0 ? (first ?? 'present') : `unknown (version probe exited ${r.exitCode ?? r.signal})`;
    }
  }
  if (missing.length > 0) throw new ToolMissingError(missing[0].name, missing);
  return versions;
}

function firstLine(text: string): string | undefined {
  return text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
}

/** Probes that print a version with `--version`; anything else is only located (see probeByLookup). */
const KNOWN_TOOLS: Record<string, Omit<ToolSpec, 'name'>> = {
  git: { hint: 'Install git in the sandbox image (e.g. `apt-get install -y git`), or on the host PATH for the local sandbox.' },
  aider: {
    hint: 'Install Aider in the sandbox image (`python -m pip install aider-chat`), or on the host PATH for the local sandbox; or use agent kind "command".',
  },
  // dash has no --version; `sh -c` proves a working POSIX shell.
  sh: { probe: ['sh', '-c', 'echo "POSIX sh"'], hint: 'The sandbox image needs a POSIX shell at /bin/sh (any Debian/Alpine base has one).' },
};

/**
 * `command -v` locates a program without running it: safe for arbitrary project programs
 * (verify scripts, custom agents) that may not understand `--version`. Needs `sh`.
 */
function probeByLookup(name: string): string[] {
  return ['sh', '-c', 'command -v "$1" || exit 127', 'sh', name];
}

/**
 * The tools a project needs: git, the verify command's program and the agent's programs,
 * de-duplicated, each with a hint on how to provide it.
 */
export function requiredTools(config: ProjectConfig, agent: Agent): ToolSpec[] {
  const specs = new Map<string, ToolSpec>();
  const add = (name: string, fallbackHint: string): void => {
    if (!name || specs.has(name)) return;
    const known = KNOWN_TOOLS[name];
    specs.set(name, known ? { name, ...known } : { name, probe: probeByLookup(name), hint: fallbackHint });
  };
  add('git', '');
  const verifyProgram = config.verify.command[0];
  add(
    verifyProgram,
    `'${verifyProgram}' is the program of verify.command: install it in the sandbox image (or on the host PATH for the local sandbox), or change verify.command.`,
  );
  for (const tool of agent.requiredTools()) {
    add(tool, `'${tool}' is needed by the ${agent.kind} agent: install it in the sandbox image (or on the host PATH for the local sandbox), or change agent.argv.`);
  }
  return [...specs.values()];
}
