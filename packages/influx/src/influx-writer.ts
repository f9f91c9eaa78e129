/** Writes line protocol (nanosecond timestamps: see lineTime) to one InfluxDB database or bucket. */
export interface InfluxWriter {
  /** Creates the database / retention policy / bucket when missing; returns a note worth logging. Throws InfluxWriteError. */
  ensureTarget(): Promise<string | undefined>;
  /** Resolves once InfluxDB acknowledged every line (2xx). Throws InfluxWriteError. */
  write(lines: string[]): Promise<void>;
  /** Whether InfluxDB answers at all (for readiness). */
  ping(): Promise<boolean>;
  /** `InfluxDB v1 http://influx:8086 db senseops` for logs. */
  readonly description: string;
}
