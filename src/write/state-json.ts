// Splices `destinationStats.recordCount` (and Airbyte's `committedRecordsCount` and
// `committedBytesCount`) into a STATE message's raw text without a JSON round trip
// (docs/write-path.md, "When a state is echoed"):
// cursors can be big integers that JSON.parse would round, so everything but the spliced members
// stays byte-for-byte as received.

/** Index just past the JSON string that starts at `i` (which holds the opening quote). */
function skipString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x5c /* \ */) j++;
    else if (c === 0x22 /* " */) return j + 1;
  }
  throw new Error('unterminated string');
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  return i;
}

/** Index just past the JSON value that starts at `i`. */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') j = skipString(text, j) - 1;
      else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new Error('unterminated container');
  }
  // number, true, false, null
  let j = i;
  while (j < text.length && !',}] \t\n\r'.includes(text[j]!)) j++;
  return j;
}

interface Member {
  key: string;
  /** Start of the key's opening quote. */
  start: number;
  /** Span of the value. */
  valueStart: number;
  valueEnd: number;
}

/** The members of the object at `open` (its '{'), and the index of its closing '}'. */
function membersOf(text: string, open: number): { members: Member[]; close: number } {
  const members: Member[] = [];
  let i = skipWhitespace(text, open + 1);
  if (text[i] === '}') return { members, close: i };
  for (;;) {
    const start = i;
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWhitespace(text, keyEnd);
    if (text[i] !== ':') throw new Error('expected :');
    const valueStart = skipWhitespace(text, i + 1);
    const valueEnd = skipValue(text, valueStart);
    members.push({ key, start, valueStart, valueEnd });
    i = skipWhitespace(text, valueEnd);
    if (text[i] === ',') {
      i = skipWhitespace(text, i + 1);
      continue;
    }
    if (text[i] === '}') return { members, close: i };
    throw new Error('expected , or }');
  }
}

/** JSON number text for a record count; the protocol asks for a decimal point. */
function countText(count: number): string {
  return Number.isInteger(count) ? `${count}.0` : String(count);
}

/**
 * Returns the raw STATE line with `state.destinationStats.recordCount` set to `count`; an
 * existing `destinationStats.recordCount` is replaced, other members of it are kept.
 */
export function spliceRecordCount(rawLine: string, count: number): string {
  const root = skipWhitespace(rawLine, 0);
  const top = membersOf(rawLine, root);
  const state = top.members.find((m) => m.key === 'state');
  if (!state || rawLine[state.valueStart] !== '{') throw new Error('STATE message without a state object');
  const inner = membersOf(rawLine, state.valueStart);
  const stats = inner.members.find((m) => m.key === 'destinationStats');
  const value = countText(count);
  if (!stats || rawLine[stats.valueStart] !== '{') {
    if (stats) {
      // destinationStats present but not an object: replace the whole value.
      return `${rawLine.slice(0, stats.valueStart)}{"recordCount":${value}}${rawLine.slice(stats.valueEnd)}`;
    }
    const empty = inner.members.length === 0;
    return `${rawLine.slice(0, inner.close)}${empty ? '' : ','}"destinationStats":{"recordCount":${value}}${rawLine.slice(inner.close)}`;
  }
  const statMembers = membersOf(rawLine, stats.valueStart);
  const rc = statMembers.members.find((m) => m.key === 'recordCount');
  if (rc) return `${rawLine.slice(0, rc.valueStart)}${value}${rawLine.slice(rc.valueEnd)}`;
  const empty = statMembers.members.length === 0;
  return `${rawLine.slice(0, statMembers.close)}${empty ? '' : ','}"recordCount":${value}${rawLine.slice(statMembers.close)}`;
}

/** Sets (replaces or appends) the member `key` of the `state` object to the JSON text `value`. */
function spliceStateMember(rawLine: string, key: string, value: string): string {
  const root = skipWhitespace(rawLine, 0);
  const top = membersOf(rawLine, root);
  const state = top.members.find((m) => m.key === 'state');
  if (!state || rawLine[state.valueStart] !== '{') throw new Error('STATE message without a state object');
  const inner = membersOf(rawLine, state.valueStart);
  const existing = inner.members.find((m) => m.key === key);
  if (existing) return `${rawLine.slice(0, existing.valueStart)}${value}${rawLine.slice(existing.valueEnd)}`;
  const empty = inner.members.length === 0;
  return `${rawLine.slice(0, inner.close)}${empty ? '' : ','}${JSON.stringify(key)}:${value}${rawLine.slice(inner.close)}`;
}

/** What an echoed state says was committed since the previous echoed state it counts from. */
export interface CommittedCounts {
  records: number;
  /** Bytes of those records' RECORD messages, as received (each line without its newline). */
  bytes: number;
}

/**
 * The raw STATE line as echoed: `destinationStats.recordCount`, and beside it, as additional
 * properties of the state message (where Airbyte's bulk CDK puts them, and the platform's
 * bookkeeping reads them), the integers `committedRecordsCount` and `committedBytesCount`.
 */
export function spliceCommittedCounts(rawLine: string, counts: CommittedCounts): string {
  let line = spliceRecordCount(rawLine, counts.records);
  line = spliceStateMember(line, 'committedRecordsCount', String(counts.records));
  return spliceStateMember(line, 'committedBytesCount', String(counts.bytes));
}
