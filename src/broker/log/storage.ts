/**
 * Storage back ends: `memory` keeps segments in buffers, `directory` in files under the data
 * directory, one folder per partition named `<topic>-<partition>` as in Kafka. Both hand the same
 * PartitionLog its segments, so the two modes share every line above this file.
 *
 * The directory also holds `cluster.json`: the cluster id and each topic's id, configs, partition
 * count and leader epochs, rewritten atomically (temporary file, then rename) on every change.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { BrokerError } from '../errors.js'
import type { BrokerLogger } from '../options.js'
import type { RecordBatchHeader } from './batches.js'
import { FileSegment, segmentFileName } from './file-segment.js'
import { PartitionLog, type LogConfig, type PartitionStore } from './partition-log.js'
import { MemorySegment, type Segment } from './segment.js'

/** What is remembered about a topic across restarts. */
export interface StoredTopic {
  name: string
  id: string
  configs: Record<string, string>
  partitions: { leaderEpoch: number; replicas: number[] }[]
}

export interface StoredCluster {
  clusterId: string
  topics: StoredTopic[]
}

export interface Storage {
  readonly persistent: boolean
  loadCluster(): StoredCluster | null
  saveCluster(cluster: StoredCluster): void
  /** Opens (recovering if on disk) or creates a partition's log; onBatch sees every recovered batch and its bytes. */
  openPartition(topic: string, partition: number, config: () => LogConfig, now: number, onBatch: (header: RecordBatchHeader, batch: Buffer) => void): PartitionLog
  /** Releases the storage (the data directory's lock). */
  close(): void
}

export class MemoryStorage implements Storage {
  readonly persistent = false
  private saved: StoredCluster | null = null

  loadCluster(): StoredCluster | null {
    return this.saved
  }

  saveCluster(cluster: StoredCluster): void {
    this.saved = cluster
  }

  openPartition(_topic: string, _partition: number, config: () => LogConfig, now: number): PartitionLog {
    const store: PartitionStore = {
      createSegment: (baseOffset, at) => new MemorySegment(baseOffset, at),
      saveLogStartOffset: () => {},
      removeAll: () => {},
    }
    return new PartitionLog(store, [], config, 0, now)
  }

  close(): void {}
}

const CLUSTER_FILE = 'cluster.json'
const LOG_START_FILE = 'log-start-offset'
const LOCK_FILE = '.lock'
/** Directories locked by brokers of this process, which share one pid. */
const lockedHere = new Set<string>()

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export class DirectoryStorage implements Storage {
  readonly persistent = true
  private readonly dir: string
  private readonly logger: BrokerLogger
  private locked = false

  constructor(dir: string, logger: BrokerLogger) {
    this.dir = dir
    this.logger = logger
    try {
      mkdirSync(dir, { recursive: true })
    } catch (error) {
      throw new BrokerError('BROKER_STORAGE', `cannot create data directory ${dir}; check the path and its permissions`, { cause: error })
    }
    this.lock()
  }

  /**
   * Two brokers appending to the same segments would corrupt them, so the directory is locked with
   * a file naming the owning process, as Kafka's log directories are. A lock left by a process that
   * no longer runs (a crash) is taken over.
   */
  private lock(): void {
    const path = join(this.dir, LOCK_FILE)
    if (lockedHere.has(resolve(this.dir))) {
      throw new BrokerError('BROKER_STORAGE', `data directory ${this.dir} is in use by another broker of this process; stop it first or use another directory`)
    }
    const owner = existsSync(path) ? Number(readFileSync(path, 'utf8')) : NaN
    if (Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
      throw new BrokerError('BROKER_STORAGE', `data directory ${this.dir} is in use by process ${owner}; stop that broker or use another directory`)
    }
    writeFileSync(path, String(process.pid))
    lockedHere.add(resolve(this.dir))
    this.locked = true
  }

  close(): void {
    if (!this.locked) return
    this.locked = false
    lockedHere.delete(resolve(this.dir))
    rmSync(join(this.dir, LOCK_FILE), { force: true })
  }

  loadCluster(): StoredCluster | null {
    const path = join(this.dir, CLUSTER_FILE)
    if (!existsSync(path)) return null
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as StoredCluster
    } catch (error) {
      throw new BrokerError('BROKER_STORAGE', `${path} is unreadable; restore it or start on an empty data directory`, { cause: error })
    }
  }

  saveCluster(cluster: StoredCluster): void {
    const path = join(this.dir, CLUSTER_FILE)
    writeFileSync(`${path}.tmp`, JSON.stringify(cluster, null, 2))
    renameSync(`${path}.tmp`, path)
  }

  openPartition(topic: string, partition: number, config: () => LogConfig, now: number, onBatch: (header: RecordBatchHeader, batch: Buffer) => void): PartitionLog {
    const dir = join(this.dir, `${topic}-${partition}`)
    mkdirSync(dir, { recursive: true })
    const store: PartitionStore = {
      createSegment: (baseOffset, at) => FileSegment.create(dir, baseOffset, at),
      saveLogStartOffset: (offset) => writeFileSync(join(dir, LOG_START_FILE), String(offset)),
      removeAll: () => rmSync(dir, { recursive: true, force: true }),
    }
    const bases = readdirSync(dir)
      .filter((name) => /^\d{20}\.log$/.test(name))
      .map((name) => Number(name.slice(0, 20)))
      .sort((a, b) => a - b)
    const segments: Segment[] = []
    for (let i = 0; i < bases.length; i++) {
      const { segment, tornTail } = FileSegment.recover(dir, bases[i]!, now, onBatch)
      segments.push(segment)
      if (tornTail === null) continue
      this.logger.warn(
        { topic, partition, segment: segment.baseOffset, keptBytes: tornTail.validBytes, droppedBytes: tornTail.droppedBytes, reason: tornTail.reason },
        'recovery truncated a torn or corrupt segment tail',
      )
      // Offsets must stay contiguous: whatever followed a cut is unreachable, as in Kafka's recovery.
      for (const later of bases.slice(i + 1)) {
        rmSync(join(dir, segmentFileName(later, '.log')), { force: true })
        rmSync(join(dir, segmentFileName(later, '.index')), { force: true })
      }
      break
    }
    const startPath = join(dir, LOG_START_FILE)
    const savedStart = existsSync(startPath) ? Number(readFileSync(startPath, 'utf8')) || 0 : 0
    return new PartitionLog(store, segments, config, savedStart, now)
  }
}
