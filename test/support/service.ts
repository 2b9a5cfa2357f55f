/** What a test service module reports after trying to start its service. */
export interface StartedService {
  /** Environment for the test workers (addresses, credentials, or a SKIP reason variable). */
  readonly env: Record<string, string>;
  /** One line printed at the start of the run: which server is used, or why it is absent. */
  readonly note?: string;
  /** Stops what this module started; absent when nothing was started. */
  readonly stop?: () => Promise<void>;
}
