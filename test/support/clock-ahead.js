// Preloaded with `node -r` into a process whose clock must run ahead: Date.now() returns
// CLOCK_AHEAD_MS (default 30 s) more than the host's clock. What the beat reads its time from.
const aheadMs = Number(process.env.CLOCK_AHEAD_MS ?? 30_000);
const hostNow = Date.now;
Date.now = () => hostNow() + aheadMs;
