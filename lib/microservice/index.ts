/*
 * nestjs-celery/microservices: Celery as a Nest microservice transport (`@MessagePattern` handlers
 * as tasks) and a ClientProxy that sends tasks. Needs @nestjs/microservices, an optional peer
 * dependency: `npm install @nestjs/microservices`.
 */
export { CeleryServer } from './celery.server';
export { CeleryClientProxy } from './celery.client-proxy';
export type { CeleryProxyPayload } from './celery.client-proxy';
export { CeleryContext } from './celery.context';
