import { buildArtifact } from './build-artifacts';

let registered = false;

/**
 * Registers tfjs-core's gradient functions (needed by tf.grad and every optimizer), from the
 * CommonJS bundle tools/build/bundle-tfjs-gradients.js makes at install time.
 */
export function registerGradients(): void {
  if (registered) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a generated file, found at run time
  require(buildArtifact('tfjs-gradients.js'));
  registered = true;
}
