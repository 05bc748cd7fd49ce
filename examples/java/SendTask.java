import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.Delivery;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sends one Celery task from Java and waits for its result, like Python's
 * {@code app.send_task(name, args).get()} with the {@code rpc://} result backend.
 *
 * <pre>
 *   CP=/usr/share/java/amqp-client.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
 *   javac -cp $CP -d out SendTask.java
 *   CELERY_BROKER_URL=amqp://guest:guest@localhost:5672// \
 *     java -cp $CP:out SendTask QUEUE TASK_NAME 'JSON_ARGS' [v2|v1]
 *
 *   java -cp $CP:out SendTask celery tasks.add '[2, 2]'   # prints {"task_id":...,"status":"SUCCESS","result":4}
 * </pre>
 *
 * The worker (Python Celery or nestjs-celery) must run with {@code result_backend = 'rpc://'}.
 * Exit status: 0 SUCCESS, 1 FAILURE (or REVOKED), 2 no result within CELERY_RESULT_TIMEOUT
 * seconds (default 30), 64 bad command line.
 *
 * Needs only the RabbitMQ Java client (Debian librabbitmq-client-java, or Maven
 * com.rabbitmq:amqp-client) and SLF4J. The minimal JSON reader/writer at the end keeps this file
 * free of other dependencies; in an application use Jackson or Gson instead. The wire format it
 * follows is described in ../README.md.
 */
public final class SendTask {
    static final int EXIT_SUCCESS = 0;
    static final int EXIT_FAILURE = 1;
    static final int EXIT_TIMEOUT = 2;
    static final int EXIT_USAGE = 64;
    static final Set<String> READY_STATES = Set.of("SUCCESS", "FAILURE", "REVOKED");

    public static void main(String[] argv) throws Exception {
        System.exit(run(argv));
    }

    static int run(String[] argv) throws Exception {
        String protocol = argv.length == 4 ? argv[3] : "v2";
        if (argv.length < 3 || argv.length > 4 || !(protocol.equals("v1") || protocol.equals("v2"))) {
            System.err.println("usage: java SendTask QUEUE TASK_NAME 'JSON_ARGS' [v2|v1]");
            return EXIT_USAGE;
        }
        String queue = argv[0];
        String taskName = argv[1];
        Object args;
        try {
            args = Json.parse(argv[2]);
        } catch (IllegalArgumentException invalid) {
            args = null; // reported just below
        }
        if (!(args instanceof List)) {
            System.err.println("JSON_ARGS must be a JSON array of positional arguments, e.g. '[2, 2]', not: " + argv[2]);
            return EXIT_USAGE;
        }
        double timeoutSeconds = Double.parseDouble(env("CELERY_RESULT_TIMEOUT", "30"));

        ConnectionFactory factory = connectionFactory(env("CELERY_BROKER_URL", "amqp://guest:guest@localhost:5672//"));
        try (Connection connection = factory.newConnection("celery-send-task-java")) {
            Channel channel = connection.createChannel();
            declareTaskQueue(channel, queue);
            // Where the worker sends the result: a server-named, exclusive, auto-delete queue of ours.
            String replyQueue = channel.queueDeclare().getQueue();

            String taskId = UUID.randomUUID().toString();
            AMQP.BasicProperties.Builder properties = new AMQP.BasicProperties.Builder()
                    .contentType("application/json") // required: workers accept JSON only by default
                    .contentEncoding("utf-8")
                    .deliveryMode(2)                  // persistent
                    .correlationId(taskId)            // the rpc:// reply carries it back
                    .replyTo(replyQueue);             // where the rpc:// backend sends the result
            Object body;
            if (protocol.equals("v2")) {
                properties.headers(headersV2(taskId, taskName, (List<?>) args));
                body = bodyV2((List<?>) args);
            } else {
                body = bodyV1(taskId, taskName, (List<?>) args);
            }

            BlockingQueue<Delivery> replies = new LinkedBlockingQueue<>();
            channel.basicConsume(replyQueue, true, (consumerTag, reply) -> replies.add(reply), consumerTag -> { });
            publishConfirmed(channel, queue, properties.build(), body);

            Map<?, ?> reply = waitForResult(replies, taskId, timeoutSeconds);
            if (reply == null) {
                System.err.printf("No result for task %s within %s s (is a worker with result_backend rpc:// consuming \"%s\"?)%n",
                        taskId, timeoutSeconds, queue);
                return EXIT_TIMEOUT;
            }
            return report(reply);
        }
    }

    /** A connection factory from a Celery/kombu broker URL: amqp://user:password@host:port/vhost ("//" = vhost "/"). */
    static ConnectionFactory connectionFactory(String url) throws Exception {
        URI uri = new URI(url);
        if (!"amqp".equals(uri.getScheme())) {
            throw new IllegalArgumentException("CELERY_BROKER_URL must look like amqp://user:password@host:5672//");
        }
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost(uri.getHost() != null ? uri.getHost() : "localhost");
        factory.setPort(uri.getPort() != -1 ? uri.getPort() : 5672);
        if (uri.getRawUserInfo() != null) {
            String[] user = uri.getRawUserInfo().split(":", 2);
            factory.setUsername(urlDecode(user[0]));
            if (user.length == 2) factory.setPassword(urlDecode(user[1]));
        }
        String path = uri.getRawPath();
        factory.setVirtualHost(path == null || path.length() <= 1 ? "/" : urlDecode(path.substring(1)));
        return factory;
    }

    /**
     * Declares the queue as Celery does (durable, not exclusive, not auto-delete, no arguments)
     * with its direct exchange of the same name. Any other flags would make RabbitMQ refuse the
     * workers' own declaration of the same queue (PRECONDITION_FAILED).
     */
    static void declareTaskQueue(Channel channel, String queue) throws Exception {
        channel.exchangeDeclare(queue, "direct", true, false, null);
        channel.queueDeclare(queue, true, false, false, null);
        channel.queueBind(queue, queue, queue);
    }

    /** Protocol v2 (Celery >= 4) headers: the task's metadata. */
    static Map<String, Object> headersV2(String taskId, String taskName, List<?> args) throws Exception {
        Map<String, Object> headers = new LinkedHashMap<>();
        headers.put("lang", "java");
        headers.put("task", taskName);         // required: the worker recognises v2 by this header
        headers.put("id", taskId);             // required
        headers.put("shadow", null);
        headers.put("eta", null);              // or an ISO 8601 time, e.g. 2030-01-02T03:04:05.000000+00:00
        headers.put("expires", null);
        headers.put("group", null);
        headers.put("group_index", null);
        headers.put("retries", 0);
        headers.put("timelimit", Arrays.asList(null, null)); // [hard, soft] seconds
        headers.put("root_id", taskId);
        headers.put("parent_id", null);
        headers.put("argsrepr", pythonTupleRepr(args));
        headers.put("kwargsrepr", "{}");
        headers.put("origin", "java" + ProcessHandle.current().pid() + "@" + InetAddress.getLocalHost().getHostName());
        headers.put("ignore_result", false);
        return headers;
    }

    /** Protocol v2 body {@code [args, kwargs, embed]}: always exactly three elements, a Celery 5.2 worker process dies on any other shape. */
    static List<Object> bodyV2(List<?> args) {
        Map<String, Object> embed = new LinkedHashMap<>();
        embed.put("callbacks", null);
        embed.put("errbacks", null);
        embed.put("chain", null);
        embed.put("chord", null);
        return Arrays.asList(args, Map.of(), embed);
    }

    /** Protocol v1 (what celery-php sends): everything in one body object, no headers. */
    static Map<String, Object> bodyV1(String taskId, String taskName, List<?> args) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("task", taskName);
        body.put("id", taskId);
        body.put("args", args);
        body.put("kwargs", Map.of());
        body.put("group", null);
        body.put("group_index", null);
        body.put("retries", 0);
        body.put("eta", null);
        body.put("expires", null);
        body.put("utc", true);
        body.put("callbacks", null);
        body.put("errbacks", null);
        body.put("timelimit", Arrays.asList(null, null));
        body.put("taskset", null);
        body.put("chord", null);
        return body;
    }

    /** Publishes to the default exchange with routing key = queue, and waits until RabbitMQ has it. */
    static void publishConfirmed(Channel channel, String queue, AMQP.BasicProperties properties, Object body) throws Exception {
        channel.confirmSelect();
        channel.basicPublish("", queue, properties, Json.write(body).getBytes(StandardCharsets.UTF_8));
        channel.waitForConfirmsOrDie(10_000); // throws if RabbitMQ refuses it (basic.nack) or does not answer
    }

    /**
     * Waits for the final rpc:// reply to our task: {"task_id", "status", "result", "traceback",
     * "children"}. STARTED and RETRY replies are progress reports and are skipped. Returns null on
     * timeout.
     */
    static Map<?, ?> waitForResult(BlockingQueue<Delivery> replies, String taskId, double timeoutSeconds) throws Exception {
        long deadline = System.nanoTime() + (long) (timeoutSeconds * 1e9);
        while (true) {
            Delivery delivery = replies.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (delivery == null) return null;
            Object parsed = Json.parse(new String(delivery.getBody(), StandardCharsets.UTF_8));
            if (!(parsed instanceof Map)) continue;
            Map<?, ?> reply = (Map<?, ?>) parsed;
            String correlationId = delivery.getProperties().getCorrelationId();
            if (!taskId.equals(correlationId != null ? correlationId : reply.get("task_id"))) continue;
            if (READY_STATES.contains(reply.get("status"))) return reply;
        }
    }

    /** Prints the outcome as one JSON line and returns the exit status. */
    static int report(Map<?, ?> reply) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("task_id", reply.get("task_id"));
        out.put("status", reply.get("status"));
        if ("SUCCESS".equals(reply.get("status"))) {
            out.put("result", reply.get("result"));
            System.out.println(Json.write(out));
            return EXIT_SUCCESS;
        }
        // FAILURE and REVOKED carry {"exc_type", "exc_message": [exception args], "exc_module"}.
        Map<?, ?> exception = reply.get("result") instanceof Map ? (Map<?, ?>) reply.get("result") : Map.of();
        Object message = exception.get("exc_message");
        if (message instanceof List && ((List<?>) message).size() == 1 && ((List<?>) message).get(0) instanceof String) {
            message = ((List<?>) message).get(0);
        }
        out.put("exc_type", exception.get("exc_type"));
        out.put("exc_message", message);
        System.out.println(Json.write(out));
        if (reply.get("traceback") != null) System.err.print(reply.get("traceback"));
        return EXIT_FAILURE;
    }

    /** Roughly Python's repr() of the args tuple, for the argsrepr header that logs and Flower show. */
    static String pythonTupleRepr(List<?> args) {
        String items = pythonRepr(args);
        items = items.substring(1, items.length() - 1);
        return args.size() == 1 ? "(" + items + ",)" : "(" + items + ")";
    }

    static String pythonRepr(Object value) {
        if (value == null) return "None";
        if (value instanceof Boolean) return (Boolean) value ? "True" : "False";
        if (value instanceof Number) return value.toString();
        if (value instanceof String) {
            return "'" + ((String) value).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'";
        }
        List<String> items = new ArrayList<>();
        if (value instanceof List) {
            for (Object item : (List<?>) value) items.add(pythonRepr(item));
            return "[" + String.join(", ", items) + "]";
        }
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
            items.add(pythonRepr(entry.getKey()) + ": " + pythonRepr(entry.getValue()));
        }
        return "{" + String.join(", ", items) + "}";
    }

    static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    static String urlDecode(String text) {
        return URLDecoder.decode(text.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /**
     * Just enough JSON: objects become LinkedHashMap (key order kept), arrays List, numbers Long,
     * BigInteger or Double (so 2 stays 2 and 2.0 stays 2.0), and back.
     */
    static final class Json {
        private static final Pattern NUMBER = Pattern.compile("-?(?:0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?");
        private final String text;
        private int position;

        private Json(String text) {
            this.text = text;
        }

        /** The value of a JSON text; IllegalArgumentException saying where it is invalid. */
        static Object parse(String text) {
            Json parser = new Json(text);
            try {
                Object value = parser.value();
                parser.skipSpace();
                if (parser.position != text.length()) throw parser.error("unexpected text after the value");
                return value;
            } catch (IndexOutOfBoundsException truncated) {
                throw parser.error("unexpected end");
            }
        }

        static String write(Object value) {
            if (value == null) return "null";
            if (value instanceof Boolean || value instanceof Number) return value.toString();
            if (value instanceof Map) {
                List<String> members = new ArrayList<>();
                for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                    members.add(write(String.valueOf(entry.getKey())) + ": " + write(entry.getValue()));
                }
                return "{" + String.join(", ", members) + "}";
            }
            if (value instanceof List) {
                List<String> items = new ArrayList<>();
                for (Object item : (List<?>) value) items.add(write(item));
                return "[" + String.join(", ", items) + "]";
            }
            StringBuilder out = new StringBuilder("\"");
            for (char c : value.toString().toCharArray()) {
                if (c == '"' || c == '\\') out.append('\\').append(c);
                else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                else out.append(c);
            }
            return out.append('"').toString();
        }

        private Object value() {
            skipSpace();
            if (position >= text.length()) throw error("unexpected end");
            char c = text.charAt(position);
            if (c == '{') return object();
            if (c == '[') return array();
            if (c == '"') return string();
            if (text.startsWith("true", position)) return literal("true", Boolean.TRUE);
            if (text.startsWith("false", position)) return literal("false", Boolean.FALSE);
            if (text.startsWith("null", position)) return literal("null", null);
            return number();
        }

        private Map<String, Object> object() {
            Map<String, Object> object = new LinkedHashMap<>();
            position++;
            if (nextIs('}')) return object;
            do {
                skipSpace();
                String key = string();
                expect(':');
                object.put(key, value());
            } while (nextIs(','));
            expect('}');
            return object;
        }

        private List<Object> array() {
            List<Object> array = new ArrayList<>();
            position++;
            if (nextIs(']')) return array;
            do array.add(value()); while (nextIs(','));
            expect(']');
            return array;
        }

        private String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (true) {
                if (position >= text.length()) throw error("unterminated string");
                char c = text.charAt(position++);
                if (c == '"') return out.toString();
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char escaped = text.charAt(position++);
                switch (escaped) {
                    case 'b': out.append('\b'); break;
                    case 'f': out.append('\f'); break;
                    case 'n': out.append('\n'); break;
                    case 'r': out.append('\r'); break;
                    case 't': out.append('\t'); break;
                    case 'u': out.append((char) Integer.parseInt(text.substring(position, position + 4), 16)); position += 4; break;
                    default: out.append(escaped);
                }
            }
        }

        private Object number() {
            Matcher matcher = NUMBER.matcher(text).region(position, text.length());
            if (!matcher.lookingAt()) throw error("invalid value");
            position = matcher.end();
            if (matcher.group(1) != null || matcher.group(2) != null) return Double.valueOf(matcher.group());
            BigInteger integer = new BigInteger(matcher.group());
            return integer.bitLength() < 64 ? (Object) integer.longValue() : integer;
        }

        private Object literal(String word, Object value) {
            position += word.length();
            return value;
        }

        private boolean nextIs(char c) {
            skipSpace();
            if (position < text.length() && text.charAt(position) == c) {
                position++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!nextIs(c)) throw error("expected '" + c + "'");
        }

        private void skipSpace() {
            while (position < text.length() && Character.isWhitespace(text.charAt(position))) position++;
        }

        private IllegalArgumentException error(String problem) {
            return new IllegalArgumentException("invalid JSON at character " + position + ": " + problem);
        }
    }
}
