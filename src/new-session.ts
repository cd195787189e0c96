// A TrainingSession on the optimised graphs (src/project.ts, sessionGraphs). Its
// own module: the session loads tfjs, and src/project.ts serves `rnnc check`,
// which loads none (test/e2e/cli-startup.test.ts).
import * as tf from '@tensorflow/tfjs-core';
import type { LoweredModel } from '../compiler/sema/model.js';
import type { TrainConfig } from '../compiler/sema/train.js';
import { TrainingSession } from '../runtime/train/session.js';
import { sessionGraphs } from './project.js';

export function newSession(model: LoweredModel, config: TrainConfig, opts: { remat?: boolean } = {}): TrainingSession {
  return new TrainingSession(model, config, graphsForBackend(model, config, opts));
}

/**
 * sessionGraphs for the active backend: on webgpu, where every product is a
 * dispatch of its own, with each cell's gate products joined.
 */
export function graphsForBackend(model: LoweredModel, config: TrainConfig, opts: { remat?: boolean } = {}): ReturnType<typeof sessionGraphs> {
  return sessionGraphs(model, config, { ...opts, ...(tf.getBackend() === 'webgpu' ? { joinGates: true } : {}) });
}
