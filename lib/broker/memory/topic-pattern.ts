/**
 * AMQP topic matching: words are separated by ".", `*` stands for exactly one word and `#` for
 * zero or more. "media.images.#" matches "media.images" and "media.images.resize.large".
 */
export function topicMatches(patternWords: readonly string[], routingKey: string): boolean {
  const keyWords = splitTopicKey(routingKey);
  // seen[i * width + j] = 1 once pattern position i against key position j was explored (and failed).
  const width = keyWords.length + 1;
  const seen = new Uint8Array((patternWords.length + 1) * width);
  const match = (i: number, j: number): boolean => {
    if (i === patternWords.length) return j === keyWords.length;
    if (seen[i * width + j]) return false;
    seen[i * width + j] = 1;
    const word = patternWords[i];
    if (word === '#') return match(i + 1, j) || (j < keyWords.length && match(i, j + 1));
    if (j === keyWords.length) return false;
    return (word === '*' || word === keyWords[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

/** The words of a topic routing key or binding pattern; the empty key has none (as in RabbitMQ). */
export function splitTopicKey(key: string): string[] {
  return key === '' ? [] : key.split('.');
}
