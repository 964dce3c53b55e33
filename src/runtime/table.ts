/**
 * The tenant table's key schema, shared by the CloudFormation templates, the `dev` server (which
 * creates the table in dynalite) and the test kit.
 */

/** `pk` (S) hash key and `sk` (S) range key; extension items use `pk = <extension>#<pk>`. */
export const TENANT_TABLE_KEY_SCHEMA = {
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
  ],
} as const satisfies {
  KeySchema: Array<{ AttributeName: string; KeyType: 'HASH' | 'RANGE' }>;
  AttributeDefinitions: Array<{ AttributeName: string; AttributeType: 'S' | 'N' | 'B' }>;
};

/** The `pk` prefix of an extension's items. */
export function extensionKeyPrefix(extension: string): string {
  return `${extension}#`;
}
