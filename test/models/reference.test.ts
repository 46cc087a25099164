import { selectBackend } from '../../src/backend';
import { worstFixtureDifference } from '../support/reference-fixtures';
import { makeTinyCheckpoints } from '../support/tiny-checkpoints';

describe.each(['wasm', 'cpu'] as const)('forward passes match the PyTorch reference on %s', (backend) => {
  const tiny = makeTinyCheckpoints();
  beforeAll(() => selectBackend({ requested: backend, log: () => {} }));
  afterAll(() => tiny.remove());

  it.each(['llama', 'bloom', 'bert'] as const)('%s: logits agree to 1e-4', async (family) => {
    expect(await worstFixtureDifference(family, tiny.path(family))).toBeLessThan(1e-4);
  });
});
