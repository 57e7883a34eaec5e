/**
 * Kafka's rule for topic names: 1 to 249 characters of `[a-zA-Z0-9._-]`, and neither `.` nor `..`
 * (they would name the data directory or its parent). A partition's directory is
 * `<topic>-<partition>`, so a valid name is always a safe file name.
 */
import { TOPIC_NAME_MAX_LENGTH } from './limits.js';

const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Why `name` is not a valid topic name, or undefined if it is. */
export function topicNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'topic name is empty';
  if (name.length > TOPIC_NAME_MAX_LENGTH) return `topic name is ${name.length} characters, more than ${TOPIC_NAME_MAX_LENGTH}`;
  if (name === '.' || name === '..') return `topic name cannot be '${name}'`;
  if (!LEGAL.test(name)) return `topic name '${name}' holds characters other than ASCII letters, digits, '.', '_' and '-'`;
  return undefined;
}

export function isValidTopicName(name: unknown): name is string {
  return topicNameProblem(name) === undefined;
}
