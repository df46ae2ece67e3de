/** `npm run tools`: makes sure the `temporal` CLI is there (on PATH, cached, or built now) before anything needs it. */
import { findTemporalBinary } from './services/temporal.js';

if (!findTemporalBinary()) {
  console.error('No temporal CLI could be found or built; `npm start` and the tests will try the SDK download instead.');
}
