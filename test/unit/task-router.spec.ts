import { TaskRouter } from '../../lib/client/task-router';

describe("task routes (Celery's task_routes)", () => {
  it('routes exact names before glob patterns, and queue names as routes', () => {
    const router = new TaskRouter({ 'tasks.*': { queue: 'tasks' }, 'tasks.add': 'math', 'feeds.?ss': { queue: 'feeds', priority: 3 } });
    expect(router.route('tasks.add', [], {})).toEqual({ queue: 'math' });
    expect(router.route('tasks.mul', [], {})).toEqual({ queue: 'tasks' });
    expect(router.route('feeds.rss', [], {})).toEqual({ queue: 'feeds', priority: 3 });
    expect(router.route('feeds.atom', [], {})).toBeNull();
    expect(router.route('tasksXadd', [], {})).toBeNull();
  });

  it('supports fnmatch character sets and keeps dots literal', () => {
    const router = new TaskRouter({ 'img.[rw]*': 'io', 'img.[!rw]*': 'cpu' });
    expect(router.route('img.read', [], {})).toEqual({ queue: 'io' });
    expect(router.route('img.resize', [], {})).toEqual({ queue: 'io' });
    expect(router.route('img.crop', [], {})).toEqual({ queue: 'cpu' });
  });

  it('asks a list of maps and router functions in order; the first answer wins', () => {
    const router = new TaskRouter([
      (name, args) => (name === 'video.encode' && (args[0] as number) > 100 ? { queue: 'big' } : null),
      { 'video.*': 'video' },
    ]);
    expect(router.route('video.encode', [500], {})).toEqual({ queue: 'big' });
    expect(router.route('video.encode', [5], {})).toEqual({ queue: 'video' });
    expect(router.route('audio.mix', [], {})).toBeNull();
  });
});
