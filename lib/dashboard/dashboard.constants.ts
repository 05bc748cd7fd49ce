/** The resolved CeleryDashboardOptions. */
export const CELERY_DASHBOARD_OPTIONS = Symbol('CELERY_DASHBOARD_OPTIONS');
