/**
 * The two wire protocols SQS speaks, reduced to one request shape (the JSON one's field names):
 * AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Action>`, what @aws-sdk/client-sqs ≥ 3.446 and
 * botocore ≥ 1.31.57 send) and the older query protocol (form fields, XML answers: what Debian's
 * botocore 1.29 and kombu's pycurl client send).
 */

export type Params = Record<string, unknown>;

export interface ParsedRequest {
  protocol: 'json' | 'query';
  action: string;
  params: Params;
}

export function parseRequest(target: string | undefined, query: URLSearchParams, body: string): ParsedRequest {
  if (target?.startsWith('AmazonSQS.')) return { protocol: 'json', action: target.slice('AmazonSQS.'.length), params: body ? (JSON.parse(body) as Params) : {} };
  const fields = new URLSearchParams(query);
  for (const [key, value] of new URLSearchParams(body)) fields.append(key, value);
  const flat = Object.fromEntries(fields);
  return { protocol: 'query', action: flat.Action ?? '', params: fromQueryFields(flat) };
}

/** `Attribute.1.Name=…&Attribute.1.Value=…`, `AttributeName.1=…`, `…BatchRequestEntry.1.Id=…` → the JSON shapes. */
function fromQueryFields(flat: Record<string, string>): Params {
  const params: Params = {};
  const attributes: Record<string, string> = {};
  const lists: Record<string, string[]> = {};
  const entries: Record<string, Record<string, string>> = {};
  for (const [key, value] of Object.entries(flat)) {
    let match: RegExpExecArray | null;
    if ((match = /^Attribute\.(\d+)\.(Name|Value)$/.exec(key))) {
      const name = flat[`Attribute.${match[1]}.Name`];
      if (match[2] === 'Name' && name !== undefined) attributes[name] = flat[`Attribute.${match[1]}.Value`] ?? '';
    } else if ((match = /^(AttributeName|MessageAttributeName|MessageSystemAttributeName)\.\d+$/.exec(key))) {
      (lists[`${match[1]}s`] ??= []).push(value);
    } else if ((match = /^\w+BatchRequestEntry\.(\d+)\.(\w+)$/.exec(key))) {
      (entries[match[1]] ??= {})[match[2]] = value;
    } else if (key !== 'Action' && key !== 'Version') {
      params[key] = value;
    }
  }
  if (Object.keys(attributes).length > 0) params.Attributes = attributes;
  Object.assign(params, lists);
  if (Object.keys(entries).length > 0) params.Entries = Object.keys(entries).sort((a, b) => Number(a) - Number(b)).map((index) => entries[index]);
  return params;
}

/** The error codes of the query protocol where they differ from the JSON ones. */
const QUERY_ERROR_CODES: Record<string, string> = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
  QueueNameExists: 'QueueAlreadyExists',
  MessageNotInflight: 'AWS.SimpleQueueService.MessageNotInflight',
  UnsupportedOperation: 'AWS.SimpleQueueService.UnsupportedOperation',
};

export interface Rendered {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function renderResult(protocol: 'json' | 'query', action: string, result: Params, requestId: string): Rendered {
  if (protocol === 'json') return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId }, body: JSON.stringify(result) };
  const inner = resultXml(result);
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body:
      `<?xml version="1.0"?><${action}Response xmlns="http://queue.amazonaws.com/doc/2012-11-05/">` +
      // Actions with an output always have their Result element, even empty (botocore requires it).
      (Object.keys(result).length > 0 ? `<${action}Result>${inner}</${action}Result>` : '') +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

export function renderError(protocol: 'json' | 'query', code: string, message: string, status: number, requestId: string): Rendered {
  const queryCode = QUERY_ERROR_CODES[code] ?? code;
  if (protocol === 'json') {
    return {
      status,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId, 'x-amzn-query-error': `${queryCode};Sender` },
      body: JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message }),
    };
  }
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: `<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>${escape(queryCode)}</Code><Message>${escape(message)}</Message><Detail/></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

/** The XML of a result in the JSON shape: SQS flattens lists and writes maps as Name/Value pairs. */
function resultXml(result: Params): string {
  let xml = '';
  for (const [key, value] of Object.entries(result)) {
    if (key === 'Messages') for (const message of value as Params[]) xml += `<Message>${resultXml(message)}</Message>`;
    else if (key === 'QueueUrls') for (const url of value as string[]) xml += element('QueueUrl', url);
    else if (key === 'Attributes') for (const [name, text] of Object.entries(value as Record<string, string>)) xml += `<Attribute>${element('Name', name)}${element('Value', text)}</Attribute>`;
    else if (key === 'Successful' || key === 'Failed') {
      const tag = key === 'Failed' ? 'BatchResultErrorEntry' : (value as Params[])[0] && 'MessageId' in (value as Params[])[0] ? 'SendMessageBatchResultEntry' : 'DeleteMessageBatchResultEntry';
      for (const entry of value as Params[]) xml += `<${tag}>${resultXml(entry)}</${tag}>`;
    } else if (value !== undefined) xml += element(key, String(value));
  }
  return xml;
}

function element(name: string, text: string): string {
  return `<${name}>${escape(text)}</${name}>`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\r/g, '&#xD;');
}
