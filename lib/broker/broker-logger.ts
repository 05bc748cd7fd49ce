/**
 * Where brokers report connection changes and callback failures. Nest's `Logger` fits as is;
 * the default is the console. Lines never contain credentials (see utils/mask-secrets.ts).
 */
export interface BrokerLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** The console, prefixed so broker lines are recognisable among the application's. */
export const consoleBrokerLogger: BrokerLogger = {
  log: (message) => console.log(`[celery broker] ${message}`),
  warn: (message) => console.warn(`[celery broker] ${message}`),
  error: (message) => console.error(`[celery broker] ${message}`),
};
