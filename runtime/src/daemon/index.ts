// The scheduled backup daemon and its health: cron, lock, metrics, heartbeat, status.
export { parseCron, nextRun, scheduleIntervalSeconds, type CronSchedule } from "../config/cron.js";
export { acquireLock, readLock, isProcessAlive, DEFAULT_LOCK_MAX_AGE_MS, type Lock, type LockInfo, type LockOptions } from "./lock.js";
export { createDaemonMetrics, serveMetrics, METRICS, STAGES, type DaemonMetrics, type MetricsServer, type MetricName, type Stage, type RunFigures, type OplogFigures } from "./metrics.js";
export { sendHeartbeat, heartbeatHost, type HeartbeatResult } from "./heartbeat.js";
export { copyBackup, type CopyOutcome } from "./copy.js";
export { backupStage, verifyStage, pruneStage, cloudStage, metadataStage, type RunPlan, type BackupSource, type StageResult } from "./jobs.js";
export { runOnce, runDaemon, scheduledAt, lockPath, heartbeatBody, type DaemonOptions, type OplogFollowSettings, type RunOutcome } from "./daemon.js";
export { startOplogStage, resolveGaps, type OplogStage, type OplogStageOptions, type BaseRunResult } from "./oplog-stage.js";
export { assessStatus, describeTime, isUnresolved, readStatus, writeStatus, writeFileAtomic, statusPath, type DaemonStatus, type OplogFollowerStatus, type OplogGapRecord, type RunRecord, type StageOutcome, type Health } from "./status.js";
