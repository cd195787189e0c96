// One replica of `rnnc run --workers N`: its own tfjs backend and
// TrainingSession, training on its slice of every batch; gradients are
// averaged with the other replicas through shared memory before each update
// (runtime/train/shared-gradients.ts), so all replicas stay identical.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { adoptBatch } from '../../runtime/data/batching.js';
import { RuntimeUserError } from '../../runtime/io.js';
import { ExchangeAborted, SharedGradientExchange } from '../../runtime/train/shared-gradients.js';
import { TrainingSession } from '../../runtime/train/session.js';
import { selectBackend } from '../../runtime/backend.js';
import { CliError } from '../errors.js';
import { sessionGraphs } from '../project.js';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('internal: src/parallel/worker.js runs only as a worker thread');

const post = (m: FromWorker): void => port.postMessage(m);

function fail(e: unknown): void {
  const aborted = e instanceof ExchangeAborted;
  const user = e instanceof RuntimeUserError || e instanceof CliError;
  const message = e instanceof Error ? (user || aborted ? e.message : (e.stack ?? e.message)) : String(e);
  post({ kind: 'failed', message, user, aborted });
}

async function start(setup: WorkerSetup): Promise<TrainingSession> {
  tf.env().set('PROD', true);
  await selectBackend(setup.backend);
  const exchange = new SharedGradientExchange(setup.shared, setup.layout, setup.index);
  const session = new TrainingSession(setup.model, setup.config, sessionGraphs(setup.model, setup.config, { remat: setup.remat }), exchange);
  session.restoreSnapshot(setup.start, 'the main thread');
  return session;
}

const setup = workerData as WorkerSetup;
try {
  const session = await start(setup);
  // Messages are handled one after another, in the order they came (each handler awaits the session's reads).
  let queue: Promise<void> = Promise.resolve();
  const handle = async (m: ToWorker): Promise<void> => {
    try {
      if (m.kind === 'train') {
        const result = await session.trainBatch(adoptBatch(m.batch, setup.specs));
        post({ kind: 'trained', id: m.id, result, step: session.step });
      } else {
        post({ kind: 'snapshot', id: m.id, snapshot: await session.snapshot() });
      }
    } catch (e) {
      fail(e);
    }
  };
  port.on('message', (m: ToWorker) => {
    queue = queue.then(() => handle(m));
  });
  post({ kind: 'ready' });
} catch (e) {
  fail(e);
}
