<?php
/**
 * Sends one Celery task from PHP and waits for its result, like Python's
 * `app.send_task(name, args).get()` with the `rpc://` result backend.
 *
 *   CELERY_BROKER_URL=amqp://guest:guest@localhost:5672// \
 *     php send_task.php QUEUE TASK_NAME 'JSON_ARGS' [v2|v1]
 *
 *   php send_task.php celery tasks.add '[2, 2]'        # prints {"task_id": ..., "status": "SUCCESS", "result": 4}
 *
 * The worker (Python Celery or nestjs-celery) must run with `result_backend = 'rpc://'`.
 * Exit status: 0 SUCCESS, 1 FAILURE (or REVOKED), 2 no result within CELERY_RESULT_TIMEOUT
 * seconds (default 30), 64 bad command line.
 *
 * Needs php-amqplib: Debian `apt-get install php-cli php-amqplib`, or Composer
 * `composer require php-amqplib/php-amqplib` next to this file. The wire format it follows is
 * described in ../README.md.
 */

declare(strict_types=1);

use PhpAmqpLib\Channel\AMQPChannel;
use PhpAmqpLib\Connection\AMQPStreamConnection;
use PhpAmqpLib\Exception\AMQPTimeoutException;
use PhpAmqpLib\Message\AMQPMessage;
use PhpAmqpLib\Wire\AMQPTable;

require_once file_exists(__DIR__ . '/vendor/autoload.php')
    ? __DIR__ . '/vendor/autoload.php'                // Composer
    : '/usr/share/php/PhpAmqpLib/autoload.php';      // Debian's php-amqplib

const EXIT_SUCCESS = 0;
const EXIT_FAILURE = 1;
const EXIT_TIMEOUT = 2;
const EXIT_USAGE = 64;
const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR;

exit(main($argv));

function main(array $argv): int
{
    if (count($argv) < 4 || count($argv) > 5 || !in_array($argv[4] ?? 'v2', ['v1', 'v2'], true)) {
        fwrite(STDERR, "usage: php send_task.php QUEUE TASK_NAME 'JSON_ARGS' [v2|v1]\n");
        return EXIT_USAGE;
    }
    [, $queue, $taskName, $argsJson] = $argv;
    $protocol = $argv[4] ?? 'v2';
    // Objects stay objects (not PHP arrays), so `{}` is sent back as `{}`, not `[]`.
    $args = json_decode($argsJson);
    if (!is_array($args)) {
        fwrite(STDERR, "JSON_ARGS must be a JSON array of positional arguments, e.g. '[2, 2]'\n");
        return EXIT_USAGE;
    }
    $kwargs = new stdClass();
    $timeout = (float) (getenv('CELERY_RESULT_TIMEOUT') ?: 30);

    $connection = connect(getenv('CELERY_BROKER_URL') ?: 'amqp://guest:guest@localhost:5672//');
    try {
        $channel = $connection->channel();
        declareTaskQueue($channel, $queue);
        // Where the worker sends the result: a queue of our own, gone when we disconnect.
        [$replyQueue] = $channel->queue_declare('', false, false, true, true);

        $taskId = uuid4();
        $message = $protocol === 'v2'
            ? taskMessageV2($taskId, $taskName, $args, $kwargs, $replyQueue)
            : taskMessageV1($taskId, $taskName, $args, $kwargs, $replyQueue);
        publishConfirmed($channel, $message, $queue);

        $reply = waitForResult($channel, $replyQueue, $taskId, $timeout);
        if ($reply === null) {
            fwrite(STDERR, "No result for task $taskId within $timeout s (is a worker with result_backend rpc:// consuming \"$queue\"?)\n");
            return EXIT_TIMEOUT;
        }
        return report($reply);
    } finally {
        $connection->close();
    }
}

/** Connects with a Celery/kombu broker URL: amqp://user:password@host:port/vhost ("//" = vhost "/"). */
function connect(string $url): AMQPStreamConnection
{
    $parts = parse_url($url);
    if ($parts === false || ($parts['scheme'] ?? '') !== 'amqp') {
        throw new InvalidArgumentException('CELERY_BROKER_URL must look like amqp://user:password@host:5672//');
    }
    $vhost = rawurldecode(substr($parts['path'] ?? '/', 1));
    return new AMQPStreamConnection(
        $parts['host'] ?? 'localhost',
        $parts['port'] ?? 5672,
        rawurldecode($parts['user'] ?? 'guest'),
        rawurldecode($parts['pass'] ?? 'guest'),
        $vhost === '' ? '/' : $vhost
    );
}

/**
 * Declares the queue as Celery does (durable, not exclusive, not auto-delete, no arguments) with
 * its direct exchange of the same name. Any other flags would make RabbitMQ refuse the workers'
 * own declaration of the same queue (PRECONDITION_FAILED).
 */
function declareTaskQueue(AMQPChannel $channel, string $queue): void
{
    $channel->exchange_declare($queue, 'direct', false, true, false);
    $channel->queue_declare($queue, false, true, false, false);
    $channel->queue_bind($queue, $queue, $queue);
}

/** Protocol v2 (Celery ≥ 4): metadata in the headers, body `[args, kwargs, embed]`. */
function taskMessageV2(string $taskId, string $taskName, array $args, stdClass $kwargs, string $replyQueue): AMQPMessage
{
    $headers = [
        'lang' => 'php',
        'task' => $taskName,             // required: the worker recognises v2 by this header
        'id' => $taskId,                 // required
        'shadow' => null,
        'eta' => null,                   // or an ISO 8601 time, e.g. 2030-01-02T03:04:05.000000+00:00
        'expires' => null,
        'group' => null,
        'group_index' => null,
        'retries' => 0,
        'timelimit' => [null, null],     // [hard, soft] seconds
        'root_id' => $taskId,
        'parent_id' => null,
        'argsrepr' => pythonRepr($args, true),
        'kwargsrepr' => pythonRepr($kwargs),
        'origin' => 'php' . getmypid() . '@' . gethostname(),
        'ignore_result' => false,
    ];
    // Always exactly three elements: a Celery 5.2 worker process dies on any other shape.
    $embed = ['callbacks' => null, 'errbacks' => null, 'chain' => null, 'chord' => null];
    $body = json_encode([$args, $kwargs, $embed], JSON_FLAGS);
    return new AMQPMessage($body, messageProperties($taskId, $replyQueue) + ['application_headers' => new AMQPTable($headers)]);
}

/** Protocol v1 (what celery-php sends): everything in one body object, no headers. */
function taskMessageV1(string $taskId, string $taskName, array $args, stdClass $kwargs, string $replyQueue): AMQPMessage
{
    $body = json_encode([
        'task' => $taskName,
        'id' => $taskId,
        'args' => $args,
        'kwargs' => $kwargs,
        'group' => null,
        'group_index' => null,
        'retries' => 0,
        'eta' => null,
        'expires' => null,
        'utc' => true,
        'callbacks' => null,
        'errbacks' => null,
        'timelimit' => [null, null],
        'taskset' => null,
        'chord' => null,
    ], JSON_FLAGS);
    return new AMQPMessage($body, messageProperties($taskId, $replyQueue));
}

function messageProperties(string $taskId, string $replyQueue): array
{
    return [
        'content_type' => 'application/json',   // required: workers accept JSON only by default
        'content_encoding' => 'utf-8',
        'delivery_mode' => AMQPMessage::DELIVERY_MODE_PERSISTENT,
        'correlation_id' => $taskId,           // the rpc:// reply carries it back
        'reply_to' => $replyQueue,             // where the rpc:// backend sends the result
    ];
}

/** Publishes to the default exchange with routing key = queue, and waits until RabbitMQ has it. */
function publishConfirmed(AMQPChannel $channel, AMQPMessage $message, string $queue): void
{
    $refused = false;
    $channel->set_nack_handler(function () use (&$refused) { $refused = true; });
    $channel->confirm_select();
    $channel->basic_publish($message, '', $queue);
    $channel->wait_for_pending_acks(10.0);
    if ($refused) {
        throw new RuntimeException("RabbitMQ refused the task message (basic.nack) for queue \"$queue\"");
    }
}

/**
 * Waits for the final rpc:// reply to our task: `{"task_id", "status", "result", "traceback",
 * "children"}`. STARTED and RETRY replies are progress reports and are skipped. Returns null on
 * timeout.
 */
function waitForResult(AMQPChannel $channel, string $replyQueue, string $taskId, float $timeout): ?stdClass
{
    $final = null;
    $channel->basic_consume($replyQueue, '', false, true, true, false, function (AMQPMessage $reply) use ($taskId, &$final) {
        $correlationId = $reply->has('correlation_id') ? $reply->get('correlation_id') : null;
        $result = json_decode($reply->getBody());
        if (!$result instanceof stdClass) return;
        if (($correlationId ?? $result->task_id ?? null) !== $taskId) return;
        if (in_array($result->status, ['SUCCESS', 'FAILURE', 'REVOKED'], true)) $final = $result;
    });
    $deadline = microtime(true) + $timeout;
    while ($final === null) {
        $remaining = $deadline - microtime(true);
        if ($remaining <= 0) return null;
        try {
            $channel->wait(null, false, $remaining);
        } catch (AMQPTimeoutException $e) {
            return null;
        }
    }
    return $final;
}

/** Prints the outcome as one JSON line and returns the exit status. */
function report(stdClass $reply): int
{
    if ($reply->status === 'SUCCESS') {
        echo json_encode(['task_id' => $reply->task_id, 'status' => 'SUCCESS', 'result' => $reply->result], JSON_FLAGS), "\n";
        return EXIT_SUCCESS;
    }
    // FAILURE and REVOKED carry {"exc_type", "exc_message": [exception args], "exc_module"}.
    $exception = $reply->result;
    $message = $exception->exc_message ?? null;
    if (is_array($message) && count($message) === 1 && is_string($message[0])) $message = $message[0];
    echo json_encode([
        'task_id' => $reply->task_id,
        'status' => $reply->status,
        'exc_type' => $exception->exc_type ?? null,
        'exc_message' => $message,
    ], JSON_FLAGS), "\n";
    if (isset($reply->traceback)) fwrite(STDERR, $reply->traceback);
    return EXIT_FAILURE;
}

/** Roughly Python's repr(), for the argsrepr/kwargsrepr headers that logs and Flower show. */
function pythonRepr($value, bool $asTuple = false): string
{
    if ($value === null) return 'None';
    if (is_bool($value)) return $value ? 'True' : 'False';
    if (is_int($value) || is_float($value)) return json_encode($value, JSON_PRESERVE_ZERO_FRACTION);
    if (is_string($value)) return "'" . addcslashes($value, "'\\\n\r\t") . "'";
    if (is_array($value)) {
        $items = implode(', ', array_map('pythonRepr', $value));
        if (!$asTuple) return "[$items]";
        return count($value) === 1 ? "($items,)" : "($items)";
    }
    $items = [];
    foreach ((array) $value as $key => $item) $items[] = pythonRepr((string) $key) . ': ' . pythonRepr($item);
    return '{' . implode(', ', $items) . '}';
}

/** A random (version 4) UUID, the usual form of a Celery task id. */
function uuid4(): string
{
    $bytes = random_bytes(16);
    $bytes[6] = chr((ord($bytes[6]) & 0x0f) | 0x40);
    $bytes[8] = chr((ord($bytes[8]) & 0x3f) | 0x80);
    return vsprintf('%s%s-%s-%s-%s-%s%s%s', str_split(bin2hex($bytes), 4));
}
