import { spawnSync } from 'child_process';
import { lonasBin } from './cli';

/**
 * Why the webgpu backend cannot run here, or undefined when it can: asked as a user asks, with
 * `lonas backend --backend webgpu` (the optional packages, and a Vulkan driver Dawn accepts:
 * `.ci/run` installs Mesa 25's lavapipe from bookworm-backports where there is none).
 */
export function webgpuMissing(): string | undefined {
  const probe = spawnSync(process.execPath, [lonasBin, 'backend', '--backend', 'webgpu', '--json'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (probe.status === 0) return undefined;
  const reason = probe.stderr.split('\n').find((line) => line.startsWith('lonas'));
  return `webgpu is unavailable: ${reason ?? `lonas backend exited with ${probe.status ?? probe.signal}`}`;
}
