/** The KMS client (audit checkpoint signing, crypto-shredding), created on first use and kept for the session. */
import { KMSClient } from '@aws-sdk/client-kms';
import { lazyClientFactory } from './clients.js';

export const kmsClientFor = lazyClientFactory((config) => new KMSClient(config));
