/**
 * A runner stand-in for the "processes die with the runner" tests: a sandbox in this process
 * (local, or docker with SBX_KIND=docker SBX_IMAGE=… SBX_PROJECT=…) runs one long script (argv[3])
 * in the workspace argv[2]; the test SIGKILLs this process.
 * env DEVTEAM_PROCESS_CONTAINMENT is honoured (../../src/infra/process/bound.ts).
 */
import { silentLogger } from '../../src/infra/logger.ts';
import { createDockerSandbox } from '../../src/infra/sandbox/docker.ts';
import { createLocalSandbox } from '../../src/infra/sandbox/local.ts';

const [ws, script] = process.argv.slice(2);
const opts = { projectId: process.env.SBX_PROJECT ?? 'suite', workspaceDir: ws!, defaultImage: process.env.SBX_IMAGE ?? 'unused', logger: silentLogger() };
const sb = process.env.SBX_KIND === 'docker' ? createDockerSandbox({ kind: 'docker', ...opts }) : createLocalSandbox({ kind: 'local', ...opts });
await sb.ensure();
process.stdout.write('ready\n');
await sb.exec(['sh', '-c', script!]);
