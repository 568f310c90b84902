// Types for suat-testing (see index.js for what each call does).
export interface StartOptions { bin?: string; seed?: string | null; args?: string[] }
export interface FaultRule {
  method?: string; path?: string; app_id?: string; token_kind?: string; times?: number; probability?: number;
  seed?: number; error?: { code: number; subcode?: number; is_transient?: boolean; status?: number; message?: string; type?: string };
  latency_ms?: number; drop?: boolean;
}
export declare class Suat {
  readonly url: string;
  readonly adminKey: string;
  readonly graphUrl: string;
  readonly logs: string;
  stop(): Promise<void>;
  admin(method: string, path: string, body?: unknown): Promise<any>;
  reset(to?: 'seed' | 'empty'): Promise<any>;
  now(): Promise<number>;
  advance(seconds: number): Promise<number>;
  setClock(unixSeconds: number): Promise<number>;
  addFault(rule: FaultRule): Promise<any>;
  faults(): Promise<any[]>;
  removeFault(id: string | number): Promise<any>;
  withFault<T>(rule: FaultRule, fn: (rule: any) => Promise<T> | T): Promise<T>;
  setAppRateLimit(appId: string, callsPerHour: number): Promise<any>;
  setUserRateLimit(appId: string, callsPerHour: number): Promise<any>;
  setBusinessRateLimit(businessId: string, callsPerHour: number): Promise<any>;
  usage(): Promise<any>;
  requests(filters?: Record<string, string | number>): Promise<any[]>;
  pointBusinessSdk(bizSdk: { FacebookAdsApi: unknown }): () => void;
  passportFacebookOptions(): { authorizationURL: string; tokenURL: string; profileURL: string };
}
export interface Hooks {
  before(fn: () => Promise<void>): unknown;
  after(fn: () => Promise<void>): unknown;
  beforeEach?(fn: () => Promise<void>): unknown;
}
export declare function startSuat(options?: StartOptions): Promise<Suat>;
export declare function useSuat(hooks: Hooks, options?: StartOptions): Suat & { server: Suat | null };
export declare function consent(dialogUrl: string, userId: string, password: string): Promise<string>;
export declare function findBinary(explicit?: string): string;
export declare const DEMO: Readonly<{
  businessId: string; appId: string; appSecret: string; adminUserId: string; adminPassword: string;
  adminToken: string; systemUserId: string; pageId: string;
}>;
export declare const DEFAULT_SEED: string;
