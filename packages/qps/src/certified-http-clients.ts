import type { CertificateStore } from './certificate-store.js';
import { createQlikHttpClient, type QlikHttpClient, type QlikHttpClientOptions } from './qlik-http.js';

export interface CertifiedHttpClients {
  /**
   * The client for `key` (a Qlik server) on the certificates in force: made again, and the old one
   * closed, when the certificate files changed. Rejects as the certificate store does.
   */
  get(key: string): Promise<QlikHttpClient>;
  /** Closes every kept-alive connection. */
  closeAll(): void;
}

/** The headers of every request to a Qlik API (QPS, repository): JSON, never a cached answer. */
export function qlikApiHeaders(userAgent = 'qlik-session-monitor'): Record<string, string> {
  return { Accept: 'application/json', 'Cache-Control': 'no-cache', 'User-Agent': userAgent };
}

/** Qlik HTTP clients that follow the certificate files: QPS keeps one per server, the repository one. */
export function createCertifiedHttpClients(
  certificates: CertificateStore,
  options: Omit<QlikHttpClientOptions, 'secureContext'>,
): CertifiedHttpClients {
  const clients = new Map<string, { http: QlikHttpClient; certificateVersion: number }>();
  return {
    async get(key) {
      const loaded = await certificates.current();
      const existing = clients.get(key);
      if (existing && existing.certificateVersion === loaded.version) return existing.http;
      existing?.http.close();
      const http = createQlikHttpClient({ ...options, secureContext: loaded.secureContext });
      clients.set(key, { http, certificateVersion: loaded.version });
      return http;
    },
    closeAll() {
      for (const { http } of clients.values()) http.close();
      clients.clear();
    },
  };
}
