/**
 * `npm run tools`: makes sure every Go-built tool is there (on PATH, cached, or built now) before anything needs
 * it: the `temporal` CLI for `npm start` and the tests, and the Temporal server, its SQL schema tool and the Web
 * UI server for `npm run cluster` and test/cluster.test.ts.
 */
import { findOrBuildTool, temporalCli, temporalServer, temporalSqlTool, temporalUiServer } from './services/tools.js';

if (!findOrBuildTool(temporalCli)) {
  console.error('No temporal CLI could be found or built; `npm start` and the tests will try the SDK download instead.');
}
const missing = [temporalServer, temporalSqlTool, temporalUiServer].filter((tool) => !findOrBuildTool(tool));
if (missing.length) {
  console.error(`No ${missing.map((tool) => tool.label).join(', ')} could be found or built; \`npm run cluster\` and test/cluster.test.ts need them.`);
  process.exitCode = 1;
}
