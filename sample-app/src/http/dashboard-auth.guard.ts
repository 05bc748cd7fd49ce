import { CanActivate, ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';

/**
 * An example guard for the Celery dashboard: HTTP Basic authentication against one user and
 * password. Browsers ask for them once and then send them with every request, the live stream
 * (EventSource) included, which a bearer token in a header could not do. Use your app's own
 * guards (sessions, JWT in a cookie, …) in a real deployment; serve it over HTTPS.
 */
export class DashboardAuthGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(user: string, password: string) {
    this.expected = Buffer.from(`${user}:${password}`);
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const header: unknown = http.getRequest().headers?.authorization;
    const given = typeof header === 'string' && header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64') : Buffer.alloc(0);
    if (given.length === this.expected.length && timingSafeEqual(given, this.expected)) return true;
    http.getResponse().setHeader('WWW-Authenticate', 'Basic realm="Celery dashboard", charset="UTF-8"');
    throw new UnauthorizedException('The Celery dashboard needs a user and password (HTTP Basic).');
  }
}

/**
 * The guard from CELERY_DASHBOARD_USER (default `admin`) and CELERY_DASHBOARD_PASSWORD; refuses
 * to start without a password rather than mount an open dashboard.
 */
export function dashboardGuardFromEnvironment(env: NodeJS.ProcessEnv): DashboardAuthGuard {
  const password = env.CELERY_DASHBOARD_PASSWORD;
  if (!password) throw new Error('CELERY_DASHBOARD=true needs CELERY_DASHBOARD_PASSWORD (and optionally CELERY_DASHBOARD_USER, default "admin"): the dashboard can revoke tasks and shut workers down.');
  return new DashboardAuthGuard(env.CELERY_DASHBOARD_USER || 'admin', password);
}
