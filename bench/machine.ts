/**
 * The machine the benchmarks ran on, and the raw limits they compare against on it.
 *
 * `describeMachine` prints what a reader needs to judge a figure: CPU, cores, memory, Node and V8,
 * the kernel, libuv's thread pool (every async read and fsync goes through it), the filesystem and
 * device of the directory the benchmarks write to, and the kernel's dirty-page thresholds (a buffered
 * write of more than `dirty_background_ratio` of memory starts writeback and stops being a memory copy).
 *
 * The limits are measured with `dd` on the same directory in the same run, so they see the same disk,
 * the same page cache and the same neighbours as the code under test: `ddWrite` (buffered sequential
 * write, no fsync) and `ddRead` (sequential read, from the page cache when the file was just written).
 * `syncFilesystems` writes back every dirty page, so that a timed phase does not pay for an earlier
 * phase's writeback.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Human-readable lines describing the machine and the disk under `dir`. */
export function describeMachine(dir: string): string[] {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const mhz = cpus[0]?.speed ?? 0;
  const lines = [
    `cpu:      ${model}${mhz > 0 ? ` @ ${mhz} MHz` : ''}, ${cpus.length} logical cores (os.availableParallelism ${os.availableParallelism()})`,
    `memory:   ${gib(os.totalmem())} GiB total, ${gib(os.freemem())} GiB free`,
    `node:     ${process.version} (V8 ${process.versions.v8}, libuv ${process.versions.uv}), UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`,
    `os:       ${os.type()} ${os.release()} ${os.arch()}`,
    `temp dir: ${dir}`,
    `disk:     ${describeDisk(dir)}`,
    `vm:       ${describeDirtyLimits()}`,
    `load:     ${describeLoad()}`,
  ];
  return lines;
}

/** Filesystem type, size and free space of `dir`, and the block device under it when it can tell. */
function describeDisk(dir: string): string {
  const df = run('df', ['-PT', dir]);
  const fields = df?.trim().split('\n')[1]?.split(/\s+/);
  if (fields === undefined || fields.length < 7) {
    const stat = fs.statfsSync(dir);
    return `filesystem type 0x${stat.type.toString(16)}, ${gib(stat.blocks * stat.bsize)} GiB, ${gib(stat.bavail * stat.bsize)} GiB free`;
  }
  const [device = '?', type = '?', sizeKiB = '0', , availKiB = '0', , mount = '?'] = fields;
  const parts = [`${device} (${type}) mounted on ${mount}`, `${gib(Number(sizeKiB) * 1024)} GiB, ${gib(Number(availKiB) * 1024)} GiB free`];
  const options = run('findmnt', ['-no', 'OPTIONS', '--target', dir])?.trim();
  if (options) parts.push(`options ${options}`);
  const block = blockDevice(device);
  if (block !== undefined) {
    const rotational = readSys(`/sys/block/${block}/queue/rotational`);
    const model = readSys(`/sys/block/${block}/device/model`);
    const scheduler = readSys(`/sys/block/${block}/queue/scheduler`);
    const kind = rotational === '1' ? 'rotational' : rotational === '0' ? 'non-rotational' : 'unknown kind';
    parts.push(`block device ${block}: ${kind}${model ? `, model ${model}` : ''}${scheduler ? `, scheduler ${scheduler}` : ''}`);
  }
  return parts.join('; ');
}

/** `/dev/nvme0n1p2` -> `nvme0n1`, `/dev/vda` -> `vda`: the entry under /sys/block, if there is one. */
function blockDevice(device: string): string | undefined {
  if (!device.startsWith('/dev/')) return undefined;
  let name = path.basename(fs.existsSync(device) ? fs.realpathSync(device) : device);
  for (let i = 0; i < 2; i += 1) {
    if (fs.existsSync(`/sys/block/${name}`)) return name;
    // A partition: its parent is the directory it sits in under /sys/class/block.
    const link = `/sys/class/block/${name}`;
    if (!fs.existsSync(link)) return undefined;
    name = path.basename(path.dirname(fs.realpathSync(link)));
  }
  return undefined;
}

/**
 * Load averages over 1, 5 and 15 minutes. The benches share the machine with whatever else runs on it;
 * a load near the core count means the figures are pessimistic.
 */
export function describeLoad(): string {
  const [one = 0, five = 0, fifteen = 0] = os.loadavg();
  return `load average ${one.toFixed(2)}, ${five.toFixed(2)}, ${fifteen.toFixed(2)} on ${os.cpus().length} cores`;
}

function describeDirtyLimits(): string {
  const read = (name: string): string => readSys(`/proc/sys/vm/${name}`) ?? '?';
  return `dirty_background_ratio ${read('dirty_background_ratio')}%, dirty_ratio ${read('dirty_ratio')}%, dirty_expire ${read('dirty_expire_centisecs')} cs`;
}

export interface DdResult {
  bytes: number;
  seconds: number;
  /** 10^6 bytes per second, as dd counts. */
  mbPerSecond: number;
}

/**
 * `dd if=/dev/zero of=<file> bs=<blockBytes> count=<count>`: a buffered sequential write, without
 * conv=fsync, so it measures what a write into the page cache costs on this machine. The figure is dd's
 * own byte count and elapsed time (from its last stderr line), which exclude starting the process.
 */
export function ddWrite(file: string, blockBytes: number, count: number): DdResult {
  return dd(['if=/dev/zero', `of=${file}`, `bs=${blockBytes}`, `count=${count}`]);
}

/** `dd if=<file> of=/dev/null bs=<blockBytes>`: a sequential read, from the page cache if the file is there. */
export function ddRead(file: string, blockBytes: number): DdResult {
  return dd([`if=${file}`, 'of=/dev/null', `bs=${blockBytes}`]);
}

function dd(args: string[]): DdResult {
  const result = spawnSync('dd', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`dd ${args.join(' ')} failed: ${result.stderr || result.error?.message}`);
  // GNU dd: "536870912 bytes (537 MB, 512 MiB) copied, 0.301 s, 1.8 GB/s"; busybox: "... copied, 0.3s, ...".
  const match = /(\d+) bytes .*copied, ([\d.,]+) ?s/.exec(result.stderr);
  if (match === null) throw new Error(`cannot parse dd's report: ${result.stderr}`);
  const bytes = Number(match[1]);
  const seconds = Number((match[2] ?? '').replace(',', '.'));
  return { bytes, seconds, mbPerSecond: bytes / seconds / 1e6 };
}

/** Writes back every dirty page of every filesystem (`sync`), so the next timed phase starts clean. */
export function syncFilesystems(): void {
  execFileSync('sync');
}

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

function readSys(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(1);
}
