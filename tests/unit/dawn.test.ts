/** Which Vulkan drivers the CLI lets Dawn load when it looks for a GPU. */
import { expect, test } from 'vitest';
import { hardwareDriverCandidates } from '../../src/cli/dawn.ts';

test('software Vulkan drivers are never taken for a GPU', () => {
  expect(
    hardwareDriverCandidates([
      '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
      '/usr/share/vulkan/icd.d/intel_icd.x86_64.json',
      '/etc/vulkan/icd.d/nvidia_icd.json',
      '/usr/lib/chromium/vk_swiftshader_icd.json',
      '/usr/share/vulkan/icd.d/README',
    ]),
  ).toEqual(['/usr/share/vulkan/icd.d/intel_icd.x86_64.json', '/etc/vulkan/icd.d/nvidia_icd.json']);
});
