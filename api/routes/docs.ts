import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { Router } from 'express';
import { openApiDocument } from '../openapi.js';

const swaggerUi = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** `/api/openapi.json` and a rendered reference at `/api/docs` (Swagger UI, served from the package). */
export function docsRoutes(): Router {
  const router = Router();
  const document = openApiDocument();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  // Swagger UI's own start-up file points at its demo API; this one points at ours.
  router.get('/docs/swagger-initializer.js', (_req, res) => {
    res.type('application/javascript').send(`window.onload = () => { window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui' }); };\n`);
  });
  router.use('/docs', express.static(swaggerUi, { index: 'index.html' }));
  return router;
}
