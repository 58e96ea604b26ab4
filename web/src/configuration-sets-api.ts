/** The configuration sets page's calls of /console/api/configuration-sets. */
import { call } from './api.ts';

export const EVENT_TYPES = ['SEND', 'REJECT', 'BOUNCE', 'COMPLAINT', 'DELIVERY', 'OPEN', 'CLICK', 'RENDERING_FAILURE', 'DELIVERY_DELAY', 'SUBSCRIPTION'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface SetSummary {
  name: string;
  createdAt: string;
}

export interface SetOptions {
  sending: { sendingEnabled: boolean };
  reputation: { reputationMetricsEnabled: boolean; lastFreshStart?: string };
  /** null: the account's suppression settings apply. */
  suppression: { suppressedReasons: Array<'BOUNCE' | 'COMPLAINT'> } | null;
  tracking: { customRedirectDomain: string; httpsPolicy?: string } | null;
  delivery: { tlsPolicy: 'REQUIRE' | 'OPTIONAL'; maxDeliverySeconds?: number };
}

export interface Dimension {
  name: string;
  source: string;
  defaultValue: string;
}

export interface Destination {
  name: string;
  enabled: boolean;
  matchingEventTypes: EventType[];
  sns?: { topicArn: string };
  eventBridge?: { eventBusArn: string };
  cloudWatch?: { dimensions: Dimension[] };
  firehose?: { deliveryStreamArn: string; iamRoleArn: string };
}

export type SetView = SetSummary & { options: SetOptions; eventDestinations: Destination[] };

/** A destination to create or the members of one to change. */
export type DestinationInput = Partial<Omit<Destination, 'name'>> & { name?: string };

const path = (name: string) => `/configuration-sets/${encodeURIComponent(name)}`;

export const configurationSets = (nameContains = '', nextToken = '') =>
  call<{ items: SetSummary[]; nextToken?: string }>('GET', `/configuration-sets?${new URLSearchParams({ ...(nameContains ? { nameContains } : {}), ...(nextToken ? { nextToken } : {}) })}`);
export const createConfigurationSet = (name: string) => call<{ name: string }>('POST', '/configuration-sets', { name });
export const configurationSet = (name: string) => call<SetView>('GET', path(name));
export const deleteConfigurationSet = (name: string) => call<void>('DELETE', path(name));
export const putOptions = <K extends keyof SetOptions>(name: string, group: K, body: Record<string, unknown>) => call<void>('PUT', `${path(name)}/options/${group}`, body);
export const createDestination = (set: string, d: DestinationInput) => call<Destination>('POST', `${path(set)}/event-destinations`, d);
export const updateDestination = (set: string, dest: string, d: DestinationInput) => call<Destination>('PATCH', `${path(set)}/event-destinations/${encodeURIComponent(dest)}`, d);
export const deleteDestination = (set: string, dest: string) => call<void>('DELETE', `${path(set)}/event-destinations/${encodeURIComponent(dest)}`);
